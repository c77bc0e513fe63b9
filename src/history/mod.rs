//! The history store: what every run saw, kept so the page can show uptime, daily bars and
//! latency percentiles, and so state rules can look across runs.
//!
//! Layout (format version 1), in a folder or under an object-store prefix:
//! ```text
//! FORMAT                      {"format":"upstate-history","version":1}
//! memory.json                 per component: failure streak, last state, 7-day timeline, samples
//! daily/YYYY-MM-DD.json       per component: seconds in each state (and when), checks, failures,
//!                             latency sketch
//! raw/YYYY-MM-DD/<time>.json  one file per run: every observation, kept for `raw_retention`
//! site-key.json               the key of private incidents' public ids (made when first needed)
//! incidents.json              the last valid version of every incident file (written on change)
//! ```
//! History holds what the probes measured, never an incident's or a maintenance window's
//! state: those are applied when figures are computed (`model`), so a corrected or deleted
//! incident file corrects every figure. Files are never rewritten in place, only replaced whole. A file that cannot be read (corrupt,
//! truncated, newer format) is never overwritten: the run carries on without it, names it in the
//! problems it returns, and `upstate history repair` moves it aside.

pub mod git;
pub mod local;
pub mod memory;
mod rebuild;
pub mod rollup;
pub mod s3;
pub mod sketch;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::probe::{Health, Observation};
use crate::state::{ComponentState, Memory};
pub use local::LocalStore;
use rollup::{DayFile, DayRollup, Segment, StateSeconds};

/// The on-disk format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// History store failures.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HistoryError {
    #[error("{file}: {reason}")]
    Io { file: String, reason: String },
    #[error(
        "{file} cannot be read: {reason}; it was left untouched (see `upstate history repair`)"
    )]
    Unreadable { file: String, reason: String },
    #[error(
        "{file} was written by a newer upstate (format {found}, this build reads {FORMAT_VERSION}); it was left untouched"
    )]
    TooNew { file: String, found: u32 },
    #[error(
        "{file} says this history store has format {found}; this upstate reads and writes format {FORMAT_VERSION}, so it wrote nothing. Run an upstate that reads format {found} (a newer release)"
    )]
    StoreTooNew { file: String, found: u32 },
    #[error("another run holds {file}; gave up waiting")]
    Locked { file: String },
    /// A shared copy (the git branch) could not be fetched or pushed.
    #[error("history store {store}: {reason}")]
    Remote { store: String, reason: String },
    #[error(
        "history store {store} kept changing under this run; gave up after {attempts} attempts (nothing was overwritten)"
    )]
    Contended { store: String, attempts: u32 },
}

/// What [`Store::commit`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// This run's writes are where every later run reads them.
    Done,
    /// Another writer got there first: the store now holds its data instead of ours (freshly
    /// fetched), and the caller re-applies its writes and commits again.
    Refreshed,
}

/// Commits tried before giving up when other runs keep moving a shared store.
pub const COMMIT_ATTEMPTS: u32 = 5;

/// Held while a run reads and writes history; dropping it releases the lock.
pub trait StoreLock: Send {}

/// Where history lives. Keys are `/`-separated relative paths.
pub trait Store: Send + Sync {
    /// A human name for `key` (a path or URL), for errors.
    fn describe(&self, key: &str) -> String;
    /// The bytes at `key`, or `None` when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, HistoryError>;
    /// Replaces `key` whole, atomically.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), HistoryError>;
    /// Keys under `prefix`, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, HistoryError>;
    /// Removes `key` (absent is fine).
    fn delete(&self, key: &str) -> Result<(), HistoryError>;
    /// Moves `from` to `to` (used to set unreadable files aside).
    fn rename(&self, from: &str, to: &str) -> Result<(), HistoryError>;
    /// Waits for and takes the store's run lock.
    fn lock(&self) -> Result<Box<dyn StoreLock>, HistoryError>;
    /// Brings a local copy of a shared store up to date before it is read (the git store fetches
    /// its branch). An unreachable store is an error, never an empty history. Stores read in
    /// place need nothing.
    fn sync(&self) -> Result<(), HistoryError> {
        Ok(())
    }
    /// Makes this run's writes visible to the next run (the git store commits and pushes with a
    /// lease). Stores written in place are done with every `put`.
    fn commit(&self) -> Result<Committed, HistoryError> {
        Ok(Committed::Done)
    }
}

