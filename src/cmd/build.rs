//! `upstate build`: render the site from history and incidents, without probing.

use std::collections::BTreeMap;
use std::path::Path;

use upstate::config::Config;
use upstate::history::History;
use upstate::incident::Incident;
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
    let (incidents, errors) = pipeline::load_incidents(&config);
    for e in &errors {
        print_incident_error(e);
    }
    let left_out = pipeline::input_problems(&config);
    for e in &left_out {
        print_input_error(e);
    }
    let store = match pipeline::store(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    // A shared store (git) is fetched first; one that cannot be read is an error, never a page
    // built from empty history.
    if let Err(e) = store.sync() {
        eprintln!("error: {e}");
        return Exit::Fatal;
    }
    let mut history = History::open_read_only(store, pipeline::retention(&config));
    let (current, silent, nothing_fresh) = if merge {
        merged_current(&config, &history, &incidents)
    } else {
        (
            pipeline::current_from_history(&config, &history),
            false,
            false,
        )
    };
    let counters = history.counters();
    let now = chrono::Utc::now();
    let files = match pipeline::render(
        &config,
        &mut history,
        current,
        &incidents,
        counters,
        now,
        nothing_fresh,
    ) {
        Ok((_, files)) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Fatal;
        }
    };
    for p in history.problems() {
        eprintln!("warning: {p}");
    }
    match pipeline::write(&config, &files) {
        Ok(dir) => {
            out!("Built {} files into {}.", files.len(), dir.display());
            if errors.is_empty() && left_out.is_empty() && history.problems().is_empty() && !silent
            {
                Exit::Success
            } else {
                Exit::Attention
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Fatal
        }
    }
}

/// The components' current status from the regions' latest reports (a problem or a silent
/// region is a warning); what no region saw freshly keeps what history last saw (or has no
/// data). Also whether a region was silent and whether nothing was fresh at all.
fn merged_current(
    config: &Config,
    history: &History,
    incidents: &[Incident],
) -> (BTreeMap<String, CurrentStatus>, bool, bool) {
    let merged = pipeline::merged_observations(config, history);
    for p in &merged.problems {
        eprintln!("warning: {p}");
    }
    for region in &merged.silent {
        eprintln!("warning: silent region: {region}; its components keep their last seen state.");
    }
    let mut current = pipeline::current_from_history(config, history);
    current.extend(pipeline::decide(config, &merged.observations, history, incidents).current);
    (
        current,
        !merged.silent.is_empty(),
        merged.observations.is_empty(),
    )
}
