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
                "position": position, "description": null, "showcase": false, "group_id": null,
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
                "group_id": group_id, "page_id": page, "group": false, "only_show_if_degraded": false,
            }));
        }
    }
    out
}

fn incident(i: &IncidentView, snapshot: &Snapshot, page: &str) -> Value {
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
    let updates: Vec<Value> = i
        .updates
        .iter()
        .enumerate()
        .map(|(n, u)| {
            json!({
                "id": format!("{}-{}", i.slug, i.updates.len() - n), "status": u.status.as_str(),
                "body": if i.private { String::new() } else { crate::text::html_to_text(&u.message_html) },
                "incident_id": i.slug, "created_at": iso(u.at), "updated_at": iso(u.at), "display_at": iso(u.at),
                "affected_components": null,
            })
        })
        .collect();
    let comps: Vec<Value> = i
        .components
        .iter()
        .filter_map(|id| snapshot.component(id))
        .map(|c| json!({"id": c.id, "name": c.label, "status": words(c.state).statuspage, "page_id": page}))
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
    });
    if i.kind == Kind::Maintenance {
        v["scheduled_for"] = json!(i.starts_at.map(iso));
        v["scheduled_until"] = json!(i.ends_at.map(iso));
    }
    v
}

/// Every file of the API.
pub fn files(snapshot: &Snapshot) -> Vec<(String, Vec<u8>)> {
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
        .map(|i| incident(i, snapshot, &page))
        .collect();
    let unresolved: Vec<Value> = snapshot
        .all_incidents
        .iter()
        .filter(|i| i.active)
        .map(|i| incident(i, snapshot, &page))
        .collect();
    let maint: Vec<&IncidentView> = snapshot.maintenance.iter().take(50).collect();
    let upcoming: Vec<Value> = maint
        .iter()
        .filter(|m| m.status == Status::Scheduled)
        .map(|m| incident(m, snapshot, &page))
        .collect();
    let active: Vec<Value> = maint
        .iter()
        .filter(|m| m.status == Status::InProgress)
        .map(|m| incident(m, snapshot, &page))
        .collect();
    let all_maint: Vec<Value> = maint.iter().map(|m| incident(m, snapshot, &page)).collect();
    let summary_maint: Vec<Value> = upcoming.iter().chain(&active).cloned().collect();
    let objectives = json!(super::json::objectives(snapshot));
    // Plain text everywhere: clients put `name` and `body` into pages (see `text::plain_text`).
    let doc = |mut v: Value| {
        crate::text::plain_json(&mut v);
        serde_json::to_vec_pretty(&v).unwrap_or_default()
    };
    vec![
        (
            "api/v2/summary.json".to_owned(),
            doc(
                json!({"page": page_obj, "components": comps, "incidents": unresolved, "scheduled_maintenances": summary_maint, "status": status, "objectives": objectives}),
            ),
        ),
        (
            "api/v2/objectives.json".to_owned(),
            doc(json!({"page": page_obj, "objectives": objectives})),
        ),
        (
            "api/v2/status.json".to_owned(),
            doc(json!({"page": page_obj, "status": status})),
        ),
        (
            "api/v2/components.json".to_owned(),
            doc(json!({"page": page_obj, "components": comps})),
        ),
        (
            "api/v2/incidents.json".to_owned(),
            doc(json!({"page": page_obj, "incidents": incidents})),
        ),
        (
            "api/v2/incidents/unresolved.json".to_owned(),
            doc(json!({"page": page_obj, "incidents": unresolved})),
        ),
        (
            "api/v2/scheduled-maintenances.json".to_owned(),
            doc(json!({"page": page_obj, "scheduled_maintenances": all_maint})),
        ),
        (
            "api/v2/scheduled-maintenances/upcoming.json".to_owned(),
            doc(json!({"page": page_obj, "scheduled_maintenances": upcoming})),
        ),
        (
            "api/v2/scheduled-maintenances/active.json".to_owned(),
            doc(json!({"page": page_obj, "scheduled_maintenances": active})),
        ),
    ]
}
