//! Service objectives (`[[objective]]`) with their actuals, error budget and coverage.
//!
//! The actual is the share of observed time, pooled over the objective's components and its
//! rolling window of UTC days, that was not a major outage; maintenance is left out, as in every
//! uptime figure. It is published only once the window's coverage (observed time, maintenance
//! included, over the time the window has run) reaches `min_coverage` — seed 002: "we publish
//! actuals only after we have the operational history to back them up". Until then readers see
//! "collecting history: 12 of 30 days", with the real coverage.

use chrono::{DateTime, NaiveDate, Timelike as _, Utc};
use serde::Serialize;

use crate::config::ObjectiveConfig;
use crate::history::History;
use crate::history::rollup::StateSeconds;
use crate::history::sketch::Sketch;
use crate::incident::Incident;

use super::declared::Declared;

/// One objective as every output sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceObjective {
    pub name: String,
    pub components: Vec<String>,
    /// The promise as a fraction (0.995).
    pub target: f64,
    /// Window length in days.
    pub window_days: u32,
    /// Observed share of the window so far (0–1), maintenance counted as observed.
    pub coverage: f64,
    /// Days of the window with any observation of these components.
    pub days_observed: u32,
    /// The coverage needed before `actual` is published.
    pub min_coverage: f64,
    /// Share of observed time not in a major outage; `None` until covered.
    pub actual: Option<f64>,
    /// Share of the error budget (1 − target of observed time) still unspent: 1 = untouched,
    /// 0 = spent, below 0 = overspent. `None` until covered, or when the target is 100 %.
    pub budget_left: Option<f64>,
    /// Whether the promise holds (availability and, when set, latency); `None` until covered.
    pub met: Option<bool>,
    pub latency: Option<LatencyObjective>,
}

/// The latency half of an objective.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyObjective {
    /// "p95".
    pub percentile: String,
    /// The bound, ms.
    pub below_ms: u64,
    /// The pooled percentile over the window, ms; `None` until covered or without samples.
    pub actual_ms: Option<f64>,
}

/// What one objective's window holds, pooled over its components.
#[derive(Default)]
struct Pooled {
    seconds: StateSeconds,
    latency: Sketch,
    days_observed: u32,
}

/// Every objective of the config, computed from history at `now`, with the declared
/// incidents and maintenance applied as on the page.
pub fn compute(
    objectives: &[ObjectiveConfig],
    history: &mut History,
    incidents: &[Incident],
    now: DateTime<Utc>,
) -> Vec<ServiceObjective> {
    objectives
        .iter()
        .map(|o| one(o, pool(o, history, incidents, now.date_naive()), now))
        .collect()
}

fn pool(
    o: &ObjectiveConfig,
    history: &mut History,
    incidents: &[Incident],
    today: NaiveDate,
) -> Pooled {
    let mut pooled = Pooled::default();
    let declared: Vec<Declared> = o
        .components
        .iter()
        .map(|id| Declared::new(id, incidents))
        .collect();
    for back in 0..o.window_days() {
        let Some(day) = today.checked_sub_days(chrono::Days::new(u64::from(back))) else {
            continue;
        };
        let mut seen = false;
        for (id, declared) in o.components.iter().zip(&declared) {
            if let Some(r) = history.day_rollup(id, day) {
                let seconds = declared.day_seconds(&r);
                seen |= seconds.observed() + seconds.under_maintenance > 0.0;
                pooled.seconds.merge(&seconds);
                pooled.latency.merge(&r.latency);
            }
        }
        pooled.days_observed += u32::from(seen);
    }
    pooled
}

