//! cState sites: `DIR/content/issues/*.md`, Hugo pages with YAML front matter (`title`, `date`,
//! `resolved`, `resolvedWhen`, `severity`, `affected`, `section`, `informational`, `pin`) and a
//! Markdown body whose timeline entries read `*Label* - text {{< track "time" >}}`
//! (peer-formats.md §4.3).
//!
//! Mapping, and why:
//! - severity `down`/`disrupted`/`notice` → `critical`/`major`/`minor`, impact `major_outage`/
//!   `partial_outage`/`degraded_performance`: cState's three levels are its three non-ok states.
//! - `resolved: true` → `resolved` at `resolvedWhen`; without it, at `date` with a note in the body
//!   (readers should not take the zero duration for a fact). Open issues take the newest status of
//!   their own timeline (`investigating` when there is none).
//! - Timeline paragraphs with a recognised label (Investigating, Identified, Monitoring,
//!   Resolved/Fixed) and a `track` time become `updates`; other labels keep the previous status
//!   and their label in the message. Everything else stays in the body, where `track` shortcodes
//!   become plain `(2018-04-13 17:30 UTC)` text: Upstate does not run Hugo, so a raw shortcode
//!   would be printed as is.
//! - `informational` posts (announcements with no outage) become resolved minor incidents with no
//!   impact, resolved when posted, so they appear in the history without touching any state.
//! - `affected` system names map to component ids (see [`ComponentMap`]); unknown ones are
//!   warnings, and `DIR/config.yml`'s `systems` only make those warnings say whether the name is a
//!   cState system missing from upstate.toml or a typo in the issue.
//! - `draft: true` pages are skipped with a warning: cState never published them.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{ComponentMap, Conversion, Doc, ImportError, impact_of, parse_time};
use crate::incident::front_matter;
use crate::incident::{Kind, Severity, Status};
use crate::state::ComponentState;

/// A cState system from `config.yml`: its name and description.
#[derive(Debug, Clone)]
struct System {
    name: String,
    description: Option<String>,
}

/// Converts every issue of the cState site at `dir`.
pub fn convert(dir: &Path, components: &ComponentMap) -> Result<Conversion, ImportError> {
    let issues = dir.join("content").join("issues");
    let entries = std::fs::read_dir(&issues).map_err(|source| ImportError::Read {
        path: issues.clone(),
        source,
        hint: " (DIR must be a cState site: its root, with content/issues/*.md)".to_owned(),
    })?;
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "md")
                && p.file_name().is_some_and(|n| n != "_index.md")
        })
        .collect();
    files.sort();
    let mut out = Conversion::default();
    let systems = read_systems(dir, &mut out);
    for file in files {
        let source = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => issue(&source, &text, components, systems.as_deref(), &mut out),
            Err(e) => out.warn(&source, format!("cannot read the file: {e}; skipped")),
        }
    }
    Ok(out)
}

