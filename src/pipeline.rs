//! The stages wired together: what `upstate run`, `build` and `probe` do, minus the CLI.
//! [`run`] is the whole of `upstate run`; the command only parses, calls it and prints.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::history::git::GitStore;
use crate::history::s3::S3Store;
use crate::history::{History, HistoryError, LocalStore, RawObservation, Retention, Store};
use crate::incident::{Incident, IncidentError};
use crate::inputs::InputError;
use crate::model::{self, Counters, CurrentStatus, Snapshot};
use crate::probe::{self, Observation, RunOptions};
use crate::publish::{PublishReport, Target};
use crate::render::{self, RenderError, Renderer, SiteWriter};
use crate::state::{self, ComponentState, Memory, PublicState};

/// The incidents folder of a site (see [`Config::incidents_dir`]).
pub fn incidents_dir(config: &Config) -> PathBuf {
    config.incidents_dir()
}

/// Parses every incident file, with every error.
pub fn load_incidents(config: &Config) -> (Vec<Incident>, Vec<IncidentError>) {
    let mut ids = config.component_ids();
    ids.extend(config.broken_component_ids.iter().map(String::as_str));
    crate::incident::load_dir(&incidents_dir(config), &ids)
}

/// Parses every incident file; a file that has errors is published at the last valid version
/// history remembers ([`History::remembered_incidents`]), its errors still reported. Files an
/// earlier build parsed, unchanged since, come from the build folder's cache. With `texts`,
/// every file's text is read into [`crate::incident::Loaded::remember`] (for a run to save);
/// without (`build`, which writes no history), an unchanged file is not even read.
pub fn load_incidents_remembering(
    config: &Config,
    history: &mut History,
    texts: bool,
) -> crate::incident::Loaded {
    let ids = config.component_ids();
    let path = crate::site::cache_file(&output_dir(config), "incidents");
    let cache = crate::incident::cache::ParseCache::open(path);
    crate::incident::load_dir_cached(
        &incidents_dir(config),
        &ids,
        || history.remembered_incidents(),
        cache,
        texts,
    )
}

/// The configured history store.
pub fn store(config: &Config) -> Result<Box<dyn Store>, HistoryError> {
    store_at(config, config.history.store.as_str())
}

/// A store at `raw` (a folder relative to the config, `s3://bucket/prefix` with `[s3]`, or
/// `git+<repo-url>#<branch>`). A shared store must be synced before it is read: [`History::open`]
/// does it, or call [`Store::sync`].
pub fn store_at(config: &Config, raw: &str) -> Result<Box<dyn Store>, HistoryError> {
    if raw.starts_with("s3://") {
        return Ok(Box::new(S3Store::new(config, raw)?));
    }
    if raw.starts_with("git+") {
        return Ok(Box::new(GitStore::new(config, raw)?));
    }
    Ok(Box::new(LocalStore::new(config.resolve(raw))))
}

/// What `--merge` found in the regions' reports.
pub struct Merged {
    /// One per component some region reported freshly; the others are absent (no data).
    pub observations: Vec<Observation>,
    /// Regions that stopped reporting (`"eu: last report 42 min ago"`); empty when all are fresh.
    pub silent: Vec<String>,
    /// Reports that could not be read.
    pub problems: Vec<HistoryError>,
}

/// The latest reports of every region in the history store, merged per component.
pub fn merged_observations(config: &Config, history: &History) -> Merged {
    let (reports, problems) = crate::region::read_reports(history.store());
    let now = chrono::Utc::now();
    let stale_after = config.history.stale_after.chrono();
    Merged {
        observations: crate::region::merge(config, &reports, now, stale_after),
        silent: crate::region::silent_regions(&reports, now, stale_after),
        problems,
    }
}

/// Retention settings from the config.
pub fn retention(config: &Config) -> Retention {
    Retention {
        raw: config.history.raw_retention.chrono(),
        max_gap: config.history.max_gap.chrono(),
    }
}

/// Probes every component once, telling `progress` as probes finish.
pub async fn probe_all(
    config: &Config,
    progress: Option<crate::probe::Progress>,
) -> Vec<Observation> {
    probe_scheduled(config, progress, probe::Schedule::default()).await
}