fn one(o: &ObjectiveConfig, pooled: Pooled, now: DateTime<Utc>) -> ServiceObjective {
    // The window is the last `window_days` UTC days, today included as far as it has run.
    let today_so_far = f64::from(now.time().num_seconds_from_midnight());
    let span = (f64::from(o.window_days() - 1) * 86_400.0 + today_so_far)
        * o.components.len().max(1) as f64;
    let observed = pooled.seconds.observed();
    let coverage = if span > 0.0 {
        ((observed + pooled.seconds.under_maintenance) / span).min(1.0)
    } else {
        0.0
    };
    let covered = coverage >= o.min_coverage.fraction() && observed > 0.0;
    let actual = pooled.seconds.uptime().filter(|_| covered);
    let allowed = (1.0 - o.target.fraction()) * observed;
    let budget_left = actual
        .filter(|_| allowed > 0.0)
        .map(|_| 1.0 - pooled.seconds.major_outage / allowed);
    let latency = o.latency.map(|t| LatencyObjective {
        percentile: t.label(),
        below_ms: t.below.as_millis(),
        actual_ms: pooled
            .latency
            .quantile(t.quantile())
            .filter(|_| covered)
            .map(|ms| (ms * 10.0).round() / 10.0),
    });
    let latency_met = latency
        .as_ref()
        .map_or(Some(true), |l| l.actual_ms.map(|ms| ms < l.below_ms as f64));
    let met = actual.and_then(|a| latency_met.map(|l| l && a >= o.target.fraction()));
    ServiceObjective {
        name: o.name.clone(),
        components: o.components.clone(),
        target: o.target.fraction(),
        window_days: o.window_days(),
        coverage,
        days_observed: pooled.days_observed,
        min_coverage: o.min_coverage.fraction(),
        actual,
        budget_left,
        met,
        latency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Duration;
    use crate::config::objective::{LatencyTarget, Percent};

    fn objective(min_coverage: f64) -> ObjectiveConfig {
        ObjectiveConfig {
            name: "Availability".to_owned(),
            components: vec!["api".to_owned()],
            target: Percent::from_percent(99.0),
            window: Duration::from_secs(2 * 86_400),
            latency: Some(LatencyTarget::parse("p95 < 200ms").unwrap()),
            min_coverage: Percent::from_percent(min_coverage * 100.0),
            line: 1,
        }
    }

    fn pooled(operational: f64, outage: f64, days: u32) -> Pooled {
        let mut p = Pooled::default();
        p.seconds.operational = operational;
        p.seconds.major_outage = outage;
        p.latency.add(120.0);
        p.days_observed = days;
        p
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn below_the_minimum_coverage_nothing_is_published_but_coverage_is() {
        // Window so far: yesterday (86,400 s) + 12 h today = 129,600 s; 43,200 s observed.
        let o = one(
            &objective(0.9),
            pooled(43_000.0, 200.0, 1),
            at("2026-12-02T12:00:00Z"),
        );
        assert!((o.coverage - 43_200.0 / 129_600.0).abs() < 1e-9);
        assert_eq!((o.actual, o.budget_left, o.met), (None, None, None));
        assert_eq!(o.latency.unwrap().actual_ms, None);
        assert_eq!((o.days_observed, o.window_days), (1, 2));
    }

    #[test]
    fn once_covered_the_actual_and_the_budget_are_published() {
        // 129,600 s observed, 648 s down: actual 99.5 %; budget 1 % of observed = 1,296 s, half spent.
        let o = one(
            &objective(0.9),
            pooled(128_952.0, 648.0, 2),
            at("2026-12-02T12:00:00Z"),
        );
        assert!((o.coverage - 1.0).abs() < 1e-9);
        assert!((o.actual.unwrap() - 0.995).abs() < 1e-9);
        assert!((o.budget_left.unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(o.met, Some(true));
        let latency = o.latency.unwrap();
        assert!(latency.actual_ms.unwrap() < 200.0);
        // Twice the downtime spends the whole budget and breaks the promise.
        let o = one(
            &objective(0.9),
            pooled(128_304.0, 1_296.0, 2),
            at("2026-12-02T12:00:00Z"),
        );
        assert!(o.budget_left.unwrap().abs() < 1e-9);
        let o = one(
            &objective(0.9),
            pooled(127_600.0, 2_000.0, 2),
            at("2026-12-02T12:00:00Z"),
        );
        assert!(o.budget_left.unwrap() < 0.0, "overspent");
        assert_eq!(o.met, Some(false));
    }
}
