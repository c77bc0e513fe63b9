//! What `memory.json` keeps besides the components' states: the last run's counters and what
//! notifications have announced. History owns these types because they are its file format: a
//! change here changes the file, and the file's `version` must say so. `model` and `notify`
//! use them (notify re-exports [`NotifyMemory`]; the counters convert from and to
//! `probe::counters::Counters`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::probe::counters::Counters;
use crate::state::ComponentState;

/// The live-traffic counters of the last run, as stored; `None` = no value (never made up).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredCounters {
    pub online_now: Option<i64>,
    pub active_devices_last_24h: Option<i64>,
    pub messages_last_24h: Option<i64>,
    pub calls_last_24h: Option<i64>,
}

impl From<Counters> for StoredCounters {
    fn from(c: Counters) -> Self {
        Self {
            online_now: c.online_now,
            active_devices_last_24h: c.active_devices_last_24h,
            messages_last_24h: c.messages_last_24h,
            calls_last_24h: c.calls_last_24h,
        }
    }
}

impl From<StoredCounters> for Counters {
    fn from(c: StoredCounters) -> Self {
        Self {
            online_now: c.online_now,
            active_devices_last_24h: c.active_devices_last_24h,
            messages_last_24h: c.messages_last_24h,
            calls_last_24h: c.calls_last_24h,
        }
    }
}

/// What notifications remember between runs (kept in the history store).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotifyMemory {
    /// Each component's state and since when it has been in it.
    #[serde(default)]
    pub current: BTreeMap<String, (ComponentState, DateTime<Utc>)>,
    /// Per target: the state each component was last announced in. A target without an entry
    /// has not been set up yet: its first run records the baseline and sends nothing.
    #[serde(default)]
    pub announced: BTreeMap<String, BTreeMap<String, ComponentState>>,
    /// Per target: incident event ids it acknowledged (or that predate it).
    #[serde(default)]
    pub sent: BTreeMap<String, BTreeSet<String>>,
    /// Per component: since when it has been down (major outage), outside maintenance.
    #[serde(default)]
    pub down_since: BTreeMap<String, DateTime<Utc>>,
    /// Per component: since when it has been degraded or worse, outside maintenance.
    #[serde(default)]
    pub degraded_since: BTreeMap<String, DateTime<Utc>>,
    /// Per target: the components with an open page (trigger acknowledged, resolve not yet).
    #[serde(default)]
    pub paged: BTreeMap<String, BTreeMap<String, OpenPage>>,
    /// Per target: the objectives' burn alerts open there, by alert id.
    #[serde(default)]
    pub burning: BTreeMap<String, BTreeMap<String, OpenPage>>,
}

/// A page a target acknowledged and that has not been resolved yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenPage {
    pub dedup_key: String,
    pub since: DateTime<Utc>,
    /// The state it opened with (its severity).
    #[serde(default = "major_outage")]
    pub opened: ComponentState,
}

fn major_outage() -> ComponentState {
    ComponentState::MajorOutage
}
