//! Time-weighted accounting: how long each component spent in each state, per UTC day, and the
//! exact recent timeline used for the 24-hour and 7-day figures.
//!
//! An observation stands for the time nearest to it: between two runs, the first half counts in
//! the earlier state and the second half in the later one, each side capped at `max_gap / 2`;
//! time past the caps is "no data", never "up". Uptime is `1 − outage / observed`, with maintenance left out
//! of both (shown apart), so a page cannot look healthy just because nobody was watching.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::sketch::Sketch;
use crate::state::ComponentState;

/// Seconds spent in each state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateSeconds {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub operational: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub under_maintenance: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub degraded_performance: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub partial_outage: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub major_outage: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl StateSeconds {
    /// Adds `seconds` to `state`.
    pub fn add(&mut self, state: ComponentState, seconds: f64) {
        *self.slot(state) += seconds;
    }

    fn slot(&mut self, state: ComponentState) -> &mut f64 {
        match state {
            ComponentState::Operational => &mut self.operational,
            ComponentState::UnderMaintenance => &mut self.under_maintenance,
            ComponentState::DegradedPerformance => &mut self.degraded_performance,
            ComponentState::PartialOutage => &mut self.partial_outage,
            ComponentState::MajorOutage => &mut self.major_outage,
        }
    }

    /// Adds every field of `other`.
    pub fn merge(&mut self, other: &StateSeconds) {
        self.operational += other.operational;
        self.under_maintenance += other.under_maintenance;
        self.degraded_performance += other.degraded_performance;
        self.partial_outage += other.partial_outage;
        self.major_outage += other.major_outage;
    }

    /// What is left of `self` after `other`, per state (never below zero): the part of a
    /// rollup's seconds its segments do not account for.
    pub fn minus(&self, other: &StateSeconds) -> StateSeconds {
        // Below a millisecond is rounding between two sums of the same pieces.
        let left = |a: f64, b: f64| if a - b > 1e-3 { a - b } else { 0.0 };
        StateSeconds {
            operational: left(self.operational, other.operational),
            under_maintenance: left(self.under_maintenance, other.under_maintenance),
            degraded_performance: left(self.degraded_performance, other.degraded_performance),
            partial_outage: left(self.partial_outage, other.partial_outage),
            major_outage: left(self.major_outage, other.major_outage),
        }
    }

    /// Observed time outside maintenance.
    pub fn observed(&self) -> f64 {
        self.operational + self.degraded_performance + self.partial_outage + self.major_outage
    }

    /// Share of observed time not in a major outage; `None` with no observed time.
    pub fn uptime(&self) -> Option<f64> {
        let observed = self.observed();
        (observed > 0.0).then(|| 1.0 - self.major_outage / observed)
    }

    /// The worst state with any time, for a day's bar.
    pub fn worst(&self) -> Option<ComponentState> {
        let mut copy = self.clone();
        ComponentState::ALL
            .iter()
            .rev()
            .find(|s| *copy.slot(**s) > 0.0)
            .copied()
    }
}

/// One component's day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayRollup {
    #[serde(default)]
    pub seconds: StateSeconds,
    #[serde(default)]
    pub checks: u64,
    #[serde(default)]
    pub failures: u64,
    #[serde(default)]
    pub latency: Sketch,
    /// The worst state any check saw that day, so a day with checks but no time between runs
    /// yet (the first run) still shows what was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_seen: Option<ComponentState>,
    /// When in the day each second of `seconds` was spent (contiguous stretches merged): the
    /// timeline incidents and maintenance are applied to when figures are computed, since
    /// history holds only what the probes measured. Rollups written before it existed have
    /// none; their seconds (incidents already counted in, as they were recorded then) are
    /// used as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
    /// The kind's main measured value (queue depth, lag, loss %), when it reports one: what
    /// the component page charts. Absent in day files written before it existed.
    #[serde(default, skip_serializing_if = "ValueStats::is_empty")]
    pub value: ValueStats,
}

/// A day's measured values: count, sum, lowest and highest. Mergeable, and exact for any sign
/// (the latency sketch holds positive numbers only, and a PromQL value may be negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueStats {
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub sum: f64,
    #[serde(default)]
    pub min: f64,
    #[serde(default)]
    pub max: f64,
}

impl ValueStats {
    /// No value recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Records one measured value; non-finite ones are not numbers to chart and are skipped.
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if self.count == 0 {
            (self.min, self.max) = (value, value);
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        self.sum += value;
    }