/// `systems` from `DIR/config.yml` (`params.systems`, or top-level `systems`), if readable.
fn read_systems(dir: &Path, out: &mut Conversion) -> Option<Vec<System>> {
    let (path, text) = ["config.yml", "config.yaml"]
        .iter()
        .map(|n| dir.join(n))
        .find_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))?;
    let doc: Value = match serde_saphyr::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default().to_owned();
            out.warn(
                &path.display().to_string(),
                format!("cannot read it ({first}); warnings about unknown systems will say less"),
            );
            return None;
        }
    };
    let list = doc
        .pointer("/params/systems")
        .or_else(|| doc.get("systems"))?
        .as_array()?;
    Some(
        list.iter()
            .filter_map(|s| {
                Some(System {
                    name: s.get("name")?.as_str()?.to_owned(),
                    description: s
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
            })
            .collect(),
    )
}

fn string(fm: &Map<String, Value>, key: &str) -> Option<String> {
    match fm.get(key)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn flag(fm: &Map<String, Value>, key: &str) -> bool {
    match fm.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `affected` as a list of names (a single string is accepted, as Hugo does).
fn names(fm: &Map<String, Value>, key: &str) -> Vec<String> {
    match fm.get(key) {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.trim().to_owned()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_owned()],
        _ => Vec::new(),
    }
}

/// Converts one cState issue file into a draft incident (or a warning saying why not).
fn issue(
    source: &str,
    text: &str,
    components: &ComponentMap,
    systems: Option<&[System]>,
    out: &mut Conversion,
) {
    let Some((fm, body)) = read_front_matter(source, text, out) else {
        return;
    };
    if flag(&fm, "draft") {
        out.warn(source, "`draft: true`: cState never published it; skipped");
        return;
    }
    let Some(title) = string(&fm, "title") else {
        out.warn(source, "no `title`; skipped");
        return;
    };
    let Some(date_text) = string(&fm, "date") else {
        out.warn(source, "no `date`; skipped");
        return;
    };
    let Some(date) = parse_time(&date_text) else {
        out.warn(
            source,
            format!("`date: {date_text}` is not a date and time; skipped"),
        );
        return;
    };
    let informational = flag(&fm, "informational");
    let severity = severity_of(&fm, informational, source, out);
    let hint = |name: &str| system_hint(name, systems);
    let ids = components.resolve_all(&names(&fm, "affected"), source, "system", hint, out);

    let mut doc = Doc::new(Kind::Incident, &title);
    doc.comments.push(format!("Imported from cState: {source}"));
    doc.severity = Some(severity.map_or(Severity::Minor, |(s, _)| s));
    doc.components = ids;
    doc.discovered_at = Some(date);

    let body = Body::read(&body, source, out);
    doc.updates = body.updates.clone();
    let mut notes = Vec::new();
    if informational {
        doc.comments.push(
            "cState informational post: resolved when posted, no impact on any component."
                .to_owned(),
        );
        doc.status = Some(Status::Resolved);
        doc.resolved_at = Some(date);
    } else {
        doc.impact = Some(severity.map_or(impact_of(Severity::Minor), |(_, i)| i));
        if flag(&fm, "resolved") {
            let resolved_at = resolved_at(&fm, date, source, out, &mut notes);
            mark_resolved(&mut doc, &body, resolved_at);
        } else {
            doc.status = Some(
                doc.updates
                    .iter()
                    .rev()
                    .map(|u| u.1)
                    .find(|s| *s != Status::Resolved)
                    .unwrap_or(Status::Investigating),
            );
        }
        doc.contained_at = contained_at(&doc, date);
    }
    doc.body = notes
        .into_iter()
        .chain((!body.text.is_empty()).then_some(body.text.as_str()))
        .collect::<Vec<_>>()
        .join("\n\n");
    if let Some(draft) = doc.draft(source) {
        out.drafts.push(draft);
    }
}

/// The YAML front matter as fields, and the body after it; `None` after a warning.
fn read_front_matter(
    source: &str,
    text: &str,
    out: &mut Conversion,
) -> Option<(Map<String, Value>, String)> {
    let text = text.replace("\r\n", "\n");
    let split = match front_matter::split(&text) {
        Ok(s) => s,
        Err(e) => {
            out.warn(
                source,
                format!("{e} (only YAML front matter between `---` lines is read); skipped"),
            );
            return None;
        }
    };
    match serde_saphyr::from_str::<Value>(split.front) {
        Ok(Value::Object(m)) => Some((m, split.body.to_owned())),
        Ok(_) => {
            out.warn(source, "the front matter is not a list of fields; skipped");
            None
        }
        Err(e) => {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            out.warn(
                source,
                format!("the front matter is not valid YAML ({first}); skipped"),
            );
            None
        }
    }
}

/// cState's `severity` as ours and the impact it implies; `None` (imported as minor) when
/// missing or unknown, with a warning unless the post is informational.
fn severity_of(
    fm: &Map<String, Value>,
    informational: bool,
    source: &str,
    out: &mut Conversion,
) -> Option<(Severity, ComponentState)> {
    match string(fm, "severity").map(|s| s.to_lowercase()).as_deref() {
        Some("down") => Some((Severity::Critical, ComponentState::MajorOutage)),
        Some("disrupted") => Some((Severity::Major, ComponentState::PartialOutage)),
        Some("notice") => Some((Severity::Minor, ComponentState::DegradedPerformance)),
        Some(other) => {
            out.warn(
                source,
                format!("`severity: {other}` is not down, disrupted or notice; imported as minor"),
            );
            None
        }
        None if informational => None,
        None => {
            out.warn(source, "no `severity`; imported as minor");
            None
        }
    }
}

/// When a resolved post was resolved: `resolvedWhen`, or the post's `date` (with a note saying
/// so) when that is missing, unreadable or earlier than the start.
fn resolved_at(
    fm: &Map<String, Value>,
    date: DateTime<Utc>,
    source: &str,
    out: &mut Conversion,
    notes: &mut Vec<&'static str>,
) -> DateTime<Utc> {
    let when = string(fm, "resolvedWhen");
    let parsed = when.as_deref().and_then(parse_time);
    match (when, parsed) {
        (_, Some(t)) if t >= date => t,
        (_, Some(t)) => {
            out.warn(
                source,
                format!(
                    "`resolvedWhen` ({}) is before `date` ({}); resolved_at set to `date`",
                    super::iso(t),
                    super::iso(date)
                ),
            );
            notes.push("*The original post's resolution time was earlier than its start; the start time is shown instead.*");
            date
        }
        (Some(raw), None) => {
            out.warn(
                source,
                format!("`resolvedWhen: {raw}` is not a date and time; resolved_at set to `date`"),
            );
            notes.push("*The original post did not record when this was resolved; the time it was posted is shown instead.*");
            date
        }
        (None, None) => {
            notes.push("*The original post did not record when this was resolved; the time it was posted is shown instead.*");
            date
        }
    }
}

/// Contained when the fix was in place: the first `Monitoring` entry inside the incident.
fn contained_at(doc: &Doc, date: DateTime<Utc>) -> Option<DateTime<Utc>> {
    doc.updates
        .iter()
        .filter(|u| u.1 == Status::Monitoring && u.0 >= date)
        .map(|u| u.0)
        .filter(|t| doc.resolved_at.is_none_or(|r| *t <= r))
        .min()
}

/// Resolved at `resolved_at`, with a timeline that says so.
fn mark_resolved(doc: &mut Doc, body: &Body, resolved_at: DateTime<Utc>) {
    doc.status = Some(Status::Resolved);
    doc.resolved_at = Some(resolved_at);
    if !doc.updates.iter().any(|u| u.1 == Status::Resolved) {
        // The newest entry, at or after the resolution and with a label that named no
        // status (`*Update* - … fixed`), is the resolution; otherwise say it resolved.
        let last = doc.updates.len().checked_sub(1);
        match last.and_then(|i| doc.updates.get_mut(i).zip(body.explicit.get(i))) {
            Some((u, false)) if u.0 >= resolved_at => u.1 = Status::Resolved,
            _ => doc
                .updates
                .push((resolved_at, Status::Resolved, "Resolved.".to_owned())),
        }
    }
}

/// What a warning about an unknown system adds, from cState's own `config.yml`.
fn system_hint(name: &str, systems: Option<&[System]>) -> String {
    let Some(systems) = systems else {
        return format!(" — add a [[component]] with label = \"{name}\" and import again");
    };
    match systems.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
        Some(s) => format!(
            " — cState's config.yml has this system{}; add a [[component]] with label = \"{}\" and import again",
            s.description
                .as_deref()
                .map(|d| format!(" (\"{}\")", d.trim()))
                .unwrap_or_default(),
            s.name
        ),
        None => format!(
            " — it is not among cState's config.yml systems either ({}), so it may be a typo in the issue",
            systems
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// An issue body split into timeline entries and the rest.
#[derive(Debug, Default)]
struct Body {
    /// Oldest first.
    updates: Vec<(DateTime<Utc>, Status, String)>,
    /// Per update: its label named the status (else it carried the previous one).
    explicit: Vec<bool>,
    /// What is not a timeline entry, shortcodes rendered as text.
    text: String,
}

impl Body {
    fn read(body: &str, source: &str, out: &mut Conversion) -> Self {
        let mut entries: Vec<(DateTime<Utc>, Option<Status>, String)> = Vec::new();
        let mut rest: Vec<String> = Vec::new();
        for block in blocks(body) {
            match entry(&block) {
                Some((at, status, message)) => {
                    entries.push((at, status, shortcodes(&message, source, out)))
                }
                None => rest.push(shortcodes(&block, source, out)),
            }
        }
        entries.sort_by_key(|e| e.0);
        let explicit = entries.iter().map(|e| e.1.is_some()).collect();
        let mut previous = Status::Investigating;
        let updates = entries
            .into_iter()
            .map(|(at, status, message)| {
                let status = status.unwrap_or(previous);
                previous = status;
                (at, status, message)
            })
            .collect();
        Self {
            updates,
            explicit,
            text: without_stray_rules(rest).join("\n\n"),
        }
    }
}

/// Paragraphs: runs of lines between blank lines, a fenced code block kept whole.
fn blocks(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut fence: Option<&str> = None;
    for line in body.lines() {
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            current.push(line);
            if trimmed.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(if trimmed.starts_with("```") {
                "```"
            } else {
                "~~~"
            });
            current.push(line);
        } else if trimmed.is_empty() {
            if !current.is_empty() {
                out.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n"));
    }
    out
}

fn is_rule(block: &str) -> bool {
    matches!(block.trim(), "---" | "***" | "___")
}

/// Horizontal rules that separated timeline entries mean nothing once the entries moved to
/// `updates`: drop leading, trailing and repeated ones.
fn without_stray_rules(blocks: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for b in blocks {
        if is_rule(&b) && out.last().is_none_or(|l| is_rule(l)) {
            continue;
        }
        out.push(b);
    }
    while out.last().is_some_and(|l| is_rule(l)) {
        out.pop();
    }
    out
}

/// `*Label* - text {{< track "time" >}}`: the time, the status the label names (if it names
/// one), and the message (the text for a known label; the whole paragraph otherwise).
fn entry(block: &str) -> Option<(DateTime<Utc>, Option<Status>, String)> {
    let t = block.trim_start();
    let open = t.chars().take_while(|c| matches!(c, '*' | '_')).count();
    if open == 0 || open > 3 {
        return None;
    }
    let after = t.get(open..)?;
    let close = after.find(['*', '_'])?;
    let label = after.get(..close)?.trim().trim_end_matches(':').trim();
    if label.is_empty() || label.chars().count() > 40 || label.contains('\n') {
        return None;
    }
    let rest = after
        .get(close..)?
        .trim_start_matches(['*', '_'])
        .trim_start();
    let rest = ["-", "—", "–", ":"]
        .iter()
        .find_map(|d| rest.strip_prefix(d))?;
    let (at, without) = take_track(rest)?;
    let status = match label.to_lowercase().as_str() {
        "investigating" => Some(Status::Investigating),
        "identified" => Some(Status::Identified),
        "monitoring" => Some(Status::Monitoring),
        "resolved" | "fixed" => Some(Status::Resolved),
        _ => None,
    };
    let message = match status {
        Some(_) => without,
        None => take_track(block).map(|(_, w)| w).unwrap_or_default(),
    };
    Some((at, status, message.trim().to_owned()))
}

/// The first `track` shortcode's time, and the text with every `track` shortcode removed.
fn take_track(text: &str) -> Option<(DateTime<Utc>, String)> {
    let mut at = None;
    let mut out = String::new();
    let mut rest = text;
    while let Some((before, code, after)) = next_shortcode(rest) {
        out.push_str(before);
        match track_time(code) {
            Some(t) => {
                at.get_or_insert(t);
            }
            None => {
                // Not a track: left for `shortcodes` to render.
                out.push_str(
                    rest.get(before.len()..rest.len() - after.len())
                        .unwrap_or_default(),
                );
            }
        }
        rest = after;
    }
    out.push_str(rest);
    // Tidy the space the shortcode left (`text {{< track >}}.` → `text.`).
    let tidy = out
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    Some((at?, tidy.trim().to_owned()))
}

/// The next `{{< … >}}` or `{{% … %}}`: the text before it, its inside, the text after it.
fn next_shortcode(text: &str) -> Option<(&str, &str, &str)> {
    let start = text.find("{{<").into_iter().chain(text.find("{{%")).min()?;
    let close = if text.get(start + 2..start + 3) == Some("%") {
        "%}}"
    } else {
        ">}}"
    };
    let inner_start = start + 3;
    let end = text.get(inner_start..)?.find(close)? + inner_start;
    Some((
        text.get(..start)?,
        text.get(inner_start..end)?.trim(),
        text.get(end + close.len()..)?,
    ))
}

/// The time of a `track "…"` shortcode's inside.
fn track_time(code: &str) -> Option<DateTime<Utc>> {
    let arg = code.strip_prefix("track")?.trim();
    let arg = arg.trim_matches(|c| c == '"' || c == '\'' || c == '`');
    parse_time(arg)
}

/// Renders shortcodes as text: `track` as `(2018-04-13 17:30 UTC)`; any other is removed with a
/// warning, as Upstate has no Hugo to run it.
fn shortcodes(text: &str, source: &str, out: &mut Conversion) -> String {
    let mut result = String::new();
    let mut rest = text;
    while let Some((before, code, after)) = next_shortcode(rest) {
        result.push_str(before);
        match (code.starts_with("track"), track_time(code)) {
            (_, Some(t)) => result.push_str(&format!("({})", t.format("%Y-%m-%d %H:%M UTC"))),
            (true, None) => {
                let arg = code
                    .trim_start_matches("track")
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'');
                out.warn(
                    source,
                    format!("`track \"{arg}\"` is not a time; kept as text"),
                );
                result.push_str(&format!("({arg})"));
            }
            (false, None) => {
                let name = code.split_whitespace().next().unwrap_or_default();
                out.warn(
                    source,
                    format!("shortcode `{name}` has no Upstate equivalent; removed from the body"),
                );
            }
        }
        rest = after;
    }
    result.push_str(rest);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap_or_default()
    }

    #[test]
    fn timeline_entries_become_updates_and_the_rest_stays() {
        let mut out = Conversion::default();
        let body = Body::read(
            "*Post-mortem*\n\nSomething broke.\n\n---\n\n*Update* - A fix is out. {{< track \"2018-04-13 17:30:00\" >}}\n\n*Monitoring* - Recovering. {{< track \"2018-04-13 16:50:00\" >}}\n\n*Investigating* - Looking.\n{{< track \"2018-04-13 15:54:00\" >}}\n\nAside {{< track \"2018-04-13 15:00:00\" >}} and ```code```\n",
            "x.md",
            &mut out,
        );
        assert_eq!(
            body.updates,
            vec![
                (
                    at("2018-04-13 15:54:00"),
                    Status::Investigating,
                    "Looking.".to_owned()
                ),
                (
                    at("2018-04-13 16:50:00"),
                    Status::Monitoring,
                    "Recovering.".to_owned()
                ),
                (
                    at("2018-04-13 17:30:00"),
                    Status::Monitoring,
                    "*Update* - A fix is out.".to_owned()
                ),
            ]
        );
        assert_eq!(
            body.text,
            "*Post-mortem*\n\nSomething broke.\n\n---\n\nAside (2018-04-13 15:00 UTC) and ```code```"
        );
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn unknown_shortcodes_are_removed_with_a_warning() {
        let mut out = Conversion::default();
        let text = shortcodes(
            "a {{< figure src=\"x.png\" >}} b {{% track \"soon\" %}}",
            "x.md",
            &mut out,
        );
        assert_eq!(text, "a  b (soon)");
        assert_eq!(out.warnings.len(), 2);
        assert!(!text.contains("{{"));
    }

    #[test]
    fn fenced_code_with_blank_lines_is_one_block() {
        assert_eq!(
            blocks("a\n\n```\nx\n\ny\n```\n\nb"),
            vec!["a", "```\nx\n\ny\n```", "b"]
        );
    }
}