/// [`probe_all`] in `schedule`'s order.
pub async fn probe_scheduled(
    config: &Config,
    progress: Option<crate::probe::Progress>,
    schedule: probe::Schedule,
) -> Vec<Observation> {
    let options = RunOptions {
        concurrency: config.run.concurrency,
        retries: config.run.retries,
        progress,
    };
    probe::run_scheduled(&config.components, options, schedule).await
}

/// Positions of the components that took longest to check last run, longest first (those
/// never checked, or checked before durations were kept, after them in config order): see
/// [`probe::Schedule::start_order`].
pub fn slowest_first(config: &Config, history: &History) -> Vec<usize> {
    let mut order: Vec<(usize, u64)> = config
        .components
        .iter()
        .enumerate()
        .map(|(n, c)| (n, history.last_took_ms(&c.id).unwrap_or(0)))
        .collect();
    // Stable: equal durations keep config order.
    order.sort_by_key(|&(_, took)| std::cmp::Reverse(took));
    order.into_iter().map(|(n, _)| n).collect()
}

/// The live-traffic counters, or all-null when `[snapshot]` is absent.
pub async fn counters(config: &Config) -> Counters {
    match &config.snapshot {
        Some(s) => probe::counters::collect(s).await,
        None => Counters::default(),
    }
}

/// Decisions for one run.
pub struct Decided {
    pub raw: Vec<RawObservation>,
    pub rules: BTreeMap<String, Memory>,
    pub current: BTreeMap<String, CurrentStatus>,
}

/// Turns observations into states, using (and advancing) what history remembers.
///
/// History records what the probes measured and nothing else: incidents and maintenance are
/// applied when figures are computed (`model::build`), so correcting or deleting an incident
/// file corrects every figure.
pub fn decide(config: &Config, observations: &[Observation], history: &History) -> Decided {
    let mut out = Decided {
        raw: Vec::with_capacity(observations.len()),
        rules: BTreeMap::new(),
        current: BTreeMap::new(),
    };
    let by_id: BTreeMap<&str, &Observation> = observations
        .iter()
        .map(|o| (o.component.as_str(), o))
        .collect();
    // By id, not by position: a merge leaves out the components no region saw.
    for component in &config.components {
        let Some(observation) = by_id.get(component.id.as_str()).copied() else {
            continue;
        };
        let memory = history.memory(&component.id).rules.advance(
            component,
            &observation.outcome,
            observation.at,
        );
        let decision = state::decide(component, &observation.outcome, &memory, observation.at);
        out.current.insert(
            component.id.clone(),
            CurrentStatus {
                state: decision.state,
                detail: decision.detail,
                latency_ms: observation.outcome.latency_ms,
                last_checked_at: Some(observation.at),
            },
        );
        out.raw.push(RawObservation {
            observation: observation.clone(),
            state: decision.state,
            probed: None,
        });
        out.rules.insert(component.id.clone(), memory);
    }
    out
}

/// Current status as history last saw it (for `build` without probing).
pub fn current_from_history(config: &Config, history: &History) -> BTreeMap<String, CurrentStatus> {
    config
        .components
        .iter()
        .filter_map(|c| {
            let m = history.memory(&c.id);
            Some((
                c.id.clone(),
                CurrentStatus {
                    // The probe's own state: the model applies today's incidents and windows.
                    state: m.last_probed_state.or(m.last_state)?,
                    detail: m.last_detail,
                    latency_ms: m.last_latency_ms,
                    last_checked_at: m.last_at,
                },
            ))
        })
        .collect()
}

/// What a build left in the output folder.
#[derive(Debug, Clone)]
pub struct Built {
    /// The output folder.
    pub dir: PathBuf,
    /// Every file of the site, by relative `/` path, in the order made.
    pub files: Vec<String>,
    /// Pages rendered and kept, files written and removed.
    pub stats: render::WriteStats,
}