/// Writes with `write` and commits, re-applying `write` on the refreshed store each time another
/// writer got there first; for writers that do not go through [`History`] (region reports).
pub fn write_shared(
    store: &dyn Store,
    mut write: impl FnMut(&dyn Store) -> Result<(), HistoryError>,
) -> Result<(), HistoryError> {
    for _ in 0..COMMIT_ATTEMPTS {
        write(store)?;
        if store.commit()? == Committed::Done {
            return Ok(());
        }
    }
    Err(HistoryError::Contended {
        store: store.describe(""),
        attempts: COMMIT_ATTEMPTS,
    })
}

/// A component's remembered facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentMemory {
    #[serde(flatten)]
    pub rules: Memory,
    pub last_at: Option<DateTime<Utc>>,
    /// The probe's state at `last_at` (memory written before incidents were kept out of
    /// history holds the shown state here; `last_probed_state` is the probe's in both).
    pub last_state: Option<ComponentState>,
    /// The probe's own state at `last_at` (before incidents and maintenance were applied).
    #[serde(default)]
    pub last_probed_state: Option<ComponentState>,
    #[serde(default)]
    pub last_detail: String,
    pub last_latency_ms: Option<u64>,
    /// How long the last check took (a hanging target: its whole deadline), so the next run
    /// starts the slowest first. Absent in memory written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_took_ms: Option<u64>,
    /// Exact state timeline for the last `raw_retention` (24 h and 7 d figures).
    #[serde(default)]
    pub timeline: Vec<Segment>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MemoryFile {
    version: u32,
    components: BTreeMap<String, ComponentMemory>,
    /// The live-traffic counters of the last run, so `build` can show them without querying.
    #[serde(default)]
    counters: memory::StoredCounters,
    /// What notifications have announced, so no change is announced twice.
    #[serde(default)]
    notify: memory::NotifyMemory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DayFileOnDisk {
    version: u32,
    components: DayFile,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawRun<'a> {
    version: u32,
    at: DateTime<Utc>,
    observations: std::borrow::Cow<'a, [RawObservation]>,
}

/// One observation with the state decided for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawObservation {
    #[serde(flatten)]
    pub observation: Observation,
    /// The state the probe decided (thresholds and hysteresis, no incident or maintenance):
    /// what rollups count. Runs recorded before incidents were kept out of history wrote the
    /// state readers saw here and the probe's own in `probed`; see [`RawObservation::measured`].
    pub state: ComponentState,
    /// Only in runs recorded before incidents were kept out of history: the probe's own state,
    /// when an incident or maintenance changed `state`. Never written now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probed: Option<ComponentState>,
}

impl RawObservation {
    /// What the probe measured, whichever version recorded it.
    pub fn measured(&self) -> ComponentState {
        self.probed.unwrap_or(self.state)
    }
}

/// How the store keeps things.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub raw: chrono::Duration,
    pub max_gap: chrono::Duration,
}

/// An open history: memory loaded, problems noted, the run lock held.
pub struct History {
    store: Box<dyn Store>,
    retention: Retention,
    memory: MemoryFile,
    /// memory.json could not be read: it must not be overwritten this run.
    memory_broken: bool,
    days: BTreeMap<NaiveDate, Option<DayFile>>,
    problems: Vec<HistoryError>,
    /// `site-key.json`, once read (`Some(None)`: absent).
    site_key: Option<Option<Vec<u8>>>,
    /// `site-key.json` exists but cannot be read: it is never replaced.
    site_key_unreadable: bool,
    /// The key this run made and stored, written again if a shared store is refreshed under
    /// it (see [`History::finish`]): pages already published use it.
    site_key_made: Option<Vec<u8>>,
    _lock: Option<Box<dyn StoreLock>>,
}

/// The day files one [`History::record`] changes, written together at its end.
#[derive(Default)]
struct DayWrites {
    touched: BTreeMap<NaiveDate, DayFile>,
    /// Days whose file cannot be read: never overwritten (see [`History::day_for_write`]).
    broken: Vec<NaiveDate>,
}

/// `site-key.json`: see [`History::private_id_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SiteKeyFile {
    version: u32,
    /// 32 random bytes, hex.
    private_id_key: String,
}

/// Where [`SiteKeyFile`] lives in the store.
const SITE_KEY: &str = "site-key.json";

/// `incidents.json`: see [`History::remembered_incidents`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct IncidentsFile {
    version: u32,
    /// File name in `incidents/` → text of its last valid version.
    files: BTreeMap<String, String>,
}

/// Where [`IncidentsFile`] lives in the store.
const INCIDENTS: &str = "incidents.json";

