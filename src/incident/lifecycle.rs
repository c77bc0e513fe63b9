//! Where an incident or maintenance stands at a given time, and what it does to components.
//!
//! An open incident sets its components to at least its `impact` (probes can make it worse, never
//! better). Maintenance follows the clock unless the file says otherwise: scheduled before
//! `starts_at`, in progress until `ends_at` (components under maintenance), completed after.

use chrono::{DateTime, Utc};

use super::{Incident, Kind, Severity, Status};
use crate::state::ComponentState;

impl Incident {
    /// The status at `now`: the file's for incidents; for maintenance the file's if given, else
    /// the clock's.
    pub fn status_at(&self, now: DateTime<Utc>) -> Status {
        match self.kind {
            Kind::Incident => self.status.unwrap_or(Status::Investigating),
            Kind::Maintenance => {
                self.status
                    .unwrap_or_else(|| match (self.starts_at, self.ends_at) {
                        (Some(s), _) if now < s => Status::Scheduled,
                        (_, Some(e)) if now < e => Status::InProgress,
                        _ => Status::Completed,
                    })
            }
        }
    }

    /// Still affecting components at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.status_at(now),
            Status::Investigating | Status::Identified | Status::Monitoring | Status::InProgress
        )
    }

    /// The state this incident forces on its components at `now`, if any.
    pub fn forced_state(&self, now: DateTime<Utc>) -> Option<ComponentState> {
        self.is_active(now).then(|| self.declared_state())
    }

    /// The state it declares while open: `under_maintenance` for a window, else its `impact`
    /// (or one that follows from its severity).
    pub fn declared_state(&self) -> ComponentState {
        match self.kind {
            Kind::Maintenance => ComponentState::UnderMaintenance,
            Kind::Incident => self.impact.unwrap_or(match self.severity {
                Some(Severity::Critical) => ComponentState::MajorOutage,
                Some(Severity::Major) => ComponentState::PartialOutage,
                _ => ComponentState::DegradedPerformance,
            }),
        }
    }

    /// The stretch of time it declared a state, `[from, to)`, as the file tells it today
    /// (`to = None`: still open). Figures apply incidents through this when they are computed,
    /// so correcting or deleting the file corrects every past figure (history never holds it).
    ///
    /// Incidents: `discovered_at` to `resolved_at` (open: no end; closed without `resolved_at`:
    /// none). Maintenance: `starts_at` to `ends_at`, unless the file says `scheduled` (none) or
    /// `in_progress` (no end yet).
    pub fn declared_span(&self) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        match self.kind {
            Kind::Incident => {
                let from = self.discovered_at?;
                match self.resolved_at {
                    Some(to) => Some((from, Some(to))),
                    None => self
                        .status
                        .is_none_or(|s| s != Status::Resolved)
                        .then_some((from, None)),
                }
            }
            Kind::Maintenance => {
                let from = self.starts_at?;
                match self.status {
                    Some(Status::Scheduled) => None,
                    Some(Status::InProgress) => Some((from, None)),
                    _ => Some((from, Some(self.ends_at?))),
                }
            }
        }
    }

    /// The state it forced on its components at `at` (a past instant), if any.
    pub fn forced_at(&self, at: DateTime<Utc>) -> Option<ComponentState> {
        let (from, to) = self.declared_span()?;
        (from <= at && to.is_none_or(|to| at < to)).then(|| self.declared_state())
    }

    /// When it began: discovery for incidents, the window's start for maintenance.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        match self.kind {
            Kind::Incident => self.discovered_at,
            Kind::Maintenance => self.starts_at,
        }
    }

    /// When it ended, if it has.
    pub fn ended_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.kind {
            Kind::Incident => self.resolved_at,
            Kind::Maintenance => (!self.is_active(now) && self.status_at(now) != Status::Scheduled)
                .then_some(self.ends_at)
                .flatten(),
        }
    }

    /// The latest time anything happened, for "updated" fields and feed ordering.
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        [
            self.discovered_at,
            self.contained_at,
            self.resolved_at,
            self.starts_at,
            self.updates.first().map(|u| u.at),
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

/// Applies open incidents and maintenance to a probed state.
pub fn apply<'a>(
    component: &str,
    probed: ComponentState,
    incidents: impl IntoIterator<Item = &'a Incident>,
    now: DateTime<Utc>,
) -> (ComponentState, Option<String>) {
    apply_with(component, probed, incidents, |i| i.forced_state(now))
}

/// The state readers were shown at a past instant `at`: `measured` (what the probe saw then)
/// with the incidents and windows declared at that time applied, by the same rule as
/// [`apply`]. Figures are computed with it at build time (see [`Incident::declared_span`]).
pub fn apply_at<'a>(
    component: &str,
    measured: ComponentState,
    incidents: impl IntoIterator<Item = &'a Incident>,
    at: DateTime<Utc>,
) -> ComponentState {
    apply_with(component, measured, incidents, |i| i.forced_at(at)).0
}

/// Every instant at which what `incidents` declare for `component` may change, sorted: where
/// a measured stretch of time must be cut before [`apply_at`] is applied to each piece.
pub fn change_points<'a>(
    component: &str,
    incidents: impl IntoIterator<Item = &'a Incident>,
) -> Vec<DateTime<Utc>> {
    let mut out: Vec<DateTime<Utc>> = incidents
        .into_iter()
        .filter(|i| i.components.iter().any(|c| c == component))
        .filter_map(Incident::declared_span)
        .flat_map(|(from, to)| [Some(from), to])
        .flatten()
        .collect();
    out.sort();
    out.dedup();
    out
}

fn apply_with<'a>(
    component: &str,
    probed: ComponentState,
    incidents: impl IntoIterator<Item = &'a Incident>,
    forced: impl Fn(&Incident) -> Option<ComponentState>,
) -> (ComponentState, Option<String>) {
    let mut state = probed;
    let mut note = None;
    for i in incidents
        .into_iter()
        .filter(|i| i.components.iter().any(|c| c == component))
    {
        match forced(i) {
            Some(ComponentState::UnderMaintenance) => {
                // An announced window is what readers see, even when the probe fails inside it
                // (that is usually the point of the window); the probe's words stay in the detail.
                state = ComponentState::UnderMaintenance;
                note = Some("Under scheduled maintenance.".to_owned());
            }
            Some(forced) if forced.severity() > state.severity() => {
                state = forced;
                note = Some("An open incident affects this component.".to_owned());
            }
            _ => {}
        }
    }
    (state, note)
}