/// Builds the model and renders every output into the output folder, which must be upstate's
/// own (see [`crate::publish::guard`]): the build removes every file there it did not make.
///
/// Files are written as they are rendered, and a page whose inputs did not change since the
/// last build is kept without rendering (see `render::SiteWriter`).
pub fn render(
    config: &Config,
    history: &mut History,
    current: BTreeMap<String, CurrentStatus>,
    incidents: &[Incident],
    counters: Counters,
    now: DateTime<Utc>,
    stale_now: bool,
) -> Result<(Snapshot, Built), RenderError> {
    // The theme first: a template that does not parse leaves the output folder untouched. Then
    // the folder is checked and marked, so the builds after it can keep their cache there.
    let clock = StageClock::start();
    let mut renderer = Renderer::new(&config.base_dir(), &config.site.theme)?;
    let dir = prepare_output(config)?;
    crate::site::forget_old_caches(&dir);
    let snapshot = model::build(
        model::Inputs {
            config,
            current,
            incidents,
            counters,
            now,
            stale_now,
        },
        history,
    );
    clock.lap("model built");
    renderer.set_globals(&snapshot)?;
    let mut out = SiteWriter::open(&dir)?;
    renderer.render(&snapshot, &mut out)?;
    clock.lap("pages rendered");
    renderer.content_pages(&config.base_dir().join("content"), &mut out)?;
    static_files(&config.base_dir().join("static"), &mut out)?;
    renderer.sitemap(&snapshot, &mut out)?;
    let (files, stats) = out.finish()?;
    clock.lap("build folder finished");
    Ok((snapshot, Built { dir, files, stats }))
}

/// The site's `static/` folder, copied as it is (a Pages `CNAME`, images, a logo). A file the
/// build itself makes wins: `static/` cannot replace `status.json` or a page by accident.
///
/// A symbolic link out of `static/` (to `/etc/passwd`, a folder elsewhere, a loop) is left out
/// and the rest of the folder is still copied; [`input_problems`] reports it.
fn static_files(dir: &std::path::Path, out: &mut SiteWriter) -> Result<(), RenderError> {
    let folder = crate::inputs::InputFolder::new(dir);
    for file in folder.walk(dir).files {
        // `static/.upstate-cache/…` or a marker would land in the build's own plumbing (a cache
        // that the next build trusts): never copied.
        if crate::site::is_plumbing(&file.relative) {
            tracing::warn!(file = %file.relative, "static/ file ignored: the name is the build folder's own.");
            continue;
        }
        if out.contains(&file.relative) {
            tracing::warn!(file = %file.relative, "static/ file ignored: the build makes a file with this name.");
            continue;
        }
        let bytes = match folder.read(&file.path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => continue,
            Err(e) => {
                return Err(RenderError::Io {
                    path: file.path.display().to_string(),
                    reason: e.reason(),
                });
            }
        };
        out.put(&file.relative, None, &bytes)?;
    }
    Ok(())
}

/// Every site input that `build` and `run` leave out (a symbolic link out of its folder, a
/// linked folder, a loop) in `content/`, `static/` and the theme's folder, for `check` to fail on
/// and `build`/`run` to report. Incident files report theirs through [`load_incidents`].
pub fn input_problems(config: &Config) -> Vec<crate::inputs::InputError> {
    crate::inputs::refused(&config.base_dir(), &config.site.theme)
}

/// Where `build` writes the site.
pub fn output_dir(config: &Config) -> PathBuf {
    crate::config::places::output_dir(config)
}

