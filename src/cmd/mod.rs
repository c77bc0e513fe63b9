//! One file per command; each is thin: load, call the stages, report.

/// `println!` that treats a closed stdout (`upstate probe | head`) as the reader being done,
/// not as a crash (ripgrep's rule: a broken pipe is success).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

mod build;
mod check;
mod history;
mod import;
mod init;
mod new;
mod notify;
mod probe;
mod publish;
mod run;
mod serve;

use std::process::ExitCode;

use upstate::config::{Config, ConfigError};
use upstate::incident::IncidentError;

use crate::cli::{Command, HistoryCommand, ImportCommand, NewCommand, NotifyCommand};

/// Documented exit codes (README "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done; for `run`, the page was published.
    Success = 0,
    /// Could not do the job (e.g. the publish failed); the reason was printed.
    Fatal = 1,
    /// The config or an incident file is invalid; every error was printed.
    Invalid = 2,
    /// Done and published, but something needs attention (an unreadable history file, an
    /// invalid incident file left out); printed with the file's name.
    Attention = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Runs a command.
pub async fn dispatch(command: Command) -> Exit {
    match command {
        Command::Init { dir, force } => init::run(&dir, force),
        Command::Check {
            site,
            strict,
            format,
            json,
        } => check::run(
            &site.config,
            strict,
            if json {
                crate::cli::CheckFormat::Json
            } else {
                format
            },
        ),
        Command::Probe {
            site,
            json,
            region,
            shard,
            out,
        } => match region {
            Some(region) => {
                probe::region(
                    &site.config,
                    &region,
                    &shard,
                    out.as_deref().unwrap_or_default(),
                )
                .await
            }
            None => probe::run(&site.config, json).await,
        },
        Command::Build { site, merge } => build::run_with(&site.config, merge),
        Command::Publish(site) => publish::run(&site.config).await,
        Command::Run { site, json, merge } => run::run(&site.config, json, merge).await,
        Command::Serve { site, port, bind } => serve::run(&site.config, bind, port).await,
        Command::New { what } => match what {
            NewCommand::Incident {
                title,
                components,
                severity,
                site,
            } => new::incident(&site.config, &title, &components, &severity),
            NewCommand::Maintenance {
                title,
                starts,
                ends,
                components,
                site,
            } => new::maintenance(&site.config, &title, &starts, &ends, &components),
        },
        Command::History { what } => match what {
            HistoryCommand::Check(site) => history::check(&site.config),
            HistoryCommand::Repair(site) => history::repair(&site.config),
        },
        Command::Import { what } => match what {
            ImportCommand::Cstate { dir, site } => import::cstate(&site.config, &dir),
            ImportCommand::Statuspage { file, site } => import::statuspage(&site.config, &file),
        },
        Command::Notify { what } => match what {
            NotifyCommand::Test { target, site } => notify::test(&site.config, &target).await,
        },
    }
}

/// Requests `[run] heartbeat_url` after a successful publish. A failure is a warning: the page
/// was published, and the team's monitor notices the missing ping by itself.
pub async fn send_heartbeat(config: &Config) {
    // An empty value (`"${UPSTATE_HEARTBEAT_URL:-}"` with nothing set) means no heartbeat.
    if let Some(url) = config
        .run
        .heartbeat_url
        .as_ref()
        .filter(|u| !u.expose().is_empty())
        && let Err(e) = upstate::notify::heartbeat::ping(url).await
    {
        eprintln!("warning: {}", error_chain(&e));
    }
}

/// The one line `publish` and `run` print for a publish: `Published N files to TARGET: W
/// written, D deleted, U unchanged.` (the site's files; what was sent, removed, left alone).
pub fn published_summary(
    target: &str,
    files: usize,
    report: &upstate::publish::PublishReport,
) -> String {
    format!(
        "Published {files} file{} to {target}: {} written, {} deleted, {} unchanged.",
        if files == 1 { "" } else { "s" },
        report.uploaded,
        report.deleted,
        report.unchanged
    )
}

/// An error and its causes on one line: `outer: cause: root cause`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    for cause in upstate::text::causes(e) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
    }
    upstate::config::secret::scrub(&text)
}

