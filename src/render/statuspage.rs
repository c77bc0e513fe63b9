//! A Statuspage v2-compatible read API under `api/v2/`, so existing Statuspage clients and
//! aggregators read an Upstate site unchanged. Field names and value sets follow the facts in
//! `shared/reference/peer-formats.md`.
//!
//! Statuspage's own `incident_updates[].body` is plain text that its page shows with line
//! breaks, and clients (aggregators, chat bots, dashboards) often insert it into HTML as it is.
//! So every string here is plain text: update messages are the text of their sanitised HTML
//! (tags gone, entities decoded, so a client that shows text shows the words), and any `<`
//! that would open a tag is replaced ([`crate::text::plain_text`]), so a client that inserts
//! it as HTML gets no element either.
//!
//! Additive to Statuspage (which publishes no objectives): `summary.json` carries an
//! `objectives` array and `api/v2/objectives.json` lists them alone, in the shape `status.json`
//! uses (`actual`, `budget_left` and `met` null until the window's coverage is reached).

use serde_json::{Value, json};

use super::RenderError;
use super::filters::iso;
use crate::incident::{Kind, Status};
use crate::model::{IncidentView, Snapshot};
use crate::state::{ComponentState, words};

fn page_id(snapshot: &Snapshot) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(snapshot.site.base_url.as_bytes());
    hex::encode(&digest[..6])
}

/// Statuspage names UTC `Etc/UTC`; any other IANA zone as it is.
fn statuspage_zone(zone: &str) -> &str {
    match zone {
        "UTC" | "Etc/UTC" | "Etc/UCT" | "UCT" | "Universal" | "Zulu" => "Etc/UTC",
        other => other,
    }
}

fn indicator(state: Option<ComponentState>) -> (&'static str, &'static str) {
    // Statuspage has no "unknown": never observed reads as its mildest non-operational
    // indicator, as `status.json` reads `degraded` (README "States").
    match state.unwrap_or(ComponentState::DegradedPerformance) {
        ComponentState::Operational => ("none", "All Systems Operational"),
        ComponentState::UnderMaintenance => ("maintenance", "Service Under Maintenance"),
        ComponentState::DegradedPerformance => ("minor", "Minor Service Outage"),
        ComponentState::PartialOutage => ("major", "Partial System Outage"),
        ComponentState::MajorOutage => ("critical", "Major Service Outage"),
    }
}

fn components(snapshot: &Snapshot, page: &str) -> Vec<Value> {
    let now = iso(snapshot.generated_at);
    let mut out = Vec::new();
    let mut position = 0;
    for g in &snapshot.groups {
        let group_id = g
            .name
            .as_ref()
            .map(|n| format!("group-{}", crate::text::slugify(n)));
        if let (Some(id), Some(name)) = (&group_id, &g.name) {
            position += 1;
            out.push(json!({
                "id": id, "name": name, "status": words(g.state).statuspage, "created_at": now, "updated_at": now,
                "position": position, "description": null, "showcase": false, "start_date": null, "group_id": null,
                "page_id": page, "group": true, "only_show_if_degraded": false, "components": g.components,
            }));
        }
        for id in &g.components {
            let Some(c) = snapshot.component(id) else {
                continue;
            };
            position += 1;
            out.push(json!({
                "id": c.id, "name": c.label, "status": words(c.state).statuspage,
                "created_at": now, "updated_at": c.last_checked_at.map(iso).unwrap_or_else(|| now.clone()),
                "position": position, "description": c.description, "showcase": true,
                // Statuspage's `start_date` is a date the operator types in; Upstate has none to
                // give, and real pages publish `null` for most components too.
                "start_date": null, "group_id": group_id, "page_id": page, "group": false, "only_show_if_degraded": false,
            }));
        }
    }
    out
}

/// The state an open incident or window declares for its components: the file's `impact`, else
/// what its severity implies (as [`crate::incident::Incident::forced_state`] decides it).
fn declared(i: &IncidentView) -> ComponentState {
    match i.kind {
        Kind::Maintenance => ComponentState::UnderMaintenance,
        Kind::Incident => i.impact.unwrap_or(match i.severity {
            Some("critical") => ComponentState::MajorOutage,
            Some("major") => ComponentState::PartialOutage,
            _ => ComponentState::DegradedPerformance,
        }),
    }
}