/// Checks that the output folder is upstate's own (or new) and marks it, before anything is
/// written there.
fn prepare_output(config: &Config) -> Result<PathBuf, RenderError> {
    let dir = output_dir(config);
    let refused = |e: crate::publish::guard::GuardError| RenderError::Io {
        path: dir.display().to_string(),
        reason: format!("{e}; {}", e.help()),
    };
    crate::publish::guard::check_place(config, "output").map_err(refused)?;
    crate::publish::guard::check_ours(&dir, "output").map_err(refused)?;
    // The marker first: a build killed half-way leaves a folder the next one recognises.
    crate::publish::guard::mark(&dir).map_err(|e| RenderError::Io {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(dir)
}

/// Something `upstate run` wants the operator to see, in the order it happened. The pipeline
/// does not print; the command decides how (lines on stderr).
#[derive(Debug)]
pub enum Notice<'a> {
    /// An incident file that was left out of this run.
    Incident(&'a IncidentError),
    /// An input file or folder that was left out of this run.
    Input(&'a InputError),
    /// Something failed; the run goes on where it can.
    Error(String),
    /// Something did not work that does not fail the run (a notification, say).
    Warning(String),
}

/// Why a run ended without a published page; the reason was reported as a [`Notice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunFailure {
    /// The publish target or the history store is set up wrong: nothing was touched.
    Invalid,
    /// History could not be opened or saved, or the site was not published.
    Fatal,
}

/// Components by the state the page shows, in `status.json`'s words (incidents applied, a
/// component never observed counted as "no data"): the summary and the page cannot disagree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShownCounts {
    pub operational: usize,
    pub degraded: usize,
    pub down: usize,
    pub no_data: usize,
}

impl ShownCounts {
    /// Counts the shown states (`None` = no data).
    pub fn of(shown: &[Option<ComponentState>]) -> Self {
        let mut counts = Self::default();
        for state in shown {
            match state.map(|_| state::words(*state).public) {
                Some(PublicState::Operational) => counts.operational += 1,
                Some(PublicState::Degraded) => counts.degraded += 1,
                Some(PublicState::Down) => counts.down += 1,
                None => counts.no_data += 1,
            }
        }
        counts
    }

    /// Every component counted.
    pub fn total(&self) -> usize {
        self.operational + self.degraded + self.down + self.no_data
    }
}

/// What a run that published came to.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The publish target's name (a folder, `s3://…`, a git remote without credentials).
    pub target: String,
    /// Files in the built site.
    pub files: usize,
    /// What the publish wrote and removed.
    pub publish: PublishReport,
    /// The components as the page shows them.
    pub counts: ShownCounts,
    /// What did not stop the publish but needs someone's attention.
    pub attention: Vec<String>,
}