/// Loads the config, printing every error with its source line.
pub fn load_config(path: &std::path::Path) -> Option<Config> {
    match Config::load(path) {
        Ok(c) => Some(c),
        Err(errors) => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            for e in &errors.errors {
                print_config_error(e, &text);
            }
            eprintln!(
                "error: {} has {} problem{}; nothing was probed or published.",
                path.display(),
                errors.errors.len(),
                if errors.errors.len() == 1 { "" } else { "s" }
            );
            None
        }
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
struct Located {
    message: String,
    #[source_code]
    source_code: miette::NamedSource<String>,
    #[label("here")]
    span: miette::SourceSpan,
    #[help]
    help: Option<String>,
}

/// `file:line:col: error: message`, then a source snippet and the fix (miette). The message is
/// printed once: miette's own heading (which repeats it) is left out of the snippet. An error
/// with no place in the file (it could not be read) is `file: error: message`, not `file:0:0`.
pub fn print_config_error(e: &ConfigError, text: &str) {
    if e.line == 0 {
        eprintln!("{}: error: {}", e.file.display(), e.message);
        if let Some(help) = &e.help {
            eprintln!("  help: {help}");
        }
        return;
    }
    eprintln!(
        "{}:{}:{}: error: {}",
        e.file.display(),
        e.line,
        e.column,
        e.message
    );
    let offset = byte_offset(text, e.line, e.column);
    let len = e.span.as_ref().map_or(1, |s| s.len().clamp(1, 80));
    let report = Located {
        message: e.message.clone(),
        source_code: miette::NamedSource::new(e.file.display().to_string(), text.to_owned()),
        span: (
            offset.min(text.len()),
            len.min(text.len().saturating_sub(offset)),
        )
            .into(),
        help: e.help.clone(),
    };
    let mut out = String::new();
    // Without miette's own `file:line:col` over the snippet: it counts columns in bytes, and
    // the line above already names the place (in characters).
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .without_primary_span_start();
    if handler.render_report(&mut out, &report).is_ok() {
        eprintln!("{}", snippet_only(&out));
    }
}

/// The byte offset of a 1-based line and a 1-based column counted in characters (as
/// [`ConfigError`] counts them), so a line with `é` before the error still points right.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line_text = text.get(start..).unwrap_or_default();
    let line_text = line_text.split('\n').next().unwrap_or_default();
    start
        + line_text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i)
}

/// A miette report from its snippet on: its first lines (`× message`) repeat what the
/// `file:line:col: error:` line above already says.
fn snippet_only(report: &str) -> &str {
    report
        .find('\u{256d}') // `╭`, the snippet's top corner
        .and_then(|corner| report.get(..corner)?.rfind('\n').map(|nl| nl + 1))
        .and_then(|start| report.get(start..))
        .unwrap_or(report)
}

/// `file:line: error: message (field)` and the fix.
pub fn print_incident_error(e: &IncidentError) {
    let field = e
        .field
        .as_ref()
        .map(|f| format!(" [{f}]"))
        .unwrap_or_default();
    eprintln!(
        "{}:{}: error{field}: {}",
        upstate::text::printable(&e.file.display().to_string()),
        e.line,
        e.message
    );
    if let Some(help) = &e.help {
        eprintln!("  help: {help}");
    }
}

/// `path: error: reason` and the fix, for a site input that is left out (see `upstate::inputs`).
pub fn print_input_error(e: &upstate::inputs::InputError) {
    eprintln!(
        "{}: error: {}",
        upstate::text::printable(&e.path().display().to_string()),
        upstate::text::printable(&e.reason())
    );
    eprintln!("  help: {}", e.help());
}

/// A progress line on stderr while probes run: only where a person watches (a terminal) and only
/// when a run takes a while (50 components or more). Redrawn once per percent, so 10,000
/// components do not write 10,000 lines. Hand-written: one line of `\r`, not worth `indicatif`.
pub fn progress_line(components: usize) -> Option<upstate::probe::Progress> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    if components < 50 || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let drawn = std::sync::Arc::new(AtomicUsize::new(usize::MAX));
    Some(std::sync::Arc::new(move |done: usize, total: usize| {
        let percent = done * 100 / total.max(1);
        if drawn.swap(percent, Ordering::Relaxed) == percent {
            return;
        }
        if done >= total {
            eprintln!("\rProbed {total} components.{:30}", "");
        } else {
            eprint!("\rProbing: {done}/{total} components done…");
        }
    }))
}
