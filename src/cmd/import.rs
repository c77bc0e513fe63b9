//! `upstate import cstate DIR` / `upstate import statuspage FILE`: a peer's incidents become
//! incident files. One line per file written; every warning printed, and exit 3 when there are
//! any, because a warning means something was left out and a person should look before merging.

use std::path::Path;

use upstate::config::Config;
use upstate::import::{self, ImportError, Report};

use super::{Exit, load_config};

pub fn cstate(config: &Path, dir: &Path) -> Exit {
    run(config, |c| import::cstate(dir, c))
}

pub fn statuspage(config: &Path, file: &Path) -> Exit {
    run(config, |c| import::statuspage(file, c))
}

fn run(config_path: &Path, import: impl FnOnce(&Config) -> Result<Report, ImportError>) -> Exit {
    let Some(config) = load_config(config_path) else {
        return Exit::Invalid;
    };
    let report = match import(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}; nothing was imported.");
            return Exit::Fatal;
        }
    };
    for w in &report.written {
        out!("Wrote {} (from {})", w.path.display(), w.source);
    }
    for path in &report.unchanged {
        out!("Unchanged {} (already imported)", path.display());
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    out!(
        "Imported {} file{}{}; {} warning{}.",
        report.written.len(),
        plural(report.written.len()),
        if report.unchanged.is_empty() {
            String::new()
        } else {
            format!(" ({} already there)", report.unchanged.len())
        },
        report.warnings.len(),
        plural(report.warnings.len()),
    );
    if report.warnings.is_empty() {
        Exit::Success
    } else {
        Exit::Attention
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
