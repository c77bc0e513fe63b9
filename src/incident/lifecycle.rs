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
        if !self.is_active(now) {
            return None;
        }
        Some(match self.kind {
            Kind::Maintenance => ComponentState::UnderMaintenance,
            Kind::Incident => self.impact.unwrap_or(match self.severity {
                Some(Severity::Critical) => ComponentState::MajorOutage,
                Some(Severity::Major) => ComponentState::PartialOutage,
                _ => ComponentState::DegradedPerformance,
            }),
        })
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
pub fn apply(
    component: &str,
    probed: ComponentState,
    incidents: &[Incident],
    now: DateTime<Utc>,
) -> (ComponentState, Option<String>) {
    let mut state = probed;
    let mut note = None;
    for i in incidents
        .iter()
        .filter(|i| i.components.iter().any(|c| c == component))
    {
        match i.forced_state(now) {
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
