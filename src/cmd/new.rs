//! `upstate new incident|maintenance`: write a valid file with the right name.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use upstate::{incident, pipeline};

use super::{Exit, load_config, print_incident_error};

fn write(config_path: &Path, date: DateTime<Utc>, title: &str, body: String) -> Exit {
    let Some(config) = load_config(config_path) else {
        return Exit::Invalid;
    };
    let dir = pipeline::incidents_dir(&config);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return Exit::Fatal;
    }
    let base = format!(
        "{}-{}",
        date.format("%Y-%m-%d"),
        upstate::import::slug(title)
    );
    let mut path: PathBuf = dir.join(format!("{base}.md"));
    let mut n = 2;
    // A name taken by anything, a dangling link included: writing through a link a pull
    // request left in incidents/ would create its target, wherever it points.
    while std::fs::symlink_metadata(&path).is_ok() {
        path = dir.join(format!("{base}-{n}.md"));
        n += 1;
    }
    // Validate before writing: a file `new` wrote must pass `check`.
    if let Err(errors) = incident::parse(&path, &body, &config.component_ids()) {
        for e in &errors {
            print_incident_error(e);
        }
        return Exit::Invalid;
    }
    if let Err(e) = std::fs::write(&path, body) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return Exit::Fatal;
    }
    out!("Wrote {}", path.display());
    Exit::Success
}

pub fn incident(config: &Path, title: &str, components: &[String], severity: &str) -> Exit {
    let now = Utc::now();
    let at = now.format("%Y-%m-%dT%H:%M:%SZ");
    let body = format!(
        "---\ntitle: {}\nkind: incident\nseverity: {severity}\nstatus: investigating\ncomponents: [{}]\ndiscovered_at: {at}\nprivate: false\nupdates:\n  - at: {at}\n    status: investigating\n    message: We are investigating.\n---\n\n## What happened\n\n## Root cause\n\n## What we changed\n",
        upstate::text::yaml_string(title),
        components.join(", ")
    );
    write(config, now, title, body)
}

pub fn maintenance(
    config: &Path,
    title: &str,
    starts: &str,
    ends: &str,
    components: &[String],
) -> Exit {
    let Ok(start) = DateTime::parse_from_rfc3339(starts) else {
        eprintln!("error: --starts `{starts}` is not RFC 3339 (e.g. 2026-12-01T02:00:00Z)");
        return Exit::Invalid;
    };
    let body = format!(
        "---\ntitle: {}\nkind: maintenance\ncomponents: [{}]\nstarts_at: {starts}\nends_at: {ends}\n---\n\nWhat readers should expect during the window.\n",
        upstate::text::yaml_string(title),
        components.join(", ")
    );
    write(config, start.with_timezone(&Utc), title, body)
}