impl SiteKeyFile {
    fn new(key: &[u8]) -> Self {
        Self {
            version: FORMAT_VERSION,
            private_id_key: hex::encode(key),
        }
    }
}

/// 32 bytes from the operating system's random source.
fn random_key() -> Result<Vec<u8>, String> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("no random source: {e}"))?;
    Ok(key)
}

impl History {
    /// Opens the store for a run that will write: takes the lock, brings a shared store up to
    /// date ([`Store::sync`]) and reads the memory. Call [`History::finish`] when done writing.
    ///
    /// A store whose `FORMAT` is newer than this build is refused whole: writing raw runs and
    /// rollups into a layout this build does not know could corrupt it for the build that does.
    pub fn open(store: Box<dyn Store>, retention: Retention) -> Result<Self, HistoryError> {
        let lock = store.lock()?;
        store.sync()?;
        let mut history = Self::open_read_only(store, retention);
        if let Some(HistoryError::TooNew { file, found }) = history
            .problems
            .iter()
            .find(|p| matches!(p, HistoryError::TooNew { file, .. } if *file == history.store.describe("FORMAT")))
        {
            return Err(HistoryError::StoreTooNew {
                file: file.clone(),
                found: *found,
            });
        }
        history._lock = Some(lock);
        Ok(history)
    }

    /// Opens the store without the lock, for building pages only. A shared store must have been
    /// brought up to date first ([`Store::sync`]).
    pub fn open_read_only(store: Box<dyn Store>, retention: Retention) -> Self {
        let mut history = Self {
            store,
            retention,
            memory: MemoryFile {
                version: FORMAT_VERSION,
                components: BTreeMap::new(),
                counters: memory::StoredCounters::default(),
                notify: memory::NotifyMemory::default(),
            },
            memory_broken: false,
            days: BTreeMap::new(),
            problems: Vec::new(),
            site_key: None,
            site_key_unreadable: false,
            site_key_made: None,
            _lock: None,
        };
        history.load();
        history
    }

    /// Reads what the store holds now, forgetting everything read or written before.
    fn load(&mut self) {
        self.memory = MemoryFile {
            version: FORMAT_VERSION,
            components: BTreeMap::new(),
            counters: memory::StoredCounters::default(),
            notify: memory::NotifyMemory::default(),
        };
        self.memory_broken = false;
        self.days.clear();
        self.problems.clear();
        self.check_format();
        match self.read_json::<MemoryFile>("memory.json") {
            Ok(Some(m)) => self.memory = m,
            Ok(None) => {}
            Err(e) => {
                self.memory_broken = true;
                self.problems.push(e);
            }
        }
        self.site_key = None;
        self.site_key_unreadable = false;
        // Another run moved a shared store while this one made the key: keep ours unless that
        // run stored one too (then its key wins from the next run on).
        if let Some(key) = self.site_key_made.clone()
            && !self.memory_broken
            && matches!(self.store.get(SITE_KEY), Ok(None))
        {
            let file = SiteKeyFile::new(&key);
            if let Err(e) =
                to_json(SITE_KEY, &file).and_then(|bytes| self.store.put(SITE_KEY, &bytes))
            {
                self.problems.push(e);
            }
        }
    }

    /// Makes this run's writes visible to the next run ([`Store::commit`]; a no-op for a folder
    /// or S3). When another run moved a shared store meanwhile, the store holds that run's data
    /// afterwards: history is re-read and `reapply` redoes this run's writes on it (decide and
    /// record the same observations again), then the commit is tried again, at most
    /// [`COMMIT_ATTEMPTS`] times. Nobody's observations are lost either way.
    pub fn finish(
        &mut self,
        mut reapply: impl FnMut(&mut History) -> Result<(), HistoryError>,
    ) -> Result<(), HistoryError> {
        for _ in 0..COMMIT_ATTEMPTS {
            match self.store.commit()? {
                Committed::Done => return Ok(()),
                Committed::Refreshed => {
                    self.load();
                    reapply(self)?;
                }
            }
        }
        Err(HistoryError::Contended {
            store: self.store.describe(""),
            attempts: COMMIT_ATTEMPTS,
        })
    }

    fn check_format(&mut self) {
        match self.read_json::<serde_json::Value>("FORMAT") {
            Ok(_) => {}
            Err(e) => {
                // A store whose FORMAT is unknown is read as little as possible and never written.
                self.memory_broken = true;
                self.problems.push(e);
            }
        }
    }

