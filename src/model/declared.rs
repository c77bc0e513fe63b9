//! Declared incidents and maintenance applied to measured history, when figures are computed.
//!
//! History holds only what the probes measured (see `history`). What readers were shown at a
//! past instant is that measurement with the incidents and windows the files declare for that
//! instant applied ([`lifecycle::apply_at`]), so correcting or deleting an incident file
//! corrects every figure on the next build, and "measured" and "declared" can be shown apart.

use chrono::{DateTime, Utc};

use crate::history::rollup::{self, DayRollup, Segment, StateSeconds};
use crate::incident::{Incident, lifecycle};
use crate::state::ComponentState;

/// The incidents touching one component, ready to apply to its measured time.
pub(crate) struct Declared<'a> {
    component: &'a str,
    incidents: Vec<&'a Incident>,
    /// Where what they declare may change ([`lifecycle::change_points`]).
    cuts: Vec<DateTime<Utc>>,
}

impl<'a> Declared<'a> {
    pub(crate) fn new(
        component: &'a str,
        incidents: impl IntoIterator<Item = &'a Incident>,
    ) -> Self {
        let incidents: Vec<&Incident> = incidents
            .into_iter()
            .filter(|i| i.components.iter().any(|c| c == component))
            .collect();
        let cuts = lifecycle::change_points(component, incidents.iter().copied());
        Self {
            component,
            incidents,
            cuts,
        }
    }

    /// The measured `segments` as readers were shown them: each cut where a declaration
    /// starts or ends, and each piece given the state [`lifecycle::apply_at`] decides.
    pub(crate) fn overlay(&self, segments: &[Segment]) -> Vec<Segment> {
        if self.incidents.is_empty() {
            return segments.to_vec();
        }
        let mut out = Vec::with_capacity(segments.len());
        for s in segments {
            let inside = self.cuts.iter().filter(|t| s.from < **t && **t < s.to);
            let mut from = s.from;
            for to in inside.copied().chain([s.to]) {
                let state = lifecycle::apply_at(
                    self.component,
                    s.state,
                    self.incidents.iter().copied(),
                    from,
                );
                rollup::extend_timeline(&mut out, from, to, state);
                from = to;
            }
        }
        out
    }

    /// A day's seconds per state as readers were shown them. Rollups written before history
    /// kept incidents out have seconds their segments do not account for: those already have
    /// the incidents of their time counted in and are taken as they are.
    pub(crate) fn day_seconds(&self, day: &DayRollup) -> StateSeconds {
        if self.incidents.is_empty() {
            return day.seconds.clone();
        }
        let all = |segments: &[Segment]| {
            rollup::timeline_seconds(segments, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        };
        let mut shown = day.seconds.minus(&all(&day.segments));
        shown.merge(&all(&self.overlay(&day.segments)));
        shown
    }

    /// The worst state readers were shown that day (a day's bar): from its time in states, or,
    /// for a day with checks but no time between runs yet, from what the checks measured.
    pub(crate) fn day_worst(&self, day: &DayRollup) -> Option<ComponentState> {
        self.day_seconds(day).worst().or(day.worst_seen)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::state::ComponentState::{MajorOutage, Operational, UnderMaintenance};

    fn t(h: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
            .and_utc()
    }

    fn incident(text: &str) -> Incident {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("2026-11-24-x.md"), text).unwrap();
        let (mut list, errors) = crate::incident::load_dir(dir.path(), &["api", "db"]);
        assert!(errors.is_empty(), "{errors:?}");
        list.remove(0)
    }

    #[test]
    fn an_incident_counts_only_inside_its_declared_stretch_and_only_for_its_components() {
        let incidents = [incident(
            "---\ntitle: Down\nseverity: critical\nstatus: resolved\ncomponents: [api]\nimpact: major_outage\ndiscovered_at: 2026-11-24T02:00:00Z\nresolved_at: 2026-11-24T03:00:00Z\n---\n",
        )];
        let measured = [Segment {
            from: t(0),
            to: t(4),
            state: Operational,
        }];
        let api = Declared::new("api", &incidents).overlay(&measured);
        let seconds = rollup::timeline_seconds(&api, t(0), t(4));
        assert_eq!(seconds.major_outage, 3600.0, "{api:?}");
        assert_eq!(seconds.operational, 3.0 * 3600.0);
        let db = Declared::new("db", &incidents).overlay(&measured);
        assert_eq!(db, measured, "another component is untouched");
    }

    #[test]
    fn maintenance_wins_over_a_failing_probe_and_older_rollups_are_kept_as_recorded() {
        let incidents = [incident(
            "---\ntitle: Upgrade\nkind: maintenance\ncomponents: [api]\nstarts_at: 2026-11-24T01:00:00Z\nends_at: 2026-11-24T02:00:00Z\n---\n",
        )];
        let mut day = DayRollup::default();
        // One hour recorded by an older build (no segments), then two measured hours down.
        day.seconds.add(Operational, 3600.0);
        for (from, to) in [(t(1), t(2)), (t(2), t(3))] {
            day.seconds.add(MajorOutage, 3600.0);
            rollup::extend_timeline(&mut day.segments, from, to, MajorOutage);
        }
        let shown = Declared::new("api", &incidents).day_seconds(&day);
        assert_eq!(shown.operational, 3600.0, "older seconds as recorded");
        assert_eq!(shown.under_maintenance, 3600.0);
        assert_eq!(shown.major_outage, 3600.0);
        assert_eq!(
            day.seconds.major_outage, 7200.0,
            "the rollup itself is measured"
        );
        assert_eq!(
            Declared::new("api", &incidents).day_worst(&day),
            Some(MajorOutage)
        );
        let only_window = DayRollup {
            seconds: StateSeconds::default(),
            segments: vec![],
            worst_seen: Some(UnderMaintenance),
            ..DayRollup::default()
        };
        assert_eq!(
            Declared::new("api", &incidents).day_worst(&only_window),
            Some(UnderMaintenance)
        );
    }
}
