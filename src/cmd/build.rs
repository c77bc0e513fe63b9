//! `upstate build`: render the site from history and incidents, without probing.

use std::path::Path;

use upstate::history::History;
use upstate::pipeline;

use super::{Exit, load_config, print_incident_error};

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
    let current = if merge {
        let (observations, problems) = pipeline::merged_observations(&config, &history);
        for p in &problems {
            eprintln!("warning: {p}");
        }
        pipeline::decide(&config, &observations, &history, &incidents).current
    } else {
        pipeline::current_from_history(&config, &history)
    };
    let counters = history.counters();
    let now = chrono::Utc::now();
    let files = match pipeline::render(&config, &mut history, current, &incidents, counters, now) {
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
            if errors.is_empty() && history.problems().is_empty() {
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
