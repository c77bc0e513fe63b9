//! `upstate check`: validate the config and every incident file, probing nothing.
//!
//! It needs no secrets: a pull request from a fork runs without the repository's, and the file
//! can still be judged on everything else. An unset `${NAME}` is a note unless `--strict`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use upstate::config::{Config, ConfigError, UnsetVariable};
use upstate::incident::IncidentError;
use upstate::pipeline;

use super::{Exit, print_config_error, print_incident_error, print_input_error};
use crate::cli::CheckFormat;

/// One thing `check` found, in the shape every format prints.
#[derive(Debug, Serialize)]
struct Finding {
    severity: Severity,
    file: PathBuf,
    line: usize,
    /// 0 when only the line is known (incident files).
    column: usize,
    /// The front-matter field or config key it is about, when one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Error,
    Note,
}

impl Finding {
    fn from_config(e: &ConfigError) -> Self {
        Finding {
            severity: Severity::Error,
            file: e.file.clone(),
            line: e.line,
            column: e.column,
            field: None,
            message: e.message.clone(),
            help: e.help.clone(),
        }
    }

    fn from_incident(e: &IncidentError) -> Self {
        Finding {
            severity: Severity::Error,
            file: e.file.clone(),
            line: e.line,
            column: 0,
            field: e.field.clone(),
            message: e.message.clone(),
            help: e.help.clone(),
        }
    }

    fn from_input(e: &upstate::inputs::InputError) -> Self {
        Finding {
            severity: Severity::Error,
            file: e.path().to_path_buf(),
            line: 0,
            column: 0,
            field: None,
            message: e.reason(),
            help: Some(e.help().to_owned()),
        }
    }

    fn from_unset(u: &UnsetVariable, strict: bool) -> Self {
        Finding {
            severity: if strict {
                Severity::Error
            } else {
                Severity::Note
            },
            file: u.file.clone(),
            line: u.line,
            column: u.column,
            field: None,
            message: format!(
                "environment variable `{}` is not set here; it is read from the environment at run time",
                u.name
            ),
            help: Some(if strict {
                format!("export {}=... before running upstate", u.name)
            } else {
                "`upstate run` refuses to start without it; pass --strict to make this an error"
                    .to_owned()
            }),
        }
    }
}

pub fn run(path: &Path, strict: bool, format: CheckFormat) -> Exit {
    let (config, config_errors, unset) = Config::load_allowing_unset(path);
    let mut findings: Vec<Finding> = config_errors.iter().map(Finding::from_config).collect();
    findings.extend(unset.iter().map(|u| Finding::from_unset(u, strict)));
    let mut incident_errors = Vec::new();
    let mut incident_count = 0;
    let mut input_errors = Vec::new();
    if let Some(config) = &config {
        let (incidents, errors) = pipeline::load_incidents(config);
        incident_count = incidents.len();
        findings.extend(errors.iter().map(Finding::from_incident));
        incident_errors = errors;
        input_errors = pipeline::input_problems(config);
        findings.extend(input_errors.iter().map(Finding::from_input));
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();

    match format {
        CheckFormat::Human => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            for e in &config_errors {
                print_config_error(e, &text);
            }
            for u in &unset {
                print_unset(&Finding::from_unset(u, strict), strict);
            }
            for e in &incident_errors {
                print_incident_error(e);
            }
            for e in &input_errors {
                print_input_error(e);
            }
            if errors == 0 {
                let components = config.as_ref().map_or(0, |c| c.components.len());
                out!(
                    "{}: OK ({} component{}, {} incident file{}).",
                    path.display(),
                    components,
                    plural(components),
                    incident_count,
                    plural(incident_count)
                );
            } else {
                eprintln!(
                    "error: {errors} problem{} in {} and its incident, content, static and theme files.",
                    plural(errors),
                    path.display()
                );
            }
        }
        CheckFormat::Github => {
            for f in &findings {
                out!("{}", github_annotation(f));
            }
            if errors == 0 {
                out!("{}: OK.", path.display());
            }
        }
        CheckFormat::Json => {
            let doc = serde_json::json!({ "ok": errors == 0, "findings": findings });
            match serde_json::to_string_pretty(&doc) {
                Ok(text) => out!("{text}"),
                Err(e) => {
                    eprintln!("error: cannot print the findings as JSON: {e}");
                    return Exit::Fatal;
                }
            }
        }
    }
    if errors == 0 {
        Exit::Success
    } else {
        Exit::Invalid
    }
}

/// An unset variable: a note, or with `--strict` an error.
fn print_unset(f: &Finding, strict: bool) {
    let word = if strict { "error" } else { "note" };
    eprintln!(
        "{}:{}:{}: {word}: {}",
        f.file.display(),
        f.line,
        f.column,
        f.message
    );
    if let Some(help) = &f.help {
        eprintln!("  help: {help}");
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A GitHub Actions workflow command (`::error file=…,line=…,col=…,title=…::message`), which
/// GitHub shows as an annotation on that line of the pull request. Values are escaped the way
/// the runner unescapes them, so a message with `%`, a newline, `:` or `,` cannot end the
/// command early or inject another one.
fn github_annotation(f: &Finding) -> String {
    let command = match f.severity {
        Severity::Error => "error",
        Severity::Note => "notice",
    };
    let mut properties = vec![format!(
        "file={}",
        escape_property(&f.file.display().to_string())
    )];
    if f.line > 0 {
        properties.push(format!("line={}", f.line));
    }
    if f.column > 0 {
        properties.push(format!("col={}", f.column));
    }
    let title = match &f.field {
        Some(field) => format!("upstate check: {field}"),
        None => "upstate check".to_owned(),
    };
    properties.push(format!("title={}", escape_property(&title)));
    let mut message = f.message.clone();
    if let Some(help) = &f.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{command} {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

/// The runner's escaping for a command's message.
fn escape_data(text: &str) -> String {
    let escaped = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    // Any other control character (an escape sequence in a file name) is shown, not obeyed.
    upstate::text::printable(&escaped).into_owned()
}

/// The runner's escaping for a property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_would_end_the_command() {
        let f = Finding {
            severity: Severity::Error,
            file: PathBuf::from("incidents/a,b:c.md"),
            line: 3,
            column: 0,
            field: Some("status".to_owned()),
            message: "100% wrong\n::warning::injected".to_owned(),
            help: None,
        };
        assert_eq!(
            github_annotation(&f),
            "::error file=incidents/a%2Cb%3Ac.md,line=3,title=upstate check%3A status::100%25 wrong%0A::warning::injected"
        );
    }
}
