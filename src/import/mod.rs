//! Importers: a peer status page's incidents become Upstate incident files under `incidents/`.
//!
//! Moving to Upstate should not mean losing the incident history readers link to, so
//! `upstate import cstate DIR` and `upstate import statuspage FILE` convert what the peer wrote
//! (cState's Markdown issues, Statuspage's public `/api/v2/*.json`; facts in
//! `shared/reference/peer-formats.md`) into files that follow the incident contract.
//!
//! The rules every importer follows, because the output is a pull request someone reviews:
//! - every file is checked with [`incident::parse`] against the config's component ids before it
//!   is written, so `upstate check` accepts whatever an import wrote;
//! - nothing is overwritten (`-2`, `-3` suffixes); a file identical to one already there is left
//!   alone, so running an import twice writes nothing new;
//! - whatever could not be carried over (an unknown component, an unreadable entry, a missing
//!   time) is a [`Warning`] naming the source and what to do, never a silent drop.

pub mod cstate;
pub mod statuspage;

use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::config::Config;
use crate::incident::{self, Kind, Severity, Status};
use crate::state::ComponentState;

/// Something the import could not carry over as it was; the CLI prints it and exits 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The source entry: a file path, or `FILE: "incident name"`.
    pub source: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

/// One Upstate file converted from one source entry, not yet written.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Where it came from, for the report.
    pub source: String,
    pub title: String,
    /// Discovery (incidents) or start (maintenance): the file name's date.
    pub date: DateTime<Utc>,
    /// The whole file: front matter and body.
    pub text: String,
}

/// What a converter produced: files to write and what it could not carry over.
#[derive(Debug, Default)]
pub struct Conversion {
    pub drafts: Vec<Draft>,
    pub warnings: Vec<Warning>,
}

impl Conversion {
    fn warn(&mut self, source: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            source: source.to_owned(),
            message: message.into(),
        });
    }
}

/// A file the import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub source: String,
}

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct Report {
    pub written: Vec<Written>,
    /// Files already present with exactly the content the import would write (a re-run).
    pub unchanged: Vec<PathBuf>,
    pub warnings: Vec<Warning>,
}

/// Why an import could not run at all (per-entry problems are [`Warning`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}{hint}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
        /// What the path was expected to be.
        hint: String,
    },
    #[error("{} is not {expected}: {message}", path.display())]
    Format {
        path: PathBuf,
        expected: &'static str,
        message: String,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Imports a cState site (`DIR/content/issues/*.md`) into the config's `incidents/` folder.
pub fn cstate(dir: &Path, config: &Config) -> Result<Report, ImportError> {
    let conversion = cstate::convert(dir, &ComponentMap::from_config(config))?;
    write(conversion, &config.incidents_dir(), &config.component_ids())
}

/// Imports a Statuspage API document (`incidents.json`, `scheduled-maintenances.json`,
/// `summary.json` or a bare array) into the config's `incidents/` folder.
pub fn statuspage(file: &Path, config: &Config) -> Result<Report, ImportError> {
    let conversion = statuspage::convert(file, &ComponentMap::from_config(config))?;
    write(conversion, &config.incidents_dir(), &config.component_ids())
}

/// Writes each draft under `dir` as `YYYY-MM-DD-<slug>.md`, never over an existing file, each
/// one checked with [`incident::parse`] first; a draft that fails is a warning, not a file.
pub fn write(conversion: Conversion, dir: &Path, known: &[&str]) -> Result<Report, ImportError> {
    let mut report = Report {
        warnings: conversion.warnings,
        ..Report::default()
    };
    if conversion.drafts.is_empty() {
        return Ok(report);
    }
    std::fs::create_dir_all(dir).map_err(|source| ImportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    'drafts: for draft in conversion.drafts {
        let base = format!("{}-{}", draft.date.format("%Y-%m-%d"), slug(&draft.title));
        let mut n = 1;
        loop {
            let path = if n == 1 {
                dir.join(format!("{base}.md"))
            } else {
                dir.join(format!("{base}-{n}.md"))
            };
            n += 1;
            // `symlink_metadata`: a dangling link is a taken name, never written through.
            if std::fs::symlink_metadata(&path).is_ok() {
                if std::fs::read(&path).is_ok_and(|old| old == draft.text.as_bytes()) {
                    report.unchanged.push(path);
                    continue 'drafts;
                }
                continue;
            }
            if let Err(errors) = incident::parse(&path, &draft.text, known) {
                for e in errors {
                    report.warnings.push(Warning {
                        source: draft.source.clone(),
                        message: format!(
                            "not written: the converted file would be invalid (line {}: {}{})",
                            e.line,
                            e.message,
                            e.help.map(|h| format!("; {h}")).unwrap_or_default()
                        ),
                    });
                }
                continue 'drafts;
            }
            // `create_new`: another writer (or a file made since `exists`) is never overwritten.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(draft.text.as_bytes())
                        .map_err(|source| ImportError::Write {
                            path: path.clone(),
                            source,
                        })?;
                    report.written.push(Written {
                        path,
                        source: draft.source,
                    });
                    continue 'drafts;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(ImportError::Write { path, source }),
            }
        }
    }
    Ok(report)
}

