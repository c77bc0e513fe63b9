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
//! burn_alerts = true           # optional: the SRE workbook's multi-window burn-rate alerts
//! page = ["oncall-pd"]         # optional: where they go (default: every paging-kind target)
//! ticket = ["team-chat"]       # optional: where `severity = "ticket"` ones go (default: `page`)
//! ```

use serde::{Deserialize, Deserializer};

use super::Duration;
pub use super::percent::Percent;

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
    /// Multi-window burn-rate alerts on this objective's error budget: `true` for the SRE
    /// workbook's three ([`BurnRule::workbook`]), or a list of `{ budget, long, short, severity }`.
    #[serde(default)]
    pub burn_alerts: BurnAlerts,
    /// Names of `[[notify]]` targets its burn alerts page; empty: every paging-kind target no
    /// component or objective names (the same default as components).
    #[serde(default)]
    pub page: Vec<String>,
    /// Names of targets `severity = "ticket"` alerts go to instead of `page` (a team chat for
    /// slow burns that need attention this week, not a wake-up).
    #[serde(default)]
    pub ticket: Vec<String>,
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
    Percent::from_percent(90.0)
}

impl ObjectiveConfig {
    /// The window in whole days (at least one).
    pub fn window_days(&self) -> u32 {
        u32::try_from(self.window.std().as_secs().div_ceil(86_400))
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// How urgent a burn alert is: a page wakes someone (`critical`), a ticket is for working hours
/// (`warning`, and it goes to `ticket` targets when the objective names some).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BurnSeverity {
    #[default]
    Page,
    Ticket,
}

/// One multi-window burn-rate alert: it fires when `budget` of the window's error budget would be
/// spent within `long` at the current rate, measured over `long` AND over `short`. The long window
/// proves the burn is significant; the short one makes it stop as soon as the burn stops (Google
/// SRE workbook, "Alerting on SLOs", approach 6).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnRule {
    /// The share of the whole window's budget that burning for `long` would spend.
    pub budget: Percent,
    pub long: Duration,
    pub short: Duration,
    #[serde(default)]
    pub severity: BurnSeverity,
}

impl BurnRule {
    /// The workbook's recommendation for a 30-day window: 2 % of the budget in 1 h (checked
    /// over 5 min too) and 5 % in 6 h (and 30 min) page; 10 % in 3 d (and 6 h) is a ticket.
    pub fn workbook() -> Vec<BurnRule> {
        let rule = |budget, long, short, severity| BurnRule {
            budget: Percent::from_percent(budget),
            long: Duration::from_secs(long),
            short: Duration::from_secs(short),
            severity,
        };
        vec![
            rule(2.0, 3_600, 300, BurnSeverity::Page),
            rule(5.0, 6 * 3_600, 1_800, BurnSeverity::Page),
            rule(10.0, 3 * 86_400, 6 * 3_600, BurnSeverity::Ticket),
        ]
    }

    /// The burn rate (multiples of the rate that spends the budget exactly over `window`) at
    /// which this rule fires: 2 % of a 30-day budget in 1 h is 14.4.
    pub fn threshold(&self, window: Duration) -> f64 {
        let long = self.long.std().as_secs_f64();
        if long <= 0.0 {
            return f64::INFINITY;
        }
        self.budget.fraction() * window.std().as_secs_f64() / long
    }

    /// `1h/5m`: names the rule in alerts and keys.
    pub fn label(&self) -> String {
        format!("{}/{}", self.long, self.short)
    }
}

/// `burn_alerts`: `false` (default), `true` (the workbook's rules) or a list of rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BurnAlerts(pub Vec<BurnRule>);

