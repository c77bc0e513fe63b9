//! `upstate run`: probe → record history → build → publish. Exits 0 when the page was
//! published, whatever the components' states; 3 when it was published but something needs
//! attention; 1 when it could not publish; 2 when the config is invalid.
//!
//! The pipeline (`pipeline::run`) owns the ordering and the history lock; this command parses,
//! calls it, and prints what it reports.

use std::path::Path;

use upstate::pipeline::{self, Notice, RunFailure, RunReport};

use super::{Exit, load_config, print_incident_error, print_input_error};

pub async fn run(path: &Path, json: bool, merge: bool) -> Exit {
    let Some(config) = load_config(path) else {
        return Exit::Invalid;
    };
    let report = match pipeline::run(
        &config,
        merge,
        &mut print_notice,
        super::progress_line(config.components.len()),
    )
    .await
    {
        Ok(report) => report,
        Err(RunFailure::Invalid) => return Exit::Invalid,
        Err(RunFailure::Fatal) => return Exit::Fatal,
    };
    super::send_heartbeat(&config).await;
    if json {
        print_json(&report);
    } else {
        print_text(&report, merge);
    }
    if report.attention.is_empty() {
        Exit::Success
    } else {
        Exit::Attention
    }
}

/// Each notice as the lines the other commands print for the same problem.
fn print_notice(notice: Notice<'_>) {
    match notice {
        Notice::Incident(e) => print_incident_error(e),
        Notice::Input(e) => print_input_error(e),
        Notice::Error(message) => eprintln!("error: {message}"),
        Notice::Warning(message) => eprintln!("warning: {message}"),
    }
}

/// `--json`: one object on stdout.
fn print_json(report: &RunReport) {
    let c = &report.counts;
    let summary = serde_json::json!({
        "published_to": report.target,
        "files": report.files,
        "written": report.publish.uploaded,
        "deleted": report.publish.deleted,
        "unchanged": report.publish.unchanged,
        "components": {"operational": c.operational, "degraded": c.degraded, "down": c.down, "no_data": c.no_data},
        "attention": report.attention,
    });
    // `{:#}` is a Value's pretty JSON, which cannot fail (never an empty summary).
    out!("{summary:#}");
}

/// Two lines (three with a local page): the components, the publish, where to look.
fn print_text(report: &RunReport, merge: bool) {
    let c = &report.counts;
    out!(
        "{} {} components: {} operational, {} degraded, {} down{}.",
        if merge { "Merged" } else { "Probed" },
        c.total(),
        c.operational,
        c.degraded,
        c.down,
        if c.no_data > 0 {
            format!(", {} no data", c.no_data)
        } else {
            String::new()
        }
    );
    out!(
        "{}",
        super::published_summary(&report.target, report.files, &report.publish)
    );
    let index = Path::new(&report.target).join("index.html");
    if index.is_file() {
        let shown = std::fs::canonicalize(&index).unwrap_or(index);
        out!("Page: file://{}", shown.display());
    }
}
