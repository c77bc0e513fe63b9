//! `upstate history check` and `upstate history repair`.

use std::path::Path;

use upstate::history::History;
use upstate::pipeline;

use super::{Exit, load_config};

fn open(path: &Path) -> Result<History, Exit> {
    let config = load_config(path).ok_or(Exit::Invalid)?;
    let store = pipeline::store(&config).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Invalid
    })?;
    History::open(store, pipeline::retention(&config)).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Fatal
    })
}

pub fn check(path: &Path) -> Exit {
    let mut history = match open(path) {
        Ok(h) => h,
        Err(e) => return e,
    };
    match history.check_all() {
        Ok(bad) if bad.is_empty() => {
            out!("History OK.");
            Exit::Success
        }
        Ok(bad) => {
            for e in &bad {
                eprintln!("error: {e}");
            }
            Exit::Attention
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Fatal
        }
    }
}

pub fn repair(path: &Path) -> Exit {
    let mut history = match open(path) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let repaired = history.repair().and_then(|moved| {
        // A shared store (git) is pushed; on a race, the fresh copy is repaired again.
        history.finish(|fresh| fresh.repair().map(drop))?;
        Ok(moved)
    });
    match repaired {
        Ok(files) if files.is_empty() => {
            out!("Nothing to repair.");
            Exit::Success
        }
        Ok(files) => {
            for f in &files {
                match f.rebuilt_from {
                    Some(runs) => out!(
                        "Rebuilt {} from the {runs} raw run(s) kept of its day; the damaged copy is kept as {}.",
                        f.key,
                        f.aside
                    ),
                    None => out!("Moved aside: {}", f.aside),
                }
            }
            if files.iter().any(|f| f.rebuilt_from.is_none()) {
                out!(
                    "The next run starts the moved files afresh (no raw observations of them are kept); the moved copies are kept for inspection."
                );
            }
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Fatal
        }
    }
}