impl<'de> Deserialize<'de> for BurnAlerts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = BurnAlerts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "true, false, or a list like [{ budget = \"2%\", long = \"1h\", short = \"5m\" }]",
                )
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<BurnAlerts, E> {
                Ok(BurnAlerts(if v {
                    BurnRule::workbook()
                } else {
                    Vec::new()
                }))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<BurnAlerts, A::Error> {
                Vec::<BurnRule>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(BurnAlerts)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl ObjectiveConfig {
    /// What is wrong with its burn alerts, as (message, help) pairs: windows that cannot be
    /// measured, a target that leaves no budget, target names that do not exist. `names` are the
    /// `[[notify]]` names; `default_targets` whether some target takes alerts no one routes.
    pub fn burn_problems(&self, names: &[&str], default_targets: bool) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let name = &self.name;
        for r in &self.burn_alerts.0 {
            if r.short >= r.long || r.short == Duration::default() {
                out.push((
                    format!("objective `{name}`: burn alert {} needs a short window shorter than its long one", r.label()),
                    "the short window makes the alert stop once the burn stops: e.g. long = \"1h\", short = \"5m\"".to_owned(),
                ));
            }
            if r.long > self.window || r.long > MAX_BURN_WINDOW {
                out.push((
                    format!("objective `{name}`: burn alert {} looks back further than {}", r.label(), self.window.min(MAX_BURN_WINDOW)),
                    "burn windows are read from the exact 7-day timeline history keeps, and cannot exceed the objective's window".to_owned(),
                ));
            }
            if r.budget.fraction() <= 0.0 {
                out.push((
                    format!(
                        "objective `{name}`: burn alert {} has a zero budget share",
                        r.label()
                    ),
                    "write the share of the budget this burn would spend, e.g. budget = \"2%\""
                        .to_owned(),
                ));
            }
        }
        if self.burn_alerts.0.is_empty() {
            if !self.page.is_empty() || !self.ticket.is_empty() {
                out.push((
                    format!("objective `{name}` names targets but has no burn alerts"),
                    "add `burn_alerts = true` (or a list of rules), or remove `page`/`ticket`"
                        .to_owned(),
                ));
            }
            return out;
        }
        if self.target.fraction() >= 1.0 {
            out.push((
                format!("objective `{name}`: a 100% target has no error budget to burn"),
                "burn-rate alerts need a target below 100%, e.g. target = \"99.9%\"".to_owned(),
            ));
        }
        for target in self.page.iter().chain(&self.ticket) {
            if !names.contains(&target.as_str()) {
                let help = match super::closest(target, names.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => {
                        "give the target a name: add `name = \"oncall\"` to its [[notify]] section"
                            .to_owned()
                    }
                };
                out.push((
                    format!("objective `{name}` pages `{target}`, but no [[notify]] has that name"),
                    help,
                ));
            }
        }
        let pages_somewhere = !self.page.is_empty() || default_targets;
        let tickets_somewhere = !self.ticket.is_empty() || pages_somewhere;
        let needs_page = self
            .burn_alerts
            .0
            .iter()
            .any(|r| r.severity == BurnSeverity::Page);
        if (needs_page && !pages_somewhere) || !tickets_somewhere {
            out.push((
                format!("objective `{name}` has burn alerts but no target gets them"),
                "name targets with page = [\"oncall\"], or add a [[notify]] of kind pagerduty, opsgenie or alertmanager".to_owned(),
            ));
        }
        out
    }
}

/// The longest burn window: history keeps an exact state timeline for at least 7 days.
const MAX_BURN_WINDOW: Duration = Duration::from_secs(7 * 86_400);

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
    fn burn_alerts_read_true_false_or_rules_with_workbook_thresholds() {
        let parse = |text: &str| -> Result<ObjectiveConfig, String> {
            toml::from_str(&format!(
                "name = \"A\"\ncomponents = [\"api\"]\ntarget = \"99.9%\"\n{text}"
            ))
            .map_err(|e| e.to_string())
        };
        assert!(parse("").unwrap().burn_alerts.0.is_empty());
        assert!(
            parse("burn_alerts = false")
                .unwrap()
                .burn_alerts
                .0
                .is_empty()
        );
        let rules = parse("burn_alerts = true").unwrap().burn_alerts.0;
        let thresholds: Vec<f64> = rules
            .iter()
            .map(|r| r.threshold(Duration::from_secs(30 * 86_400)))
            .collect();
        // The workbook's table: 14.4, 6 and 1 for a 30-day window.
        for (got, want) in thresholds.iter().zip([14.4, 6.0, 1.0]) {
            assert!((got - want).abs() < 1e-9, "{thresholds:?}");
        }
        assert_eq!(rules[0].label(), "1h/5m");
        assert_eq!(rules[2].severity, BurnSeverity::Ticket);
        let custom = parse(
            "burn_alerts = [{ budget = \"1%\", long = \"30m\", short = \"2m\", severity = \"ticket\" }]",
        )
        .unwrap()
        .burn_alerts
        .0;
        assert_eq!(custom.len(), 1);
        assert_eq!(custom[0].short.as_millis(), 120_000);
        let err = parse("burn_alerts = [{ budget = \"1%\", long = \"30m\", shrt = \"2m\" }]")
            .unwrap_err();
        assert!(err.contains("unknown field `shrt`"), "{err}");
        assert!(
            parse("burn_alerts = \"yes\"")
                .unwrap_err()
                .contains("true, false, or a list")
        );
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