    /// The mean, or `None` when nothing was recorded.
    pub fn mean(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // check counts stay far below 2^52
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

impl DayRollup {
    /// Counts `[from, to)` (inside this rollup's day) in `state`: its seconds and its segments.
    pub fn add_time(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, state: ComponentState) {
        self.seconds.add(state, seconds_between(from, to));
        extend_timeline(&mut self.segments, from, to, state);
    }

    /// Counts one check that measured `state`.
    pub fn add_check(
        &mut self,
        state: ComponentState,
        failed: bool,
        latency_ms: Option<u64>,
        value: Option<f64>,
    ) {
        self.checks += 1;
        if let Some(value) = value {
            self.value.add(value);
        }
        self.worst_seen = Some(self.worst_seen.map_or(state, |w| w.worst(state)));
        if failed {
            self.failures += 1;
        }
        if let Some(ms) = latency_ms {
            self.latency.add(ms as f64);
        }
    }

    /// The worst state of the day, from time in states and from the checks themselves.
    pub fn worst(&self) -> Option<ComponentState> {
        match (self.seconds.worst(), self.worst_seen) {
            (Some(a), Some(b)) => Some(a.worst(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A stretch of time in one state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub state: ComponentState,
}

/// Splits `[from, to)` at UTC midnights: `(day, seconds)` pieces.
pub fn split_by_day(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(NaiveDate, f64)> {
    split_at_midnights(from, to)
        .into_iter()
        .map(|(day, from, to)| (day, seconds_between(from, to)))
        .collect()
}

/// Splits `[from, to)` at UTC midnights: `(day, from, to)` pieces.
pub fn split_at_midnights(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut cursor = from;
    while cursor < to {
        let day = cursor.date_naive();
        let next_midnight = day
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or(to);
        let end = next_midnight.min(to);
        out.push((day, cursor, end));
        cursor = end;
    }
    out
}

/// `to - from` in seconds, to the millisecond.
pub fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// The stretches between two observations: `[earlier, mid)` in the earlier state and
/// `[mid, later)` in the later one, each at most `max_gap / 2` long.
pub fn credit_between(
    earlier: DateTime<Utc>,
    earlier_state: ComponentState,
    later: DateTime<Utc>,
    later_state: ComponentState,
    max_gap: chrono::Duration,
) -> [(DateTime<Utc>, DateTime<Utc>, ComponentState); 2] {
    let gap = later - earlier;
    let half = (gap / 2).min(max_gap / 2);
    let first_end = earlier + half;
    // Uncapped, the halves meet exactly at `first_end` (no nanosecond lost to rounding the
    // division), so a steady state stays one stretch in the timeline and the day's segments.
    let second_start = if gap <= max_gap {
        first_end
    } else {
        later - half
    };
    [
        (earlier, first_end, earlier_state),
        (second_start, later, later_state),
    ]
}

/// Appends `[from, to)` in `state` to a timeline, merging with the last stretch when contiguous.
pub fn extend_timeline(
    timeline: &mut Vec<Segment>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    state: ComponentState,
) {
    if to <= from {
        return;
    }
    if let Some(last) = timeline.last_mut()
        && last.state == state
        && last.to == from
    {
        last.to = to;
        return;
    }
    timeline.push(Segment { from, to, state });
}

/// Seconds per state in `[since, until)` from a timeline.
pub fn timeline_seconds(
    timeline: &[Segment],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StateSeconds {
    let mut out = StateSeconds::default();
    for s in timeline {
        let from = s.from.max(since);
        let to = s.to.min(until);
        if to > from {
            out.add(s.state, seconds_between(from, to));
        }
    }
    out
}

/// Daily rollups of many components, keyed by component id.
pub type DayFile = BTreeMap<String, DayRollup>;

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 11, 24)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn splits_at_midnight() {
        let from = t(23, 30);
        let to = from + chrono::Duration::hours(1);
        let parts = split_by_day(from, to);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].1, 1800.0);
        assert_eq!(parts[1].1, 1800.0);
    }

    #[test]
    fn the_time_between_two_runs_is_split_between_their_states() {
        use ComponentState::{MajorOutage, Operational};
        let gap = chrono::Duration::minutes(15);
        let [a, b] = credit_between(t(10, 0), Operational, t(10, 10), MajorOutage, gap);
        assert_eq!(a, (t(10, 0), t(10, 5), Operational));
        assert_eq!(
            b,
            (t(10, 5), t(10, 10), MajorOutage),
            "a run that sees it down counts"
        );
        // Five silent hours: 7.5 min on each side, no data between.
        let [a, b] = credit_between(t(10, 0), Operational, t(15, 0), Operational, gap);
        assert_eq!(a.1 - a.0, chrono::Duration::seconds(450));
        assert_eq!(
            (b.0, b.1),
            (t(15, 0) - chrono::Duration::seconds(450), t(15, 0))
        );
    }

    #[test]
    fn a_steady_state_stays_one_stretch_whatever_the_gaps_nanoseconds() {
        use ComponentState::Operational;
        let gap = chrono::Duration::minutes(15);
        let mut timeline = Vec::new();
        let mut last = t(10, 0);
        for odd in [
            chrono::Duration::nanoseconds(60_000_000_001),
            chrono::Duration::nanoseconds(30_000_000_003),
        ] {
            let at = last + odd;
            for (from, to, state) in credit_between(last, Operational, at, Operational, gap) {
                extend_timeline(&mut timeline, from, to, state);
            }
            last = at;
        }
        assert_eq!(timeline.len(), 1, "{timeline:?}");
    }

    #[test]
    fn uptime_ignores_maintenance_and_unobserved_time() {
        let mut tl = Vec::new();
        extend_timeline(&mut tl, t(0, 0), t(1, 0), ComponentState::Operational);
        extend_timeline(&mut tl, t(1, 0), t(2, 0), ComponentState::Operational);
        // 2:00-3:00 no data; then 30 min down, 30 min maintenance.
        extend_timeline(&mut tl, t(3, 0), t(3, 30), ComponentState::MajorOutage);
        extend_timeline(&mut tl, t(3, 30), t(4, 0), ComponentState::UnderMaintenance);
        assert_eq!(tl.len(), 3, "contiguous operational stretches merge");
        let s = timeline_seconds(&tl, t(0, 0), t(5, 0));
        assert_eq!(s.observed(), 9000.0);
        assert!((s.uptime().unwrap() - 7200.0 / 9000.0).abs() < 1e-9);
        assert_eq!(StateSeconds::default().uptime(), None, "no data is not up");
    }
}
