//! `upstate build`: render the site from history and incidents, without probing.

use std::collections::BTreeMap;
use std::path::Path;

use upstate::config::Config;
use upstate::history::History;
use upstate::model::CurrentStatus;
use upstate::pipeline;

use super::{Exit, load_config, print_incident_error, print_input_error};

pub fn run(path: &Path) -> Exit {
    run_with(path, false)
}

/// `build`, or with `merge`, the merged latest reports of every region instead of the last run.
pub fn run_with(path: &Path, merge: bool) -> Exit {
    let Some(config) = load_config(path) else {
        return Exit::Invalid;
    };
    let left_out = pipeline::input_problems(&config);
    for e in &left_out {
        print_input_error(e);
    }
    let mut history = match open_history(&config) {
        Ok(history) => history,
        Err(exit) => return exit,
    };
    // A file with errors is shown at the last valid version a run remembered.
    let loaded = pipeline::load_incidents_remembering(&config, &mut history, false);
    for e in &loaded.errors {
        print_incident_error(e);
    }
    let (incidents, errors) = (loaded.incidents, loaded.errors);
    let (current, silent, nothing_fresh) = if merge {
        merged_current(&config, &history)
    } else {
        (
            pipeline::current_from_history(&config, &history),
            false,
            false,
        )
    };
    let counters = history.counters();
    let now = match now() {
        Ok(now) => now,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let built = match pipeline::render(
        &config,
        &mut history,
        current,
        &incidents,
        counters,
        now,
        nothing_fresh,
    ) {
        Ok((snapshot, built)) => {
            // The process ends with this command: freeing 10,000 incidents' views piece by
            // piece was a tenth of a build that changed nothing.
            std::mem::forget(snapshot);
            built
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Fatal;
        }
    };
    for p in history.problems() {
        eprintln!("warning: {p}");
    }
    out!(
        "Built {} files into {}.",
        built.files.len(),
        built.dir.display()
    );
    tracing::info!(
        rendered = built.stats.rendered,
        kept = built.stats.kept,
        written = built.stats.written,
        removed = built.stats.removed,
        "Site built."
    );
    // As the snapshot above: the command's last use of them, and the process ends.
    std::mem::forget(incidents);
    if errors.is_empty() && left_out.is_empty() && history.problems().is_empty() && !silent {
        Exit::Success
    } else {
        Exit::Attention
    }
}

/// History, read only. A shared store (git) is fetched first; one that cannot be read is an
/// error, never a page built from empty history.
fn open_history(config: &upstate::config::Config) -> Result<History, Exit> {
    let store = pipeline::store(config).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Invalid
    })?;
    if let Err(e) = store.sync() {
        eprintln!("error: {e}");
        return Err(Exit::Fatal);
    }
    Ok(History::open_read_only(store, pipeline::retention(config)))
}

/// The build's "now": the clock, or `UPSTATE_NOW` (RFC 3339) when set, so a build can be
/// reproduced exactly (the incremental-build tests compare two builds byte for byte, and
/// test time passing a maintenance window's start without waiting for it).
fn now() -> Result<chrono::DateTime<chrono::Utc>, String> {
    match std::env::var("UPSTATE_NOW") {
        Ok(raw) => chrono::DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.to_utc())
            .map_err(|e| {
                format!(
                    "UPSTATE_NOW={raw:?} is not an RFC 3339 time ({e}); unset it to use the clock"
                )
            }),
        Err(std::env::VarError::NotPresent) => Ok(chrono::Utc::now()),
        Err(e) => Err(format!("UPSTATE_NOW: {e}")),
    }
}

/// The components' current status from the regions' latest reports (a problem or a silent
/// region is a warning); what no region saw freshly keeps what history last saw (or has no
/// data). Also whether a region was silent and whether nothing was fresh at all.
fn merged_current(
    config: &Config,
    history: &History,
) -> (BTreeMap<String, CurrentStatus>, bool, bool) {
    let merged = pipeline::merged_observations(config, history);
    for p in &merged.problems {
        eprintln!("warning: {p}");
    }
    for region in &merged.silent {
        eprintln!("warning: silent region: {region}; its components keep their last seen state.");
    }
    let mut current = pipeline::current_from_history(config, history);
    current.extend(pipeline::decide(config, &merged.observations, history).current);
    (
        current,
        !merged.silent.is_empty(),
        merged.observations.is_empty(),
    )
}
