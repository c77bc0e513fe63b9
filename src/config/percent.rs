//! Shares written as percentages in config files: `"50%"`, `"99.9%"`.
//!
//! A string with a `%` rather than a bare number: `0.5` and `50` both look plausible for "half",
//! and a minimum coverage misread by a factor of 100 either hides every figure or none.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A share between 0 and 1, written `"0%"` to `"100%"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Percent(f64);

impl Percent {
    /// `percent` per cent (clamped to 0–100).
    pub const fn from_percent(percent: f64) -> Self {
        Self(percent.clamp(0.0, 100.0) / 100.0)
    }

    /// The share, 0 to 1.
    pub const fn fraction(self) -> f64 {
        self.0
    }

    /// Parses `"<number>%"` with the number between 0 and 100.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "invalid percentage `{text}`: write a number from 0 to 100 and a `%`, e.g. \"50%\""
            )
        };
        let number = text.trim().strip_suffix('%').ok_or_else(invalid)?;
        let value: f64 = number.trim().parse().map_err(|_| invalid())?;
        if !(0.0..=100.0).contains(&value) {
            return Err(invalid());
        }
        Ok(Self(value / 100.0))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a percentage string such as \"50%\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Percent, E> {
                Percent::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percentages_and_refuses_bare_numbers() {
        assert_eq!(Percent::parse("50%").map(Percent::fraction), Ok(0.5));
        assert_eq!(Percent::parse("99.5 %").map(Percent::fraction), Ok(0.995));
        assert_eq!(Percent::parse("0%").map(Percent::fraction), Ok(0.0));
        for text in ["0.5", "50", "150%", "-1%", "half%", ""] {
            let err = Percent::parse(text).unwrap_err();
            assert!(err.contains("e.g. \"50%\""), "{text}: {err}");
        }
    }
}