/// `upstate run`: probe (or, with `merge`, read the regions' observations) → record history →
/// build → publish, with notifications sent while the publish runs.
///
/// Owns the ordering and the history lock: history is opened (waiting for an overlapping run)
/// before anything is observed, and finished (saved, pushed for a shared store, unlocked) after
/// the publish, whatever the publish came to, so a run's observations are never lost.
pub async fn run(
    config: &Config,
    merge: bool,
    notice: &mut (dyn FnMut(Notice<'_>) + Send),
    progress: Option<crate::probe::Progress>,
) -> Result<RunReport, RunFailure> {
    let mut attention = Vec::new();
    for e in &input_problems(config) {
        notice(Notice::Input(e));
        attention.push(e.to_string());
    }
    let clock = StageClock::start();
    let (target, mut history) = open(config, notice).await?;
    clock.lap("history opened");
    // Read under the lock: the last valid version of a file with errors is in history.
    let loaded = load_incidents_remembering(config, &mut history, true);
    report_incident_errors(&loaded, &mut attention, notice);
    let incidents = loaded.incidents;
    clock.lap("incidents loaded");
    // While the probes run, the target gets ready to publish (see `Target::prepare`: it yields
    // the processor to them). A merge reads files and does not wait: nothing to fill.
    let build_dir = output_dir(config);
    let prepare = async {
        if !merge {
            target.prepare(&build_dir).await;
        }
    };
    let (observed, ()) = tokio::join!(
        observe(config, &history, merge, &mut attention, notice, progress),
        prepare
    );
    clock.lap("observed");
    release_freed_memory();
    let now = Utc::now();
    // Components this run did not observe (a merge with silent regions) keep what history last
    // saw, with its time, so the page shows them stale rather than guessed.
    let previous = current_from_history(config, &history);
    let mut decided = decide(config, &observed.observations, &history);
    for (id, status) in previous {
        decided.current.entry(id).or_insert(status);
    }
    history.set_counters(observed.counters.clone());
    if let Err(e) = history.record(now, &decided.raw, &decided.rules) {
        notice(Notice::Error(format!("recording history failed: {e}")));
        attention.push("history was not recorded".to_owned());
    }
    if let Err(e) = history.remember_incidents(loaded.remember.clone()) {
        notice(Notice::Error(e.to_string()));
        attention.push(e.to_string());
    }
    for p in history.problems() {
        notice(Notice::Error(p.to_string()));
        attention.push(p.to_string());
    }
    clock.lap("history recorded");
    let site = Site {
        incidents: &incidents,
        now,
        nothing_fresh: observed.nothing_fresh,
    };
    let published = publish_site(
        config,
        &mut history,
        decided.current,
        &site,
        target.as_ref(),
        notice,
    )
    .await;
    clock.lap("built and published");
    finish(config, history, &observed, &loaded.remember, now, notice)?;
    clock.lap("history saved");
    let (files, publish, shown) = published.ok_or(RunFailure::Fatal)?;
    Ok(RunReport {
        target: target.name(),
        files,
        publish,
        counts: ShownCounts::of(&shown),
        attention,
    })
}

/// Reports every incident file error as a notice and names each in `attention` (the `--json`
/// summary) with its file, line and field, and what the run did with the file: published at its
/// last valid version, or left out when there is none.
fn report_incident_errors(
    loaded: &crate::incident::Loaded,
    attention: &mut Vec<String>,
    notice: &mut (dyn FnMut(Notice<'_>) + Send),
) {
    for e in &loaded.errors {
        notice(Notice::Incident(e));
        let kept = loaded.kept.contains(&e.file);
        let field = e
            .field
            .as_ref()
            .map(|f| format!(" [{f}]"))
            .unwrap_or_default();
        attention.push(format!(
            "{}:{}:{field} {}; {}",
            crate::text::printable(&e.file.display().to_string()),
            e.line,
            e.message,
            if kept {
                "its last valid version stays published"
            } else {
                "the file was left out"
            }
        ));
    }
    for file in &loaded.kept {
        notice(Notice::Warning(format!(
            "{} has errors; its last valid version stays published until they are fixed.",
            crate::text::printable(&file.display().to_string())
        )));
    }
}

/// The publish target and the history store, opened: waits for an overlapping run to finish
/// rather than interleaving with it. A shared store (git) is fetched here: one that cannot be
/// read stops the run before anything is published.
async fn open(
    config: &Config,
    notice: &mut (dyn FnMut(Notice<'_>) + Send),
) -> Result<(Box<dyn Target>, History), RunFailure> {
    let target = crate::publish::target(config).map_err(|e| {
        notice(Notice::Error(e.to_string()));
        RunFailure::Invalid
    })?;
    let store = store(config).map_err(|e| {
        notice(Notice::Error(e.to_string()));
        RunFailure::Invalid
    })?;
    let retention = retention(config);
    match tokio::task::spawn_blocking(move || History::open(store, retention)).await {
        Ok(Ok(history)) => Ok((target, history)),
        Ok(Err(e)) => {
            notice(Notice::Error(e.to_string()));
            Err(RunFailure::Fatal)
        }
        Err(e) => {
            notice(Notice::Error(format!("opening history crashed: {e}")));
            Err(RunFailure::Fatal)
        }
    }
}

/// This run's observations and counters.
struct Observed {
    observations: Vec<Observation>,
    counters: Counters,
    /// A merge found no region's observations at all.
    nothing_fresh: bool,
}

/// Probes every component, or with `merge` reads what the regions observed; the live-traffic
/// counters are queried either way.
async fn observe(
    config: &Config,
    history: &History,
    merge: bool,
    attention: &mut Vec<String>,
    notice: &mut (dyn FnMut(Notice<'_>) + Send),
    progress: Option<crate::probe::Progress>,
) -> Observed {
    if !merge {
        let schedule = probe::Schedule {
            start_order: slowest_first(config, history),
        };
        let (observations, counters) = tokio::join!(
            probe_scheduled(config, progress, schedule),
            counters(config)
        );
        return Observed {
            observations,
            counters,
            nothing_fresh: false,
        };
    }
    let merged = merged_observations(config, history);
    for p in &merged.problems {
        notice(Notice::Error(p.to_string()));
        attention.push(p.to_string());
    }
    for region in &merged.silent {
        notice(Notice::Error(format!(
            "silent region: {region}; its components keep their last seen state."
        )));
        attention.push(format!("silent region: {region}"));
    }
    Observed {
        nothing_fresh: merged.observations.is_empty(),
        observations: merged.observations,
        counters: counters(config).await,
    }
}

/// What the site is built from besides history and the current states.
struct Site<'a> {
    incidents: &'a [Incident],
    now: DateTime<Utc>,
    nothing_fresh: bool,
}

/// Renders and writes the site, then publishes it while notifications go out: neither waits for
/// the other, and a receiver that hangs or fails never fails the run. Returns the number of
/// files, what the publish did and each component's shown state (`None` = no data); `None`
/// when the site was not published (the reason was reported).
async fn publish_site(
    config: &Config,
    history: &mut History,
    current: BTreeMap<String, CurrentStatus>,
    site: &Site<'_>,
    target: &dyn Target,
    notice: &mut (dyn FnMut(Notice<'_>) + Send),
) -> Option<(usize, PublishReport, Vec<Option<ComponentState>>)> {
    // Pages follow what the probes saw, not a declared incident's impact.
    let probed: BTreeMap<String, ComponentState> = current
        .iter()
        .map(|(id, status)| (id.clone(), status.state))
        .collect();
    // This run's counters, set on the history before it recorded.
    let counters = history.counters();
    let started = std::time::Instant::now();
    let built = render(
        config,
        history,
        current,
        site.incidents,
        counters,
        site.now,
        site.nothing_fresh,
    );
    let (snapshot, built) = match built {
        Ok(built) => built,
        Err(e) => {
            notice(Notice::Error(format!("building the site failed: {e}")));
            return None;
        }
    };
    tracing::debug!(
        files = built.files.len(),
        rendered = built.stats.rendered,
        written = built.stats.written,
        took_ms = started.elapsed().as_millis() as u64,
        "site built"
    );
    let dir = built.dir;
    let mut notify_memory = history.notify_memory();
    let plan = crate::notify::plan(&snapshot, &probed, &mut notify_memory);
    let (published, (_, problems)) = tokio::join!(
        target.publish(&dir),
        crate::notify::deliver(config, &plan, &mut notify_memory)
    );
    for p in &problems {
        notice(Notice::Warning(p.to_string()));
    }
    if let Err(e) = history.save_notify_memory(notify_memory) {
        notice(Notice::Warning(format!(
            "could not record sent notifications: {e}"
        )));
    }
    let shown = snapshot.components.iter().map(|c| c.state).collect();
    match published {
        Ok(report) => Some((built.files.len(), report, shown)),
        Err(e) => {
            notice(Notice::Error(e.to_string()));
            None
        }
    }
}

/// Keeps this run's observations whatever the publish came to: a shared store (git) is pushed
/// now. If another run pushed first, the same observations are decided and recorded again on
/// top of its history (the page already published stays as rendered). Releases the lock.
fn finish(
    config: &Config,
    mut history: History,
    observed: &Observed,
    remember: &BTreeMap<String, String>,
    now: DateTime<Utc>,
    notice: &mut (dyn FnMut(Notice<'_>) + Send),
) -> Result<(), RunFailure> {
    let notify_memory = history.notify_memory();
    let finished = tokio::task::block_in_place(|| {
        history.finish(|fresh| {
            let decided = decide(config, &observed.observations, fresh);
            fresh.set_counters(observed.counters.clone());
            fresh.record(now, &decided.raw, &decided.rules)?;
            fresh.remember_incidents(remember.clone())?;
            fresh.save_notify_memory(notify_memory.clone())
        })
    });
    drop(history);
    finished.map_err(|e| {
        notice(Notice::Error(format!("saving history failed: {e}")));
        RunFailure::Fatal
    })
}

/// Hands the memory freed after the probe round back to the system before the site is built.
///
/// Why: thousands of probe tasks allocate on every runtime thread, and glibc keeps what they
/// free in per-thread arenas; the build's allocations then came on top of it, so a run's peak
/// was the probes' and the build's together (170 MB for 2,000 components) instead of the
/// larger of the two. The `upstate` binary allocates through mimalloc (`main.rs`), which
/// returns freed pages by itself; what is left to trim there is what C code (TLS) allocated
/// through glibc. A program that uses this library with the system allocator gets the rest.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Logs (at debug level) how long each stage of a run took, for an operator asking where a slow
/// run's time went: `UPSTATE_LOG=debug upstate run`.
struct StageClock {
    started: std::time::Instant,
    last: std::cell::Cell<std::time::Instant>,
}

impl StageClock {
    fn start() -> Self {
        let now = std::time::Instant::now();
        Self {
            started: now,
            last: std::cell::Cell::new(now),
        }
    }

    fn lap(&self, stage: &str) {
        let now = std::time::Instant::now();
        let took = now - self.last.replace(now);
        tracing::debug!(
            stage,
            took_ms = took.as_millis() as u64,
            since_start_ms = (now - self.started).as_millis() as u64,
            "run stage done"
        );
    }
}