/// How a peer's component name resolved against the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Id(String),
    Unknown,
    /// Several components share the label; guessing would misattribute the incident.
    Ambiguous(Vec<String>),
}

/// Peer component names to Upstate component ids: by id, by label (case-insensitive), and by the
/// name written as an id (`Media Proxy` → `media-proxy`), since peers only know names.
#[derive(Debug, Clone, Default)]
pub struct ComponentMap {
    by_id: HashMap<String, String>,
    by_label: HashMap<String, Vec<String>>,
    /// `label (id)` of every component, for warnings.
    known: Vec<String>,
}

impl ComponentMap {
    /// From `(id, label)` pairs.
    pub fn new<'a>(components: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut map = Self::default();
        for (id, label) in components {
            map.by_id.insert(id.to_lowercase(), id.to_owned());
            let ids = map.by_label.entry(normalise(label)).or_default();
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_owned());
            }
            map.known.push(format!("{label} ({id})"));
        }
        map
    }

    pub fn from_config(config: &Config) -> Self {
        Self::new(
            config
                .components
                .iter()
                .map(|c| (c.id.as_str(), c.label.as_str())),
        )
    }

    pub fn resolve(&self, name: &str) -> Resolved {
        let key = normalise(name);
        if let Some(id) = self.by_id.get(&key) {
            return Resolved::Id(id.clone());
        }
        match self.by_label.get(&key).map(Vec::as_slice) {
            Some([id]) => return Resolved::Id(id.clone()),
            Some(ids) if ids.len() > 1 => return Resolved::Ambiguous(ids.to_vec()),
            _ => {}
        }
        match self.by_id.get(&slug(name)) {
            Some(id) => Resolved::Id(id.clone()),
            None => Resolved::Unknown,
        }
    }

    /// Resolves every name; the ones that do not resolve become warnings (with `hint` for unknown
    /// names) and are left out, so the file still passes `check`.
    fn resolve_all(
        &self,
        names: &[String],
        source: &str,
        what: &str,
        hint: impl Fn(&str) -> String,
        out: &mut Conversion,
    ) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for name in names {
            match self.resolve(name) {
                Resolved::Id(id) => {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                Resolved::Ambiguous(several) => out.warn(
                    source,
                    format!(
                        "{what} `{name}` matches several components ({}); left out of `components` — add the right id by hand",
                        several.join(", ")
                    ),
                ),
                Resolved::Unknown => out.warn(
                    source,
                    format!(
                        "{what} `{name}` matches no component in upstate.toml (by id or label); left out of `components`{} (known: {})",
                        hint(name),
                        if self.known.is_empty() {
                            "none".to_owned()
                        } else {
                            self.known.join(", ")
                        }
                    ),
                ),
            }
        }
        ids
    }
}