    /// Reads and parses `key`, refusing files from a newer format.
    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, HistoryError> {
        let Some(bytes) = self.store.get(key)? else {
            return Ok(None);
        };
        let bytes = match gunzip(&bytes) {
            Ok(b) => b,
            Err(reason) => {
                return Err(HistoryError::Unreadable {
                    file: self.store.describe(key),
                    reason,
                });
            }
        };
        let unreadable = |reason: String| HistoryError::Unreadable {
            file: self.store.describe(key),
            reason,
        };
        let version: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
        let found = version
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if found > u64::from(FORMAT_VERSION) {
            return Err(HistoryError::TooNew {
                file: self.store.describe(key),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        serde_json::from_value(version)
            .map(Some)
            .map_err(|e| unreadable(e.to_string()))
    }

    /// The store itself (for region reports, which live beside history).
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Problems met so far (unreadable files); the run reports them and exits non-zero.
    pub fn problems(&self) -> &[HistoryError] {
        &self.problems
    }

    /// What the store remembers of `component`.
    pub fn memory(&self, component: &str) -> ComponentMemory {
        self.memory
            .components
            .get(component)
            .cloned()
            .unwrap_or_default()
    }

    /// How long `component`'s last check took, if known (without copying its memory).
    pub fn last_took_ms(&self, component: &str) -> Option<u64> {
        self.memory.components.get(component)?.last_took_ms
    }

    /// The counters the last run saw.
    pub fn counters(&self) -> crate::probe::counters::Counters {
        self.memory.counters.clone().into()
    }

    /// Remembers this run's counters (written with the next [`History::record`]).
    pub fn set_counters(&mut self, counters: crate::probe::counters::Counters) {
        self.memory.counters = counters.into();
    }

    /// The key of private incidents' public ids (`model` publishes a private incident as
    /// `private-<HMAC-SHA256(key, file stem)>`, so its file name never leaves the repository).
    ///
    /// Why here: the id must stay the same on every run, including ephemeral CI runners, and
    /// must not be computable from a guessed file name. The history store is the one thing every
    /// run of a site shares and that is never published, so the key is 32 random bytes kept in
    /// `site-key.json` beside the memory: no setting to forget, nothing in the config to leak.
    /// Losing the store changes the ids (old links break), never reveals a name.
    ///
    /// With `create`, a missing key is made and stored (also by `build`, which otherwise only
    /// reads: this is the one file it may add; a git store keeps it only once a `run` pushes
    /// it). Without, `None` when there is none yet. When the store cannot hold it (unreadable,
    /// newer format, write failed), a key for this run only is used and the problem reported:
    /// ids then change between runs, names still never leak.
    pub fn private_id_key(&mut self, create: bool) -> Option<Vec<u8>> {
        if self.site_key.is_none() {
            let loaded = match self.read_json::<SiteKeyFile>(SITE_KEY) {
                Ok(None) => Ok(None),
                Ok(Some(file)) => hex::decode(file.private_id_key.trim())
                    .ok()
                    .filter(|k| k.len() >= 16)
                    .map(Some)
                    .ok_or_else(|| HistoryError::Unreadable {
                        file: self.store.describe(SITE_KEY),
                        reason: "`private_id_key` is not a hex key of at least 16 bytes".to_owned(),
                    }),
                Err(e) => Err(e),
            };
            match loaded {
                Ok(key) => self.site_key = Some(key),
                Err(e) => {
                    // Never overwritten (every published id would change): this run only.
                    self.problems.push(e);
                    self.site_key_unreadable = true;
                    let key = random_key().ok();
                    self.site_key = Some(key.clone());
                    return key;
                }
            }
        }
        if let Some(Some(key)) = &self.site_key {
            return Some(key.clone());
        }
        if !create || self.site_key_unreadable {
            return None;
        }
        let key = match random_key() {
            Ok(k) => k,
            Err(reason) => {
                self.problems.push(HistoryError::Io {
                    file: self.store.describe(SITE_KEY),
                    reason,
                });
                return None;
            }
        };
        if !self.memory_broken {
            match to_json(SITE_KEY, &SiteKeyFile::new(&key))
                .and_then(|bytes| self.store.put(SITE_KEY, &bytes))
            {
                Ok(()) => self.site_key_made = Some(key.clone()),
                Err(e) => self.problems.push(e),
            }
        } else {
            self.problems.push(HistoryError::Io {
                file: self.store.describe(SITE_KEY),
                reason: "not written while the history store is unreadable; private incident ids are for this run only".to_owned(),
            });
        }
        self.site_key = Some(Some(key.clone()));
        Some(key)
    }

    /// The last valid version of every incident file (file name → text), so a run can publish
    /// it while the file has errors: one mistake never makes a published incident disappear.
    /// Why in history: it is what every run of a site shares and never publishes (a private
    /// incident's text stays private). Empty when nothing is remembered or `incidents.json`
    /// cannot be read (then named in [`History::problems`] and never overwritten).
    pub fn remembered_incidents(&mut self) -> BTreeMap<String, String> {
        match self.read_json::<IncidentsFile>(INCIDENTS) {
            Ok(file) => file.unwrap_or_default().files,
            Err(e) => {
                if !self.problems.iter().any(|p| p.to_string() == e.to_string()) {
                    self.problems.push(e);
                }
                BTreeMap::new()
            }
        }
    }

    /// Remembers `files` as the last valid incident versions, writing `incidents.json` only when
    /// it changes; never over an unreadable one, nor into a store that cannot be read.
    pub fn remember_incidents(
        &mut self,
        files: BTreeMap<String, String>,
    ) -> Result<(), HistoryError> {
        let stored = match self.read_json::<IncidentsFile>(INCIDENTS) {
            Ok(stored) => stored.unwrap_or_default().files,
            Err(_) => return Ok(()), // already a problem of this run; kept as it is
        };
        if self.memory_broken || stored == files {
            return Ok(());
        }
        let file = IncidentsFile {
            version: FORMAT_VERSION,
            files,
        };
        self.store.put(INCIDENTS, &to_json(INCIDENTS, &file)?)
    }

    /// What notifications have announced so far.
    pub fn notify_memory(&self) -> memory::NotifyMemory {
        self.memory.notify.clone()
    }

    /// Records what notifications announced and writes the memory file (unless it was
    /// unreadable: it is never overwritten then).
    pub fn save_notify_memory(&mut self, memory: memory::NotifyMemory) -> Result<(), HistoryError> {
        self.memory.notify = memory;
        if self.memory_broken {
            return Ok(());
        }
        self.store
            .put("memory.json", &to_json("memory.json", &self.memory)?)
    }

    /// Loads (once) and returns the rollups of `day`; `None` if missing or unreadable.
    pub fn day(&mut self, day: NaiveDate) -> Option<&DayFile> {
        if !self.days.contains_key(&day) {
            let key = day_key(day);
            let file = match self.read_json::<DayFileOnDisk>(&key) {
                Ok(f) => f.map(|f| f.components),
                Err(e) => {
                    self.problems.push(e);
                    None
                }
            };
            self.days.insert(day, file);
        }
        self.days.get(&day).and_then(Option::as_ref)
    }

    /// Records one run: raw observations, rollups, memory. `rules` is each component's memory
    /// after this run (from [`Memory::advance`]).
    pub fn record(
        &mut self,
        at: DateTime<Utc>,
        observations: &[RawObservation],
        rules: &BTreeMap<String, Memory>,
    ) -> Result<(), HistoryError> {
        let mut days = DayWrites::default();
        for raw in observations {
            self.record_observation(at, raw, rules, &mut days);
        }
        self.write_run(at, observations, days.touched)
    }

    /// Adds one observation to the day rollups about to be written and to its component's
    /// memory.
    fn record_observation(
        &mut self,
        at: DateTime<Utc>,
        raw: &RawObservation,
        rules: &BTreeMap<String, Memory>,
        days: &mut DayWrites,
    ) {
        let id = raw.observation.component.clone();
        let measured = raw.measured();
        let mut memory = self.memory(&id);
        // A run that recorded later got to a shared store first (two racing runs, this one
        // re-applied on top): its observation is counted and kept, but the memory keeps
        // the later run's facts and its timeline is not rewound.
        let superseded = memory.last_at.is_some_and(|last| last > at);
        if !superseded {
            self.credit_since_last_run(&id, &mut memory, at, measured, days);
        }
        let today = at.date_naive();
        if let Some(file) = self.day_for_write(today, &mut days.touched, &mut days.broken) {
            file.entry(id.clone()).or_default().add_check(
                measured,
                raw.observation.outcome.health == Health::Down,
                raw.observation.outcome.latency_ms,
                raw.observation.outcome.value,
            );
        }
        if superseded {
            // Both runs failed: the streak counts this one too. Otherwise the later run's
            // verdict stands: it ended or started the streak after this observation.
            if raw.observation.outcome.health == Health::Down
                && memory.rules.consecutive_failures > 0
                && let Some(advanced) = rules.get(&id)
            {
                memory.rules.consecutive_failures = advanced.consecutive_failures;
                self.memory.components.insert(id, memory);
            }
            return;
        }
        let horizon = at - self.retention.raw.max(chrono::Duration::days(7));
        memory.timeline.retain(|s| s.to > horizon);
        memory.rules = rules.get(&id).cloned().unwrap_or_default();
        memory.last_at = Some(at);
        memory.last_state = Some(measured);
        memory.last_probed_state = Some(measured);
        memory
            .last_detail
            .clone_from(&raw.observation.outcome.detail);
        memory.last_latency_ms = raw.observation.outcome.latency_ms;
        memory.last_took_ms = raw.observation.took_ms;
        self.memory.components.insert(id, memory);
    }

    /// Credits the time since the previous run to the timeline and the day rollups.
    ///
    /// Each observation stands for the time nearest to it, so the first half goes to the state
    /// seen then and the second half to the state seen now (a run that finds a component down
    /// already counts against its uptime). Neither side reaches further than max_gap / 2: a
    /// longer silence is "no data" in the middle, never assumed either way.
    fn credit_since_last_run(
        &mut self,
        id: &str,
        memory: &mut ComponentMemory,
        at: DateTime<Utc>,
        measured: ComponentState,
        days: &mut DayWrites,
    ) {
        // The probe's own last state (memory written before incidents were kept out of
        // history holds the shown one in `last_state`).
        let last_state = memory.last_probed_state.or(memory.last_state);
        let (Some(last_at), Some(last_state)) = (memory.last_at, last_state) else {
            return;
        };
        if at <= last_at {
            return;
        }
        for (from, to, state) in
            rollup::credit_between(last_at, last_state, at, measured, self.retention.max_gap)
        {
            rollup::extend_timeline(&mut memory.timeline, from, to, state);
            for (day, from, to) in rollup::split_at_midnights(from, to) {
                let Some(file) = self.day_for_write(day, &mut days.touched, &mut days.broken)
                else {
                    continue;
                };
                file.entry(id.to_owned())
                    .or_default()
                    .add_time(from, to, state);
            }
        }
    }

    /// Writes one run: its raw observations first, then the day files it touched, then the
    /// memory (unless unreadable) and the `FORMAT` marker; then prunes old raw runs.
    fn write_run(
        &mut self,
        at: DateTime<Utc>,
        observations: &[RawObservation],
        touched: BTreeMap<NaiveDate, DayFile>,
    ) -> Result<(), HistoryError> {
        // Raw first: if anything below fails, the observations themselves are already safe.
        let run = RawRun {
            version: FORMAT_VERSION,
            at,
            observations: std::borrow::Cow::Borrowed(observations),
        };
        // Raw runs repeat the same keys for every component: gzip makes them ~10x smaller.
        let raw_key = format!(
            "raw/{}/{}.json.gz",
            at.format("%Y-%m-%d"),
            at.format("%H%M%S%.6fZ")
        );
        self.store
            .put(&raw_key, &gzip(&raw_key, &to_json(&raw_key, &run)?)?)?;
        for (day, components) in touched {
            let file = DayFileOnDisk {
                version: FORMAT_VERSION,
                components,
            };
            let key = day_key(day);
            self.store.put(&key, &to_json(&key, &file)?)?;
            self.days.insert(day, Some(file.components));
        }
        if !self.memory_broken {
            self.store
                .put("memory.json", &to_json("memory.json", &self.memory)?)?;
            if self.store.get("FORMAT")?.is_none() {
                let format =
                    serde_json::json!({"format": "upstate-history", "version": FORMAT_VERSION});
                self.store.put("FORMAT", format.to_string().as_bytes())?;
            }
        }
        self.prune_raw(at);
        Ok(())
    }

    /// The day's rollups for writing, or `None` when the file is unreadable (never overwritten).
    fn day_for_write<'a>(
        &mut self,
        day: NaiveDate,
        touched: &'a mut BTreeMap<NaiveDate, DayFile>,
        broken: &mut Vec<NaiveDate>,
    ) -> Option<&'a mut DayFile> {
        if broken.contains(&day) {
            return None;
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = touched.entry(day) {
            let problems_before = self.problems.len();
            let existing = self.day(day).cloned();
            if self.problems.len() > problems_before {
                broken.push(day);
                return None;
            }
            slot.insert(existing.unwrap_or_default());
        }
        touched.get_mut(&day)
    }

    fn prune_raw(&mut self, at: DateTime<Utc>) {
        let cutoff = (at - self.retention.raw).date_naive();
        let Ok(keys) = self.store.list("raw") else {
            return;
        };
        for key in keys {
            let day = key
                .split('/')
                .nth(1)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            if day.is_some_and(|d| d < cutoff)
                && let Err(e) = self.store.delete(&key)
            {
                tracing::warn!(error = %e, "Could not prune an old raw observation file.");
            }
        }
    }

    /// Seconds per state for `component` in the `days` UTC days ending with `today`.
    pub fn seconds_over_days(
        &mut self,
        component: &str,
        today: NaiveDate,
        days: u32,
    ) -> StateSeconds {
        let mut out = StateSeconds::default();
        for back in 0..days {
            let Some(day) = today.checked_sub_days(chrono::Days::new(u64::from(back))) else {
                continue;
            };
            if let Some(r) = self.day(day).and_then(|f| f.get(component)) {
                out.merge(&r.seconds);
            }
        }
        out
    }

    /// Loads the day files from `first` to `last` (inclusive) and lends what figures are
    /// computed from: every component's memory and those days, as plain data that several
    /// threads can read at once (`History` itself holds the store, which is not shared).
    pub fn figures(&mut self, first: NaiveDate, last: NaiveDate) -> Figures<'_> {
        for day in first.iter_days().take_while(|d| *d <= last) {
            self.day(day);
        }
        Figures {
            components: &self.memory.components,
            days: &self.days,
        }
    }

    /// The rollup of one component on one day.
    pub fn day_rollup(&mut self, component: &str, day: NaiveDate) -> Option<DayRollup> {
        self.day(day).and_then(|f| f.get(component)).cloned()
    }

    /// Every file that cannot be read, for `upstate history check`.
    pub fn check_all(&mut self) -> Result<Vec<HistoryError>, HistoryError> {
        let mut bad = self.problems.clone();
        // What `repair` set aside is kept for inspection, not history.
        bad.retain(|e| !e.to_string().contains(SET_ASIDE));
        for key in self
            .store
            .list("daily")?
            .iter()
            .filter(|k| !k.contains(SET_ASIDE))
        {
            if let Err(e) = self.read_json::<DayFileOnDisk>(key) {
                bad.push(e);
            }
        }
        for key in self
            .store
            .list("raw")?
            .iter()
            .filter(|k| !k.contains(SET_ASIDE))
        {
            if let Err(e) = self.read_json::<serde_json::Value>(key) {
                bad.push(e);
            }
        }
        bad.sort_by_key(|e| e.to_string());
        bad.dedup_by_key(|e| e.to_string());
        Ok(bad)
    }

    /// Moves every unreadable file aside (`<name>.unreadable-<time>`, kept for inspection) and
    /// rebuilds each damaged daily rollup from the raw runs kept of its day, so the day is not
    /// restarted. Files from a newer format are left alone: they are readable, just not by this
    /// build.
    pub fn repair(&mut self) -> Result<Vec<Repaired>, HistoryError> {
        let mut keys = vec!["FORMAT".to_owned(), "memory.json".to_owned()];
        keys.extend(self.store.list("daily")?);
        keys.extend(self.store.list("raw")?);
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let mut out = Vec::new();
        for key in keys.into_iter().filter(|k| !k.contains(SET_ASIDE)) {
            let verdict = if key.starts_with("daily/") {
                self.read_json::<DayFileOnDisk>(&key).map(drop)
            } else if key == "memory.json" {
                self.read_json::<MemoryFile>(&key).map(drop)
            } else {
                self.read_json::<serde_json::Value>(&key).map(drop)
            };
            if let Err(HistoryError::Unreadable { .. }) = verdict {
                let aside = format!("{key}{SET_ASIDE}{stamp}");
                self.store.rename(&key, &aside)?;
                let rebuilt_from = match day_of_key(&key) {
                    Some(day) => self.rebuild_and_store(day)?,
                    None => None,
                };
                out.push(Repaired {
                    key,
                    aside,
                    rebuilt_from,
                });
            }
        }
        Ok(out)
    }
}

/// The infix of files `repair` set aside: `<name>.unreadable-<time>`.
const SET_ASIDE: &str = ".unreadable-";

/// One file [`History::repair`] dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The damaged file.
    pub key: String,
    /// Where it was moved (kept for inspection).
    pub aside: String,
    /// For a daily rollup rebuilt from raw observations: how many raw runs of its day.
    /// `None`: nothing to rebuild it from; the next run starts it afresh.
    pub rebuilt_from: Option<usize>,
}

