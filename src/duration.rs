//! Human durations in config files: `"250ms"`, `"30s"`, `"5m"`, `"2h"`, `"7d"`.
//!
//! Strings rather than integers because a bare `5` in a status-page config is ambiguous
//! (seconds? milliseconds?), and an ambiguous timeout is how probes end up waiting forever.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration written with a unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Self(std::time::Duration::from_millis(ms))
    }

    /// The standard-library duration.
    pub const fn std(self) -> std::time::Duration {
        self.0
    }

    /// Whole milliseconds.
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// The same span as a `chrono` duration, for clock arithmetic.
    pub fn chrono(self) -> chrono::Duration {
        chrono::Duration::milliseconds(i64::try_from(self.as_millis()).unwrap_or(i64::MAX))
    }

    /// Parses `"<number><unit>"` with unit one of `ms`, `s`, `m`, `h`, `d`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let invalid = || {
            format!(
                "invalid duration `{text}`: write a whole number and a unit (ms, s, m, h, d), e.g. \"30s\" or \"5m\""
            )
        };
        let value: u64 = number.parse().map_err(|_| invalid())?;
        let unit = unit.trim();
        let factor = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, factor)| *factor)
            .ok_or_else(invalid)?;
        let millis = value.checked_mul(factor).ok_or_else(invalid)?;
        Ok(Self::from_millis(millis))
    }
}

impl fmt::Display for Duration {
    /// Prints the largest unit that divides the duration exactly: `90s`, `5m`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (name, factor) in UNITS {
            if ms.is_multiple_of(factor) {
                return write!(f, "{}{name}", ms / factor);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"30s\" or \"5m\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        for (text, ms) in [
            ("250ms", 250),
            ("30s", 30_000),
            ("5m", 300_000),
            ("2h", 7_200_000),
            ("7d", 604_800_000),
        ] {
            assert_eq!(
                Duration::parse(text).map(Duration::as_millis),
                Ok(ms),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_ambiguous_or_malformed_text() {
        for text in ["5", "5 mins", "s", "-5s", "1.5s", ""] {
            let err = Duration::parse(text).unwrap_err();
            assert!(err.contains("e.g. \"30s\""), "{text}: {err}");
        }
    }

    #[test]
    fn displays_the_largest_exact_unit() {
        assert_eq!(Duration::from_secs(90).to_string(), "90s");
        assert_eq!(Duration::from_secs(300).to_string(), "5m");
        assert_eq!(Duration::from_millis(250).to_string(), "250ms");
        assert_eq!(Duration::from_secs(7 * 86_400).to_string(), "7d");
    }
}