fn normalise(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Lower-case, `-` separated, at most 60 characters: the same file names `upstate new` writes.
/// Transliterated ([`crate::text::slugify`]): "Zürich" is `zurich`.
pub fn slug(title: &str) -> String {
    crate::text::slug_at_most(title, 60, "incident")
}

// One YAML quoting for every file upstate writes (importers and `upstate new`).
pub use crate::text::yaml_string;

// RFC 3339 in UTC, whole seconds: the form the contract uses (one definition, in text).
pub use crate::text::iso;

/// The times peers write: RFC 3339 with any offset, or a date and time with no zone (read as
/// UTC, as cState recommends), with `T` or a space, with or without seconds and fractions, or a
/// bare date (midnight UTC).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(t) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f %#z"] {
        if let Ok(t) = DateTime::parse_from_str(t, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = t
        .strip_suffix(" UTC")
        .or_else(|| t.strip_suffix('Z'))
        .unwrap_or(t)
        .trim();
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The front matter and body of one Upstate file, rendered in the contract's field order.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    /// YAML comments for the reviewer (never published): where the file came from, what changed.
    pub comments: Vec<String>,
    pub kind: Kind,
    pub title: String,
    pub severity: Option<Severity>,
    pub status: Option<Status>,
    pub components: Vec<String>,
    pub impact: Option<ComponentState>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub contained_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Oldest first, as a timeline is written.
    pub updates: Vec<(DateTime<Utc>, Status, String)>,
    pub body: String,
}

impl Doc {
    pub(crate) fn new(kind: Kind, title: &str) -> Self {
        Self {
            comments: Vec::new(),
            kind,
            title: title.trim().to_owned(),
            severity: None,
            status: None,
            components: Vec::new(),
            impact: None,
            discovered_at: None,
            contained_at: None,
            resolved_at: None,
            starts_at: None,
            ends_at: None,
            updates: Vec::new(),
            body: String::new(),
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut s = String::from("---\n");
        for c in &self.comments {
            // One line each, whatever the source put in a name.
            let line: String = c
                .chars()
                .map(|ch| if ch.is_control() { ' ' } else { ch })
                .collect();
            s.push_str(&format!("# {line}\n"));
        }
        s.push_str(&format!("title: {}\n", yaml_string(&self.title)));
        s.push_str(match self.kind {
            Kind::Incident => "kind: incident\n",
            Kind::Maintenance => "kind: maintenance\n",
        });
        if let Some(v) = self.severity {
            s.push_str(&format!("severity: {}\n", v.as_str()));
        }
        if let Some(v) = self.status {
            s.push_str(&format!("status: {}\n", v.as_str()));
        }
        let ids: Vec<String> = self.components.iter().map(|c| yaml_string(c)).collect();
        s.push_str(&format!("components: [{}]\n", ids.join(", ")));
        if let Some(v) = self.impact {
            s.push_str(&format!("impact: {}\n", v.as_str()));
        }
        for (field, value) in [
            ("discovered_at", self.discovered_at),
            ("contained_at", self.contained_at),
            ("resolved_at", self.resolved_at),
            ("starts_at", self.starts_at),
            ("ends_at", self.ends_at),
        ] {
            if let Some(t) = value {
                s.push_str(&format!("{field}: {}\n", iso(t)));
            }
        }
        s.push_str("private: false\n");
        if self.updates.is_empty() {
            s.push_str("updates: []\n");
        } else {
            s.push_str("updates:\n");
            for (at, status, message) in &self.updates {
                s.push_str(&format!(
                    "  - at: {}\n    status: {}\n    message: {}\n",
                    iso(*at),
                    status.as_str(),
                    yaml_string(message.trim())
                ));
            }
        }
        s.push_str("---\n");
        let body = self.body.trim();
        if !body.is_empty() {
            s.push('\n');
            s.push_str(body);
            s.push('\n');
        }
        s
    }

    pub(crate) fn draft(&self, source: &str) -> Option<Draft> {
        let date = match self.kind {
            Kind::Incident => self.discovered_at,
            Kind::Maintenance => self.starts_at,
        }?;
        Some(Draft {
            source: source.to_owned(),
            title: self.title.clone(),
            date,
            text: self.render(),
        })
    }
}

/// The state a severity implies while an incident is open (the lifecycle's default).
pub(crate) fn impact_of(severity: Severity) -> ComponentState {
    match severity {
        Severity::Minor => ComponentState::DegradedPerformance,
        Severity::Major => ComponentState::PartialOutage,
        Severity::Critical => ComponentState::MajorOutage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_peers_write() {
        let want = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc());
        for (text, expected) in [
            ("2018-04-25 04:13:00", "2018-04-25T04:13:00Z"),
            ("2019-10-05 16:24:00 ", "2019-10-05T16:24:00Z"),
            ("2023-04-16T18:34:00Z", "2023-04-16T18:34:00Z"),
            ("2024-12-27T09:43:40.482Z", "2024-12-27T09:43:40.482Z"),
            ("2019-02-20T12:00:19.418-06:00", "2019-02-20T18:00:19.418Z"),
            ("2018-04-25 04:13", "2018-04-25T04:13:00Z"),
            ("2018-04-25 04:13:00 +02:00", "2018-04-25T02:13:00Z"),
            ("2018-04-25", "2018-04-25T00:00:00Z"),
        ] {
            assert_eq!(parse_time(text), want(expected), "{text}");
        }
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn any_title_is_valid_yaml() {
        for title in [
            "a: b # c",
            "\"quoted\" and 'single'",
            "- [x] {y}",
            "line\nbreak\ttab",
            "del\u{7f} nel\u{85} bom\u{feff} ls\u{2028}",
            "@*&!|>%",
        ] {
            let mut doc = Doc::new(Kind::Incident, title);
            doc.severity = Some(Severity::Minor);
            doc.status = Some(Status::Investigating);
            doc.discovered_at = parse_time("2026-01-01 00:00:00");
            let text = doc.render();
            let parsed = incident::parse(Path::new("x.md"), &text, &[]);
            assert_eq!(
                parsed.map(|i| i.title),
                Ok(title.trim().to_owned()),
                "{text}"
            );
        }
    }

    #[test]
    fn components_resolve_by_id_label_and_name() {
        let map = ComponentMap::new([
            ("api", "Public API"),
            ("media-proxy", "Media"),
            ("eu-db", "Database"),
            ("us-db", "Database"),
        ]);
        assert_eq!(map.resolve("API"), Resolved::Id("api".into()));
        assert_eq!(map.resolve("public  api"), Resolved::Id("api".into()));
        assert_eq!(
            map.resolve("Media Proxy"),
            Resolved::Id("media-proxy".into())
        );
        assert_eq!(
            map.resolve("database"),
            Resolved::Ambiguous(vec!["eu-db".into(), "us-db".into()])
        );
        assert_eq!(map.resolve("Gateway"), Resolved::Unknown);
    }

    #[test]
    fn slugs_match_upstate_new() {
        assert_eq!(slug("Login: errors & timeouts!"), "login-errors-timeouts");
        assert_eq!(slug("!!!"), "incident");
        assert_eq!(slug(&"a".repeat(80)).len(), 60);
    }
}