/// The day of a `daily/YYYY-MM-DD.json` key.
fn day_of_key(key: &str) -> Option<NaiveDate> {
    let name = key.strip_prefix("daily/")?.strip_suffix(".json")?;
    NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()
}

/// Gzip-compresses `bytes` for `key`; a failure is an error, never an empty file.
fn gzip(key: &str, bytes: &[u8]) -> Result<Vec<u8>, HistoryError> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| HistoryError::Io {
            file: key.to_owned(),
            reason: format!("could not be compressed ({e}); nothing was written"),
        })
}

/// The bytes, decompressed if they are gzip (by their magic number); plain JSON passes through.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt gzip: {e}"))?;
    Ok(out)
}

fn day_key(day: NaiveDate) -> String {
    format!("daily/{}.json", day.format("%Y-%m-%d"))
}

/// `value` as JSON for `key`. A failure is an error, never a stand-in: writing `{}` over
/// memory.json would erase every component's history.
fn to_json<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, HistoryError> {
    serde_json::to_vec(value).map_err(|e| HistoryError::Io {
        file: key.to_owned(),
        reason: format!("could not be serialized ({e}); nothing was written"),
    })
}

/// Every component's memory and the day files loaded, borrowed from a [`History`]: see
/// [`History::figures`].
#[derive(Clone, Copy)]
pub struct Figures<'a> {
    components: &'a BTreeMap<String, ComponentMemory>,
    days: &'a BTreeMap<NaiveDate, Option<DayFile>>,
}

