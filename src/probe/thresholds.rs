//! `degraded_above`, `down_above`, `degraded_below`, `down_below`: one rule for every kind that
//! measures a number.
//!
//! Each kind reports its main value (latency by default; queue depth for `amqp`, a consumer's
//! pending count for `nats`, loss % for `icmp`, a query's first column with
//! `value = "first_column"`), and this one rule turns it into health, so "replication lag over
//! 30 s is degraded" reads the same as "queue depth over 1000 is down". It runs in the runner,
//! after the check: a probe only measures. A failed check stays failed; a threshold can only
//! make an outcome worse, never better.

use serde::Deserialize;

use super::{Health, Outcome};

/// The four optional limits on a component's main value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Above it, the component is degraded.
    pub degraded_above: Option<f64>,
    /// Above it, the component is down.
    pub down_above: Option<f64>,
    /// Below it, the component is degraded (a throughput, a consumer count).
    pub degraded_below: Option<f64>,
    /// Below it, the component is down.
    pub down_below: Option<f64>,
}

/// The config keys, for the list of keys every component accepts.
pub const KEYS: [&str; 4] = [
    "degraded_above",
    "down_above",
    "degraded_below",
    "down_below",
];

impl Thresholds {
    /// No limit set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Limits that cannot all hold are a config error: a degraded limit past its down limit
    /// would never be seen, and a value above and below at once cannot exist.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("degraded_above", self.degraded_above),
            ("down_above", self.down_above),
            ("degraded_below", self.degraded_below),
            ("down_below", self.down_below),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(format!("`{name}` must be a finite number"));
            }
        }
        if let (Some(degraded), Some(down)) = (self.degraded_above, self.down_above)
            && degraded > down
        {
            return Err(format!(
                "`degraded_above` ({degraded}) is above `down_above` ({down}): the degraded state could never show\n= help: set degraded_above <= down_above"
            ));
        }
        if let (Some(degraded), Some(down)) = (self.degraded_below, self.down_below)
            && degraded < down
        {
            return Err(format!(
                "`degraded_below` ({degraded}) is below `down_below` ({down}): the degraded state could never show\n= help: set degraded_below >= down_below"
            ));
        }
        let lowest_above = self.degraded_above.or(self.down_above);
        let highest_below = self.degraded_below.or(self.down_below);
        if let (Some(above), Some(below)) = (lowest_above, highest_below)
            && above < below
        {
            return Err(format!(
                "the `_above` limit ({above}) is under the `_below` limit ({below}): every value would fail\n= help: an `_above` limit must be higher than a `_below` limit"
            ));
        }
        Ok(())
    }

    /// `outcome` judged against the limits; `what` names the value ("queue depth").
    pub fn apply(&self, outcome: Outcome, what: &str) -> Outcome {
        if self.is_empty() || outcome.health == Health::Down {
            return outcome;
        }
        let Some(value) = outcome.measured() else {
            return outcome;
        };
        let breach = [
            (self.down_above, Health::Down, "above", true),
            (self.down_below, Health::Down, "below", false),
            (self.degraded_above, Health::Degraded, "above", true),
            (self.degraded_below, Health::Degraded, "below", false),
        ]
        .into_iter()
        .find_map(|(limit, health, word, above)| {
            let limit = limit?;
            let crossed = if above { value > limit } else { value < limit };
            crossed.then_some((limit, health, word))
        });
        match breach {
            Some((limit, health, word)) if health > outcome.health => {
                let mut judged = outcome;
                judged.health = health;
                judged.detail = format!(
                    "{}; {what} {} is {word} the {} limit {}",
                    judged.detail.trim_end_matches('.'),
                    number(value),
                    if health == Health::Down {
                        "down"
                    } else {
                        "degraded"
                    },
                    number(limit)
                );
                judged
            }
            _ => outcome,
        }
    }

    /// "degraded > 30, down > 120" for the objectives table; `None` when no limit is set.
    pub fn describe(&self, what: &str) -> Option<String> {
        let parts: Vec<String> = [
            (self.degraded_above, "degraded", ">"),
            (self.down_above, "down", ">"),
            (self.degraded_below, "degraded", "<"),
            (self.down_below, "down", "<"),
        ]
        .into_iter()
        .filter_map(|(limit, state, sign)| limit.map(|l| format!("{state} {sign} {}", number(l))))
        .collect();
        (!parts.is_empty()).then(|| format!("{what}: {}", parts.join(", ")))
    }
}

/// A value as people write it: `12`, not `12.0`; `0.25` stays.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(da: Option<f64>, dna: Option<f64>, db: Option<f64>, dnb: Option<f64>) -> Thresholds {
        Thresholds {
            degraded_above: da,
            down_above: dna,
            degraded_below: db,
            down_below: dnb,
        }
    }

    #[test]
    fn each_limit_moves_the_health_and_says_why() {
        let t = limits(Some(10.0), Some(100.0), Some(2.0), Some(1.0));
        let cases = [
            (5.0, Health::Up, "ok"),
            (10.0, Health::Up, "ok"),
            (
                11.0,
                Health::Degraded,
                "ok; depth 11 is above the degraded limit 10",
            ),
            (
                250.5,
                Health::Down,
                "ok; depth 250.5 is above the down limit 100",
            ),
            (
                1.5,
                Health::Degraded,
                "ok; depth 1.5 is below the degraded limit 2",
            ),
            (0.0, Health::Down, "ok; depth 0 is below the down limit 1"),
        ];
        for (value, health, detail) in cases {
            let o = t.apply(Outcome::up(Some(3), "ok").with_value(value), "depth");
            assert_eq!((o.health, o.detail.as_str()), (health, detail), "{value}");
        }
    }

    #[test]
    fn latency_is_the_value_when_the_kind_reports_none() {
        let t = limits(Some(200.0), None, None, None);
        let o = t.apply(Outcome::up(Some(350), "PING in 350 ms"), "latency (ms)");
        assert_eq!(o.health, Health::Degraded);
        assert_eq!(
            o.detail,
            "PING in 350 ms; latency (ms) 350 is above the degraded limit 200"
        );
    }

    #[test]
    fn a_failed_check_and_a_worse_probe_verdict_stay() {
        let t = limits(Some(1.0), None, None, None);
        let down = Outcome::down("Cannot connect.").with_value(50.0);
        assert_eq!(t.apply(down.clone(), "x"), down);
        let degraded = Outcome::degraded("expiring").with_value(50.0);
        assert_eq!(t.apply(degraded.clone(), "x"), degraded);
    }

    #[test]
    fn contradictory_limits_are_rejected() {
        assert!(
            limits(Some(100.0), Some(10.0), None, None)
                .validate()
                .is_err()
        );
        assert!(limits(None, None, Some(1.0), Some(5.0)).validate().is_err());
        assert!(limits(Some(1.0), None, Some(5.0), None).validate().is_err());
        assert!(limits(Some(f64::NAN), None, None, None).validate().is_err());
        assert!(
            limits(Some(10.0), Some(100.0), Some(2.0), Some(1.0))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn objectives_text_lists_the_limits() {
        assert_eq!(limits(None, None, None, None).describe("lag (s)"), None);
        assert_eq!(
            limits(Some(30.0), Some(120.0), None, None)
                .describe("lag (s)")
                .as_deref(),
            Some("lag (s): degraded > 30, down > 120")
        );
    }
}
