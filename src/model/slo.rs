//! Service objectives (`[[objective]]`) with their actuals, error budget and coverage.
//!
//! The actual is the share of observed time, pooled over the objective's components and its
//! rolling window of UTC days, that was not a major outage; maintenance is left out, as in every
//! uptime figure. It is published only once the window's coverage (observed time, maintenance
//! included, over the time the window has run) reaches `min_coverage` — seed 002: "we publish
//! actuals only after we have the operational history to back them up". Until then readers see
//! "collecting history: 12 of 30 days", with the real coverage.
//!
//! Burn rates ([`BurnRate`]) are measured on the exact state timeline history keeps for the last
//! 7 days, over the same pooled, maintenance-free observed time as the actual. They are not held
//! back by coverage: an alert needs only its own windows observed (a window with no observed
//! time has no rate and never fires).

use chrono::{DateTime, NaiveDate, Timelike as _, Utc};
use serde::Serialize;

use crate::config::ObjectiveConfig;
use crate::config::objective::{BurnRule, BurnSeverity};
use crate::history::History;
use crate::history::rollup::{Segment, StateSeconds, timeline_seconds};
use crate::history::sketch::Sketch;

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
    /// Each `burn_alerts` rule measured now.
    pub burn: Vec<BurnRate>,
}

/// One burn-rate alert rule with the rates measured over its two windows. A rate is the share
/// of observed time in a major outage divided by the share the target allows: 1 spends the
/// budget exactly over the objective's window.
#[derive(Debug, Clone, Serialize)]
pub struct BurnRate {
    /// `1h/5m`.
    pub rule: String,
    pub severity: BurnSeverity,
    /// The share of the window's budget the rule is about (0.02).
    pub budget: f64,
    /// The rate both windows must reach (14.4).
    pub threshold: f64,
    /// `None` when the window holds no observed time.
    pub long_rate: Option<f64>,
    pub short_rate: Option<f64>,
    /// Both windows at or over the threshold.
    pub firing: bool,
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

/// Every objective of the config, computed from history at `now`.
pub fn compute(
    objectives: &[ObjectiveConfig],
    history: &mut History,
    now: DateTime<Utc>,
) -> Vec<ServiceObjective> {
    objectives
        .iter()
        .map(|o| {
            let timelines: Vec<Vec<Segment>> = o
                .components
                .iter()
                .map(|id| history.memory(id).timeline)
                .collect();
            let mut objective = one(o, pool(o, history, now.date_naive()), now);
            objective.burn = o
                .burn_alerts
                .0
                .iter()
                .map(|rule| burn_rate(o, rule, &timelines, now))
                .collect();
            objective
        })
        .collect()
}

/// Measures one rule over the pooled timelines of the objective's components at `now`.
fn burn_rate(
    o: &ObjectiveConfig,
    rule: &BurnRule,
    timelines: &[Vec<Segment>],
    now: DateTime<Utc>,
) -> BurnRate {
    let allowed = 1.0 - o.target.fraction();
    let rate = |window: crate::config::Duration| {
        let mut seconds = StateSeconds::default();
        for timeline in timelines {
            seconds.merge(&timeline_seconds(timeline, now - window.chrono(), now));
        }
        let observed = seconds.observed();
        (observed > 0.0 && allowed > 0.0).then(|| seconds.major_outage / observed / allowed)
    };
    let threshold = rule.threshold(o.window);
    let (long_rate, short_rate) = (rate(rule.long), rate(rule.short));
    // A hair under the threshold still counts: 2 % of 30 days in exactly 1 h must fire.
    let over = |r: Option<f64>| r.is_some_and(|r| r >= threshold * (1.0 - 1e-9));
    BurnRate {
        rule: rule.label(),
        severity: rule.severity,
        budget: rule.budget.fraction(),
        threshold,
        long_rate,
        short_rate,
        firing: over(long_rate) && over(short_rate),
    }
}

fn pool(o: &ObjectiveConfig, history: &mut History, today: NaiveDate) -> Pooled {
    let mut pooled = Pooled::default();
    for back in 0..o.window_days() {
        let Some(day) = today.checked_sub_days(chrono::Days::new(u64::from(back))) else {
            continue;
        };
        let mut seen = false;
        for id in &o.components {
            if let Some(r) = history.day_rollup(id, day) {
                seen |= r.seconds.observed() + r.seconds.under_maintenance > 0.0;
                pooled.seconds.merge(&r.seconds);
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
        burn: Vec::new(),
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
            burn_alerts: crate::config::objective::BurnAlerts(BurnRule::workbook()),
            page: Vec::new(),
            ticket: Vec::new(),
            line: 1,
        }
    }

    /// A timeline: up until `down_from` minutes before `now`, then down until `down_to`
    /// minutes before it, then up again.
    fn timeline(now: DateTime<Utc>, down_from: i64, down_to: i64) -> Vec<Segment> {
        use crate::history::rollup::extend_timeline;
        use crate::state::ComponentState::{MajorOutage, Operational};
        let m = chrono::Duration::minutes;
        let mut t = Vec::new();
        extend_timeline(
            &mut t,
            now - m(4 * 24 * 60),
            now - m(down_from),
            Operational,
        );
        extend_timeline(&mut t, now - m(down_from), now - m(down_to), MajorOutage);
        extend_timeline(&mut t, now - m(down_to), now, Operational);
        t
    }

    #[test]
    fn burn_rates_fire_only_while_both_windows_burn() {
        // 30-day objective at 99.9 %: the budget is 0.1 % of observed time.
        let mut o = objective(0.9);
        o.target = Percent::from_percent(99.9);
        o.window = Duration::from_secs(30 * 86_400);
        let now = at("2026-12-02T12:00:00Z");
        let fast = &BurnRule::workbook()[0];
        // Down for the last 90 minutes: both the hour and the 5 minutes are all outage.
        let r = burn_rate(&o, fast, &[timeline(now, 90, 0)], now);
        assert!((r.threshold - 14.4).abs() < 1e-9);
        assert!((r.long_rate.unwrap() - 1000.0).abs() < 1e-6, "{r:?}");
        assert!(r.firing);
        // Recovered 10 minutes ago: the hour still burns, the short window does not: stops.
        let r = burn_rate(&o, fast, &[timeline(now, 90, 10)], now);
        assert!(
            r.long_rate.unwrap() > 14.4 && r.short_rate == Some(0.0),
            "{r:?}"
        );
        assert!(!r.firing);
        // Three minutes of outage in the last hour: the 5 minutes burn, the hour barely does
        // (3/60 of time = 50x the 0.1 % rate) — fires; 30 s of outage (8.3x) does not.
        let r = burn_rate(&o, fast, &[timeline(now, 3, 0)], now);
        assert!(r.firing, "{r:?}");
        let brief = {
            let mut t = timeline(now, 1, 0);
            // Keep 30 s of outage at the end: trim the outage to the last half minute.
            t[1].from = now - chrono::Duration::seconds(30);
            t[0].to = t[1].from;
            t
        };
        let r = burn_rate(&o, fast, &[brief], now);
        assert!(!r.firing && r.short_rate.unwrap() > 14.4, "{r:?}");
        // Pooled: one of two components down halves the rate but still burns.
        let r = burn_rate(&o, fast, &[timeline(now, 90, 0), timeline(now, 0, 0)], now);
        assert!((r.long_rate.unwrap() - 500.0).abs() < 1e-6, "{r:?}");
        // No observed time in the windows: no rate, no alert.
        let r = burn_rate(&o, fast, &[Vec::new()], now);
        assert_eq!((r.long_rate, r.firing), (None, false));
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
