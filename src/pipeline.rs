//! The stages wired together: what `upstate run`, `build` and `probe` do, minus the CLI.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::history::git::GitStore;
use crate::history::s3::S3Store;
use crate::history::{History, HistoryError, LocalStore, RawObservation, Retention, Store};
use crate::incident::{Incident, IncidentError};
use crate::model::{self, Counters, CurrentStatus, Snapshot};
use crate::probe::{self, Observation, RunOptions};
use crate::render::{self, OutputFile, RenderError, Renderer};
use crate::state::{self, Memory};

/// The incidents folder of a site.
pub fn incidents_dir(config: &Config) -> PathBuf {
    config.base_dir().join("incidents")
}

/// Parses every incident file, with every error.
pub fn load_incidents(config: &Config) -> (Vec<Incident>, Vec<IncidentError>) {
    let mut ids = config.component_ids();
    ids.extend(config.broken_component_ids.iter().map(String::as_str));
    crate::incident::load_dir(&incidents_dir(config), &ids)
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

/// Probes every component once.
pub async fn probe_all(config: &Config) -> Vec<Observation> {
    let options = RunOptions {
        concurrency: config.run.concurrency,
        retries: config.run.retries,
        // A progress line only where a person watches, and only when a run takes a while.
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr())
            && config.components.len() >= 50,
    };
    probe::run_all(&config.components, options).await
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
/// History records the state readers saw: open incidents and maintenance windows included, so
/// maintenance is left out of uptime and shown apart, and an incident's impact counts.
pub fn decide(
    config: &Config,
    observations: &[Observation],
    history: &History,
    incidents: &[Incident],
) -> Decided {
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
        let (shown, _) = crate::incident::lifecycle::apply(
            &component.id,
            decision.state,
            incidents,
            observation.at,
        );
        out.raw.push(RawObservation {
            observation: observation.clone(),
            state: shown,
            probed: (shown != decision.state).then_some(decision.state),
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

/// Builds the model and renders every output into memory.
pub fn render(
    config: &Config,
    history: &mut History,
    current: BTreeMap<String, CurrentStatus>,
    incidents: &[Incident],
    counters: Counters,
    now: DateTime<Utc>,
    stale_now: bool,
) -> Result<(Snapshot, Vec<OutputFile>), RenderError> {
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
    let mut renderer = Renderer::new(&config.base_dir(), &config.site.theme)?;
    renderer.set_globals(&snapshot);
    let mut files = renderer.render(&snapshot)?;
    files.extend(renderer.content_pages(&config.base_dir().join("content"))?);
    files.extend(static_files(&config.base_dir().join("static"), &files)?);
    let sitemap = renderer.sitemap(&snapshot, &files);
    files.push(sitemap);
    Ok((snapshot, files))
}

/// The site's `static/` folder, copied as it is (a Pages `CNAME`, images, a logo). A file the
/// build itself makes wins: `static/` cannot replace `status.json` or a page by accident.
///
/// A symbolic link out of `static/` (to `/etc/passwd`, a folder elsewhere, a loop) is left out
/// and the rest of the folder is still copied; [`input_problems`] reports it.
fn static_files(
    dir: &std::path::Path,
    built: &[OutputFile],
) -> Result<Vec<OutputFile>, RenderError> {
    let folder = crate::inputs::InputFolder::new(dir);
    let taken: std::collections::HashSet<&str> = built.iter().map(|f| f.path.as_str()).collect();
    let mut out = Vec::new();
    for file in folder.walk(dir).files {
        if taken.contains(file.relative.as_str()) {
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
        out.push(OutputFile {
            path: file.relative,
            bytes,
        });
    }
    Ok(out)
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

/// Writes the rendered files to the output folder, which must be upstate's own (see
/// [`crate::publish::guard`]): the build removes every file there it did not make.
pub fn write(config: &Config, files: &[OutputFile]) -> Result<PathBuf, RenderError> {
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
    render::write_site(files, &dir)?;
    Ok(dir)
}