/// Statuspage's `affected_components` of each update (in the order of `i.updates`, newest
/// first): what the update did to each component the incident names, as this incident declares
/// it. Before the first update nothing was declared (`operational`); an open status declares
/// [`declared`]; a closed one (resolved, completed) or a scheduled window declares nothing
/// again. Probes are not replayed here: the update says what the incident declared, which is
/// what a Statuspage update records too. Always an array, so typed clients decode every update.
fn affected_components(i: &IncidentView, snapshot: &Snapshot) -> Vec<Vec<Value>> {
    let names: Vec<(&str, &str)> = i
        .components
        .iter()
        .filter_map(|id| snapshot.component(id))
        .map(|c| (c.id.as_str(), c.label.as_str()))
        .collect();
    let mut before = ComponentState::Operational;
    let mut out: Vec<Vec<Value>> = i
        .updates
        .iter()
        .rev()
        .map(|u| {
            let open = matches!(
                u.status,
                Status::Investigating | Status::Identified | Status::Monitoring | Status::InProgress
            );
            let after = if open {
                declared(i)
            } else {
                ComponentState::Operational
            };
            let list = names
                .iter()
                .map(|(code, name)| {
                    json!({"code": code, "name": name, "old_status": before.as_str(), "new_status": after.as_str()})
                })
                .collect();
            before = after;
            list
        })
        .collect();
    out.reverse();
    out
}

fn incident(i: &IncidentView, snapshot: &Snapshot, page: &str, all: &[Value]) -> Value {
    let created = i.started_at.map(iso);
    let updated = i.updated_at.map(iso).or_else(|| created.clone());
    let monitoring_at = i
        .updates
        .iter()
        .filter(|u| u.status == Status::Monitoring)
        .map(|u| u.at)
        .min()
        .map(iso);
    let impact = match i.kind {
        Kind::Maintenance => "maintenance",
        Kind::Incident => i.severity.unwrap_or("none"),
    };
    let affected = affected_components(i, snapshot);
    let updates: Vec<Value> = i
        .updates
        .iter()
        .zip(affected)
        .enumerate()
        .map(|(n, (u, affected))| {
            json!({
                "id": format!("{}-{}", i.slug, i.updates.len() - n), "status": u.status.as_str(),
                "body": if i.private { String::new() } else { crate::text::html_to_text(&u.message_html) },
                "incident_id": i.slug, "created_at": iso(u.at), "updated_at": iso(u.at), "display_at": iso(u.at),
                "affected_components": affected, "deliver_notifications": true,
                "custom_tweet": null, "tweet_id": null,
            })
        })
        .collect();
    // The same full component objects as `components.json` (typed clients decode one shape).
    let comps: Vec<Value> = i
        .components
        .iter()
        .filter_map(|id| {
            all.iter()
                .find(|c| c["id"] == id.as_str() && c["group"] == false)
        })
        .cloned()
        .collect();
    let status = match (i.kind, i.status) {
        (Kind::Maintenance, Status::Cancelled) => "completed",
        (_, s) => s.as_str(),
    };
    let mut v = json!({
        "id": i.slug, "name": i.title, "status": status, "created_at": created, "updated_at": updated,
        "monitoring_at": monitoring_at, "resolved_at": i.resolved_at.map(iso).or_else(|| if i.kind == Kind::Maintenance && !i.active && i.status != Status::Scheduled { i.ends_at.map(iso) } else { None }),
        "impact": impact, "shortlink": crate::text::uri(&format!("{}/incidents/{}.html", snapshot.site.base_url, i.slug)),
        "started_at": created, "page_id": page, "incident_updates": updates, "components": comps,
        // Statuspage's own reminders; Upstate sends none (real incidents carry `null` too).
        "reminder_intervals": null,
    });
    if i.kind == Kind::Maintenance {
        v["scheduled_for"] = json!(i.starts_at.map(iso));
        v["scheduled_until"] = json!(i.ends_at.map(iso));
    }
    v
}

