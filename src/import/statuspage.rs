//! Statuspage public API documents: `/api/v2/incidents.json` (`{"page": …, "incidents": […]}`),
//! `scheduled-maintenances.json`, `summary.json`, `incidents/<id>.json`, or a bare array of
//! incidents (peer-formats.md §4.1). Saved with `curl`, since the page may be gone after a move.
//!
//! Mapping, and why:
//! - status `investigating|identified|monitoring|resolved` as is; `postmortem` is `resolved` (the
//!   incident is over; the postmortem is the body).
//! - impact `none|minor|major|critical` → severity `minor|minor|major|critical`; Upstate has no
//!   "none" incident.
//! - the component impact is the worst `new_status` the updates' `affected_components` recorded
//!   (what Statuspage showed), else what the severity implies.
//! - `discovered_at` is the earlier of `started_at` and `created_at` (a backfilled incident started
//!   before it was posted), `contained_at` is `monitoring_at`, `resolved_at` is `resolved_at`.
//! - updates keep their `display_at` (what readers saw; `created_at` otherwise), oldest first;
//!   `postmortem` updates and `postmortem_body` go to the body under "Postmortem".
//! - maintenance (an entry with `scheduled_for`, impact `maintenance`, or a maintenance status):
//!   `starts_at`/`ends_at` are `scheduled_for`/`scheduled_until`; `completed` is written as the
//!   status, while `scheduled`, `in_progress` and `verifying` are left to Upstate's clock —
//!   nobody will update the old page any more, and an explicit `in_progress` would show the
//!   components under maintenance until someone edits the file. Update statuses map with
//!   `verifying` → `in_progress`.
//! - components map by name (then by id, so a page exported by Upstate itself round-trips); unknown
//!   ones are warnings and left out.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{ComponentMap, Conversion, Doc, ImportError, Resolved, impact_of, iso, parse_time};
use crate::incident::{Kind, Severity, Status};
use crate::state::ComponentState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Entry {
    id: Option<Value>,
    name: Option<String>,
    status: Option<String>,
    impact: Option<String>,
    created_at: Option<String>,
    started_at: Option<String>,
    updated_at: Option<String>,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    scheduled_for: Option<String>,
    scheduled_until: Option<String>,
    shortlink: Option<String>,
    postmortem_body: Option<String>,
    incident_updates: Option<Vec<Update>>,
    components: Option<Vec<Component>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Update {
    status: Option<String>,
    body: Option<String>,
    created_at: Option<String>,
    display_at: Option<String>,
    affected_components: Option<Vec<Affected>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Component {
    id: Option<Value>,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Affected {
    code: Option<Value>,
    name: Option<String>,
    new_status: Option<String>,
}

fn id_text(v: &Option<Value>) -> Option<String> {
    match v.as_ref()? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Converts every incident and maintenance in the document at `file`.
pub fn convert(file: &Path, components: &ComponentMap) -> Result<Conversion, ImportError> {
    let text = std::fs::read_to_string(file).map_err(|source| ImportError::Read {
        path: file.to_path_buf(),
        source,
        hint:
            " (FILE is a saved Statuspage API document, e.g. https://<page>/api/v2/incidents.json)"
                .to_owned(),
    })?;
    let format_error = |message: String| ImportError::Format {
        path: file.to_path_buf(),
        expected: "a Statuspage API document",
        message,
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| format_error(e.to_string()))?;
    let entries = entries_of(doc).map_err(format_error)?;
    let file_name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut out = Conversion::default();
    let mut seen = HashSet::new();
    for (n, value) in entries.into_iter().enumerate() {
        let entry: Entry = match serde_json::from_value(value) {
            Ok(e) => e,
            Err(e) => {
                out.warn(
                    &format!("{file_name}: entry {}", n + 1),
                    format!("not a Statuspage incident ({e}); skipped"),
                );
                continue;
            }
        };
        let id = id_text(&entry.id);
        if let Some(id) = &id
            && !seen.insert(id.clone())
        {
            continue; // the same incident listed twice (e.g. two documents concatenated)
        }
        let source = match (&entry.name, &id) {
            (Some(name), _) => format!("{file_name}: {}", super::yaml_string(name)),
            (None, Some(id)) => format!("{file_name}: incident {id}"),
            (None, None) => format!("{file_name}: entry {}", n + 1),
        };
        if is_maintenance(&entry) {
            maintenance(&entry, id.as_deref(), &source, components, &mut out);
        } else {
            incident(&entry, id.as_deref(), &source, components, &mut out);
        }
    }
    Ok(out)
}

/// The incidents and maintenances of a document: an array of them, or an object with
/// `incidents` and `scheduled_maintenances` lists (and/or one `incident` or
/// `scheduled_maintenance`), in that order. `Err` says why the document is none of these.
fn entries_of(doc: Value) -> Result<Vec<Value>, String> {
    match doc {
        Value::Array(list) => Ok(list),
        Value::Object(map) => {
            let lists = ["incidents", "scheduled_maintenances"];
            let singles = ["incident", "scheduled_maintenance"];
            if !lists.iter().chain(&singles).any(|k| map.contains_key(*k)) {
                return Err(
                    "it has no `incidents` or `scheduled_maintenances` list (use incidents.json, scheduled-maintenances.json or summary.json)".to_owned(),
                );
            }
            let mut all = Vec::new();
            for key in lists {
                if let Some(Value::Array(list)) = map.get(key) {
                    all.extend(list.iter().cloned());
                }
            }
            for key in singles {
                if let Some(v @ Value::Object(_)) = map.get(key) {
                    all.push(v.clone());
                }
            }
            Ok(all)
        }
        _ => Err("expected an object or an array".to_owned()),
    }
}

/// A scheduled maintenance rather than an incident: it has a schedule, a maintenance impact
/// or a maintenance-only status.
fn is_maintenance(entry: &Entry) -> bool {
    entry.scheduled_for.is_some()
        || entry.impact.as_deref() == Some("maintenance")
        || matches!(
            entry.status.as_deref(),
            Some("scheduled" | "in_progress" | "verifying" | "completed")
        )
}

/// A time field: `None` when absent; a warning when present but unreadable.
fn time(
    value: &Option<String>,
    field: &str,
    source: &str,
    out: &mut Conversion,
) -> Option<DateTime<Utc>> {
    let raw = value.as_deref()?.trim();
    if raw.is_empty() {
        return None;
    }
    let t = parse_time(raw);
    if t.is_none() {
        out.warn(source, format!("`{field}: {raw}` is not a time; ignored"));
    }
    t
}

/// Component names (or ids an Upstate-made page used) to ids; unknown ones are warnings.
fn component_ids(
    entry: &Entry,
    source: &str,
    map: &ComponentMap,
    out: &mut Conversion,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let listed = entry.components.iter().flatten().map(|c| (&c.name, &c.id));
    let affected = entry
        .incident_updates
        .iter()
        .flatten()
        .flat_map(|u| u.affected_components.iter().flatten())
        .map(|a| (&a.name, &a.code));
    for (name, id) in listed.chain(affected) {
        let by_id = id_text(id).filter(|id| matches!(map.resolve(id), Resolved::Id(_)));
        let pick = match name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) if matches!(map.resolve(n), Resolved::Id(_)) || by_id.is_none() => n.to_owned(),
            Some(_) | None => match by_id.or_else(|| id_text(id)) {
                Some(id) => id,
                None => continue,
            },
        };
        if !names.contains(&pick) {
            names.push(pick);
        }
    }
    map.resolve_all(&names, source, "component", |_| String::new(), out)
}

/// Converts one Statuspage incident into a draft (or a warning saying why not).
fn incident(
    entry: &Entry,
    id: Option<&str>,
    source: &str,
    map: &ComponentMap,
    out: &mut Conversion,
) {
    let Some(name) = entry.name.as_deref().filter(|n| !n.trim().is_empty()) else {
        out.warn(source, "no `name`; skipped");
        return;
    };
    let created = time(&entry.created_at, "created_at", source, out);
    let started = time(&entry.started_at, "started_at", source, out);
    let Some(discovered) = [created, started].into_iter().flatten().min() else {
        out.warn(source, "no `created_at` or `started_at`; skipped");
        return;
    };
    let status = incident_status(entry, source, out);
    let severity = severity_of(entry, source, out);
    let mut doc = Doc::new(Kind::Incident, name);
    doc.comments.push(provenance(source, id, entry));
    doc.severity = Some(severity);
    doc.status = Some(status);
    doc.discovered_at = Some(discovered);
    doc.components = component_ids(entry, source, map, out);

    let Updates {
        timeline,
        worst,
        postmortem,
    } = read_updates(entry, source, out);
    doc.updates = in_order(timeline, Status::Investigating);
    doc.impact = Some(worst.unwrap_or_else(|| impact_of(severity)));

    let mut notes: Vec<String> = Vec::new();
    if status == Status::Resolved {
        doc.resolved_at = Some(resolved_at(
            entry, &doc, discovered, source, out, &mut notes,
        ));
    }
    let first_monitoring = doc
        .updates
        .iter()
        .filter(|u| u.1 == Status::Monitoring)
        .map(|u| u.0)
        .min();
    doc.contained_at = time(&entry.monitoring_at, "monitoring_at", source, out)
        .or(first_monitoring)
        .filter(|t| *t >= discovered && doc.resolved_at.is_none_or(|r| *t <= r));
    if !postmortem.is_empty() {
        notes.push(format!("## Postmortem\n\n{}", postmortem.join("\n\n")));
    }
    doc.body = notes.join("\n\n");
    if let Some(draft) = doc.draft(source) {
        out.drafts.push(draft);
    }
}

/// Statuspage's incident status as ours; a status it does not have is guessed (with a warning).
fn incident_status(entry: &Entry, source: &str, out: &mut Conversion) -> Status {
    match entry.status.as_deref() {
        Some("investigating") => Status::Investigating,
        Some("identified") => Status::Identified,
        Some("monitoring") => Status::Monitoring,
        Some("resolved" | "postmortem") => Status::Resolved,
        other => {
            let guess = if entry.resolved_at.is_some() {
                Status::Resolved
            } else {
                Status::Investigating
            };
            out.warn(
                source,
                format!(
                    "status `{}` is not a Statuspage incident status; imported as {}",
                    other.unwrap_or("(none)"),
                    guess.as_str()
                ),
            );
            guess
        }
    }
}

/// Statuspage's `impact` as a severity; anything else is minor (with a warning).
fn severity_of(entry: &Entry, source: &str, out: &mut Conversion) -> Severity {
    match entry.impact.as_deref() {
        Some("none" | "minor") => Severity::Minor,
        Some("major") => Severity::Major,
        Some("critical") => Severity::Critical,
        other => {
            out.warn(
                source,
                format!(
                    "impact `{}` is not none, minor, major or critical; imported as minor",
                    other.unwrap_or("(none)")
                ),
            );
            Severity::Minor
        }
    }
}

/// What an incident's updates say: the timeline, the worst component state they set, and the
/// postmortem texts (the entry's own first).
struct Updates {
    timeline: Vec<(DateTime<Utc>, Option<Status>, String)>,
    worst: Option<ComponentState>,
    postmortem: Vec<String>,
}

/// Reads every update of `entry`; one without a time is left out (with a warning).
fn read_updates(entry: &Entry, source: &str, out: &mut Conversion) -> Updates {
    let mut postmortem: Vec<String> = entry
        .postmortem_body
        .iter()
        .filter(|b| !b.trim().is_empty())
        .cloned()
        .collect();
    let mut timeline: Vec<(DateTime<Utc>, Option<Status>, String)> = Vec::new();
    let mut worst: Option<ComponentState> = None;
    for u in entry.incident_updates.iter().flatten() {
        for a in u.affected_components.iter().flatten() {
            let state = match a.new_status.as_deref() {
                Some("degraded_performance") => ComponentState::DegradedPerformance,
                Some("partial_outage") => ComponentState::PartialOutage,
                Some("major_outage") => ComponentState::MajorOutage,
                _ => continue,
            };
            if worst.is_none_or(|w| state.severity() > w.severity()) {
                worst = Some(state);
            }
        }
        let body = u.body.clone().unwrap_or_default();
        if u.status.as_deref() == Some("postmortem") {
            if !body.trim().is_empty() && !postmortem.contains(&body) {
                postmortem.push(body);
            }
            continue;
        }
        let Some(at) = time(&u.display_at, "display_at", source, out)
            .or_else(|| time(&u.created_at, "created_at", source, out))
        else {
            out.warn(source, "an update has no time; left out");
            continue;
        };
        let status = match u.status.as_deref() {
            Some("investigating") => Some(Status::Investigating),
            Some("identified") => Some(Status::Identified),
            Some("monitoring") => Some(Status::Monitoring),
            Some("resolved") => Some(Status::Resolved),
            _ => None,
        };
        timeline.push((at, status, body));
    }
    Updates {
        timeline,
        worst,
        postmortem,
    }
}

/// When a resolved incident was resolved: `resolved_at`, else its last resolving update, else
/// `updated_at`; never before it began, and the start (with a note) when nothing says.
fn resolved_at(
    entry: &Entry,
    doc: &Doc,
    discovered: DateTime<Utc>,
    source: &str,
    out: &mut Conversion,
    notes: &mut Vec<String>,
) -> DateTime<Utc> {
    let from_updates = doc
        .updates
        .iter()
        .filter(|u| u.1 == Status::Resolved)
        .map(|u| u.0)
        .max();
    let resolved = time(&entry.resolved_at, "resolved_at", source, out)
        .or(from_updates)
        .or_else(|| time(&entry.updated_at, "updated_at", source, out));
    match resolved {
        Some(t) if t >= discovered => t,
        Some(t) => {
            out.warn(
                source,
                format!(
                    "resolved at {} before it began ({}); resolved_at set to the start",
                    iso(t),
                    iso(discovered)
                ),
            );
            discovered
        }
        None => {
            notes.push("*The original page did not record when this was resolved; the time it began is shown instead.*".to_owned());
            discovered
        }
    }
}

fn maintenance(
    entry: &Entry,
    id: Option<&str>,
    source: &str,
    map: &ComponentMap,
    out: &mut Conversion,
) {
    let Some(name) = entry.name.as_deref().filter(|n| !n.trim().is_empty()) else {
        out.warn(source, "no `name`; skipped");
        return;
    };
    let Some(starts) = time(&entry.scheduled_for, "scheduled_for", source, out)
        .or_else(|| time(&entry.created_at, "created_at", source, out))
    else {
        out.warn(source, "a maintenance with no `scheduled_for`; skipped");
        return;
    };
    let Some(ends) = time(&entry.scheduled_until, "scheduled_until", source, out)
        .or_else(|| time(&entry.resolved_at, "resolved_at", source, out))
    else {
        out.warn(
            source,
            "a maintenance with no `scheduled_until` (an Upstate notice needs an end); skipped",
        );
        return;
    };
    if ends < starts {
        out.warn(
            source,
            format!(
                "the window ends ({}) before it starts ({}); skipped",
                iso(ends),
                iso(starts)
            ),
        );
        return;
    }
    let mut doc = Doc::new(Kind::Maintenance, name);
    doc.comments.push(provenance(source, id, entry));
    doc.components = component_ids(entry, source, map, out);
    doc.starts_at = Some(starts);
    doc.ends_at = Some(ends);
    doc.status = match entry.status.as_deref() {
        Some("completed") => Some(Status::Completed),
        Some("scheduled" | "in_progress" | "verifying") | None => None,
        Some(other) => {
            out.warn(
                source,
                format!(
                    "status `{other}` is not a Statuspage maintenance status; left to the clock"
                ),
            );
            None
        }
    };
    let mut timeline: Vec<(DateTime<Utc>, Option<Status>, String)> = Vec::new();
    for u in entry.incident_updates.iter().flatten() {
        let Some(at) = time(&u.display_at, "display_at", source, out)
            .or_else(|| time(&u.created_at, "created_at", source, out))
        else {
            out.warn(source, "an update has no time; left out");
            continue;
        };
        let status = match u.status.as_deref() {
            Some("scheduled") => Some(Status::Scheduled),
            Some("in_progress" | "verifying") => Some(Status::InProgress),
            Some("completed") => Some(Status::Completed),
            _ => None,
        };
        timeline.push((at, status, u.body.clone().unwrap_or_default()));
    }
    doc.updates = in_order(timeline, Status::Scheduled);
    if let Some(draft) = doc.draft(source) {
        out.drafts.push(draft);
    }
}

/// The reviewer's pointer back to the original.
/// The timeline oldest first; an entry whose status Upstate has no word for keeps the status
/// before it (`first` for the very first).
fn in_order(
    mut timeline: Vec<(DateTime<Utc>, Option<Status>, String)>,
    first: Status,
) -> Vec<(DateTime<Utc>, Status, String)> {
    timeline.sort_by_key(|u| u.0);
    let mut previous = first;
    timeline
        .into_iter()
        .map(|(at, s, message)| {
            let s = s.unwrap_or(previous);
            previous = s;
            (at, s, message)
        })
        .collect()
}

fn provenance(source: &str, id: Option<&str>, entry: &Entry) -> String {
    let mut s = format!("Imported from Statuspage: {source}");
    if let Some(id) = id {
        s.push_str(&format!(", id {id}"));
    }
    if let Some(link) = entry.shortlink.as_deref().filter(|l| !l.is_empty()) {
        s.push_str(&format!(", {link}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_text(json: &str, map: &ComponentMap) -> Conversion {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("incidents.json");
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("{e}"));
        convert(&path, map).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_bare_array_with_a_postmortem_and_an_upstate_made_page() {
        let map = ComponentMap::new([("api", "API")]);
        let out = convert_text(
            r#"[{"id":"x1","name":"Errors","status":"postmortem","impact":"none","created_at":"2024-01-01T10:00:00-02:00",
                "resolved_at":"2024-01-01T13:00:00Z","components":[{"id":"api","name":"Renamed"}],
                "incident_updates":[{"status":"postmortem","body":"Root cause: a typo.","created_at":"2024-01-02T00:00:00Z"},
                                    {"status":"resolved","body":"Fixed.","display_at":"2024-01-01T13:00:00Z"}]}]"#,
            &map,
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        let text = &out.drafts[0].text;
        for want in [
            "severity: minor\n",
            "status: resolved\n",
            "components: [\"api\"]\n",
            "discovered_at: 2024-01-01T12:00:00Z\n",
            "resolved_at: 2024-01-01T13:00:00Z\n",
            "## Postmortem\n\nRoot cause: a typo.",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
        assert!(crate::incident::parse(Path::new("a.md"), text, &["api"]).is_ok());
    }

    #[test]
    fn not_a_statuspage_document() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("x.json");
        std::fs::write(&path, r#"{"page":{}}"#).unwrap_or_else(|e| panic!("{e}"));
        let e = convert(&path, &ComponentMap::default())
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("no `incidents`")));
    }
}
