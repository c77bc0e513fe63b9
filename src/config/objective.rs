//! `[[objective]]`: a service objective the page publishes with its actual. Seed 002 promises
//! availability above 99.5 % over a rolling 30 days for the API, the WebSocket and message
//! delivery, and "we publish actuals only after we have the operational history to back them up".
//!
//! ```toml
//! [[objective]]
//! name = "Availability"
//! components = ["api", "ws-edge"]
//! target = "99.5%"
//! window = "30d"
//! latency = "p95 < 200ms"      # optional
//! min_coverage = "90%"         # optional: the actual is published once this much was observed
//! ```

use serde::{Deserialize, Deserializer, Serialize};

use super::Duration;

/// One `[[objective]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveConfig {
    /// What readers see ("Availability", "Message delivery").
    pub name: String,
    /// Component ids the objective covers; their observed time is pooled.
    pub components: Vec<String>,
    /// The promise: the share of observed time not in a major outage.
    pub target: Percent,
    /// The rolling window, in whole days (daily rollups are what history keeps for good).
    #[serde(default = "default_window")]
    pub window: Duration,
    /// An optional latency promise over the same window, e.g. `"p95 < 200ms"`.
    #[serde(default)]
    pub latency: Option<LatencyTarget>,
    /// How much of the window must have been observed before the actual is published.
    #[serde(default = "default_min_coverage")]
    pub min_coverage: Percent,
    /// Line of the `[[objective]]` header, for errors found after parsing.
    #[serde(skip)]
    pub line: usize,
}

fn default_window() -> Duration {
    Duration::from_secs(30 * 86_400)
}

/// 90 %: a 30-day window shows its actual after 27 observed days. Less would publish a figure
/// that one bad week could still move by more than the promise itself.
fn default_min_coverage() -> Percent {
    Percent(0.9)
}

impl ObjectiveConfig {
    /// The window in whole days (at least one).
    pub fn window_days(&self) -> u32 {
        u32::try_from(self.window.std().as_secs().div_ceil(86_400))
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// A percentage written as `"99.5%"`, kept as a fraction (0.995).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Percent(pub f64);

impl Percent {
    /// Parses `"99.5%"` (0–100, the `%` required so a bare `0.995` cannot be misread).
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "invalid percentage `{text}`\n= help: write a number from 0 to 100 followed by %, e.g. \"99.5%\""
            )
        };
        let number = text.trim().strip_suffix('%').ok_or_else(invalid)?;
        let value: f64 = number.trim().parse().map_err(|_| invalid())?;
        if !(0.0..=100.0).contains(&value) {
            return Err(invalid());
        }
        Ok(Percent(value / 100.0))
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Percent::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `"p95 < 200ms"`: a quantile of the pooled latency that must stay under a bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyTarget {
    /// 50, 95, 99 … as written.
    pub percentile: f64,
    pub below: Duration,
}

impl LatencyTarget {
    /// Parses `"p<NN> < <duration>"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "invalid latency objective `{text}`\n= help: write a percentile and a bound, e.g. \"p95 < 200ms\""
            )
        };
        let (left, right) = text.split_once('<').ok_or_else(invalid)?;
        let digits = left.trim().strip_prefix('p').ok_or_else(invalid)?;
        let percentile: f64 = digits.parse().map_err(|_| invalid())?;
        if !(0.0 < percentile && percentile < 100.0) {
            return Err(invalid());
        }
        let below = Duration::parse(right.trim()).map_err(|_| invalid())?;
        Ok(LatencyTarget { percentile, below })
    }

    /// The quantile as a fraction (0.95).
    pub fn quantile(&self) -> f64 {
        self.percentile / 100.0
    }

    /// `p95`, as written.
    pub fn label(&self) -> String {
        format!("p{}", self.percentile)
    }
}

impl<'de> Deserialize<'de> for LatencyTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        LatencyTarget::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_need_the_sign_and_a_range() {
        assert_eq!(Percent::parse("99.5%").unwrap(), Percent(0.995));
        assert_eq!(Percent::parse(" 100 % ").unwrap(), Percent(1.0));
        for bad in ["0.995", "101%", "-1%", "abc%", ""] {
            assert!(Percent::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn latency_targets_read_percentile_and_bound() {
        let t = LatencyTarget::parse("p95 < 200ms").unwrap();
        assert!((t.quantile() - 0.95).abs() < 1e-9);
        assert_eq!(t.below.as_millis(), 200);
        assert_eq!(t.label(), "p95");
        for bad in ["95 < 200ms", "p95 200ms", "p100 < 1s", "p95 < soon"] {
            assert!(LatencyTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