/// The maintenance lists of the API, as its documents carry them.
struct Maintenance {
    upcoming: Vec<Value>,
    active: Vec<Value>,
    all: Vec<Value>,
}

/// The newest 50 maintenance windows: scheduled, in progress, and all of them.
fn maintenance(snapshot: &Snapshot, page: &str, comps: &[Value]) -> Maintenance {
    let maint: Vec<&IncidentView> = snapshot.maintenance.iter().take(50).collect();
    let of = |status: Option<Status>| -> Vec<Value> {
        maint
            .iter()
            .filter(|m| status.is_none_or(|s| m.status == s))
            .map(|m| incident(m, snapshot, page, comps))
            .collect()
    };
    Maintenance {
        upcoming: of(Some(Status::Scheduled)),
        active: of(Some(Status::InProgress)),
        all: of(None),
    }
}

/// Every file of the API. A document that cannot be serialized is an error, never an empty
/// file published in its place.
pub fn files(snapshot: &Snapshot) -> Result<Vec<(String, Vec<u8>)>, RenderError> {
    let page = page_id(snapshot);
    let (ind, desc) = indicator(snapshot.overall);
    let page_obj = json!({
        "id": page, "name": snapshot.site.title, "url": snapshot.site.base_url,
        "time_zone": statuspage_zone(&snapshot.site.timezone), "updated_at": iso(snapshot.generated_at),
    });
    let status = json!({"indicator": ind, "description": desc});
    let comps = components(snapshot, &page);
    let incidents: Vec<Value> = snapshot
        .all_incidents
        .iter()
        .take(50)
        .map(|i| incident(i, snapshot, &page, &comps))
        .collect();
    let unresolved: Vec<Value> = snapshot
        .all_incidents
        .iter()
        .filter(|i| i.active)
        .map(|i| incident(i, snapshot, &page, &comps))
        .collect();
    let Maintenance {
        upcoming,
        active,
        all: all_maint,
    } = maintenance(snapshot, &page, &comps);
    let summary_maint: Vec<Value> = upcoming.iter().chain(&active).cloned().collect();
    let objectives = json!(super::json::objectives(snapshot));
    let docs = vec![
        (
            "api/v2/summary.json".to_owned(),
            json!({"page": page_obj, "components": comps, "incidents": unresolved, "scheduled_maintenances": summary_maint, "status": status, "objectives": objectives}),
        ),
        (
            "api/v2/objectives.json".to_owned(),
            json!({"page": page_obj, "objectives": objectives}),
        ),
        (
            "api/v2/status.json".to_owned(),
            json!({"page": page_obj, "status": status}),
        ),
        (
            "api/v2/components.json".to_owned(),
            json!({"page": page_obj, "components": comps}),
        ),
        (
            "api/v2/incidents.json".to_owned(),
            json!({"page": page_obj, "incidents": incidents}),
        ),
        (
            "api/v2/incidents/unresolved.json".to_owned(),
            json!({"page": page_obj, "incidents": unresolved}),
        ),
        (
            "api/v2/scheduled-maintenances.json".to_owned(),
            json!({"page": page_obj, "scheduled_maintenances": all_maint}),
        ),
        (
            "api/v2/scheduled-maintenances/upcoming.json".to_owned(),
            json!({"page": page_obj, "scheduled_maintenances": upcoming}),
        ),
        (
            "api/v2/scheduled-maintenances/active.json".to_owned(),
            json!({"page": page_obj, "scheduled_maintenances": active}),
        ),
    ];
    // Plain text everywhere: clients put `name` and `body` into pages (see `text::plain_text`).
    docs.into_iter()
        .map(|(path, mut v): (String, Value)| {
            crate::text::plain_json(&mut v);
            serde_json::to_vec_pretty(&v)
                .map(|bytes| (path.clone(), bytes))
                .map_err(|e| RenderError::Serialize {
                    file: path,
                    reason: e.to_string(),
                })
        })
        .collect()
}