impl<'a> Figures<'a> {
    /// What history remembers of `component` (never seen: `None`).
    pub fn memory(&self, component: &str) -> Option<&'a ComponentMemory> {
        self.components.get(component)
    }

    /// `component`'s rollup of `day`, if that day was loaded and has one.
    pub fn day_rollup(&self, component: &str, day: NaiveDate) -> Option<&'a DayRollup> {
        self.days.get(&day)?.as_ref()?.get(component)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn open(dir: &std::path::Path) -> History {
        let retention = Retention {
            raw: chrono::Duration::days(7),
            max_gap: chrono::Duration::minutes(30),
        };
        History::open_read_only(Box::new(LocalStore::new(dir)), retention)
    }

    #[test]
    fn the_private_id_key_is_made_once_kept_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(open(dir.path()).private_id_key(false), None);
        assert!(
            !dir.path().join("site-key.json").exists(),
            "made only when needed"
        );
        let key = open(dir.path()).private_id_key(true).unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(open(dir.path()).private_id_key(true), Some(key.clone()));
        assert_eq!(open(dir.path()).private_id_key(false), Some(key));

        std::fs::write(
            dir.path().join("site-key.json"),
            b"{\"version\":1,\"private_id_key\":\"zz\"}",
        )
        .unwrap();
        let mut broken = open(dir.path());
        let this_run = broken.private_id_key(true).unwrap();
        assert_eq!(
            broken.private_id_key(true),
            Some(this_run),
            "one key for the whole run"
        );
        assert_eq!(broken.problems().len(), 1, "{:?}", broken.problems());
        assert_eq!(
            std::fs::read(dir.path().join("site-key.json")).unwrap(),
            b"{\"version\":1,\"private_id_key\":\"zz\"}",
            "an unreadable key is never overwritten"
        );

        // A shared store refreshed under this run (another run pushed first): the key the pages
        // were built with is written again, unless that run stored one.
        let dir = tempfile::tempdir().unwrap();
        let mut history = open(dir.path());
        let key = history.private_id_key(true).unwrap();
        std::fs::remove_file(dir.path().join(SITE_KEY)).unwrap();
        history.load();
        assert_eq!(open(dir.path()).private_id_key(false), Some(key.clone()));
        let theirs = SiteKeyFile::new(&[7u8; 32]);
        std::fs::write(
            dir.path().join(SITE_KEY),
            to_json(SITE_KEY, &theirs).unwrap(),
        )
        .unwrap();
        history.load();
        assert_eq!(history.private_id_key(true), Some(vec![7u8; 32]));
    }
}

#[cfg(test)]
mod serialization_tests {
    use super::*;

    /// A value whose serialization fails, as a future field type might.
    struct Unserializable;

    impl Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no"))
        }
    }

    #[test]
    fn a_serialization_failure_is_an_error_never_an_empty_object() {
        let err = to_json("memory.json", &Unserializable).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("memory.json: could not be serialized (no); nothing was written"),
            "{err}"
        );
    }
}
