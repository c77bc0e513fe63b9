//! `status.json` (seed 002's polling contract, exactly its keys) and shields.io endpoint files.

use serde::Serialize;

use super::filters::{iso, pct};
use crate::incident::Status;
use crate::model::Snapshot;

#[derive(Serialize)]
struct StatusJson<'a> {
    overall_state: &'static str,
    components: Vec<ComponentJson<'a>>,
    snapshot: &'a crate::model::Counters,
    incidents: Vec<IncidentJson>,
    generated_at: String,
    /// Additive to the seed contract: after this instant the page is stale (its schedule has
    /// stopped or is late) and pollers should say so rather than trust `overall_state`.
    stale_after: String,
    /// Additive: the `[[objective]]`s, `actual` null until the window is covered.
    objectives: Vec<ObjectiveJson<'a>>,
}

#[derive(Serialize)]
struct ObjectiveJson<'a> {
    name: &'a str,
    components: &'a [String],
    target: f64,
    window: String,
    actual: Option<f64>,
    coverage: f64,
    min_coverage: f64,
    days_observed: u32,
    budget_left: Option<f64>,
    met: Option<bool>,
    latency: Option<&'a crate::model::LatencyObjective>,
}

#[derive(Serialize)]
struct ComponentJson<'a> {
    component: &'a str,
    /// Plain text ([`crate::text::plain_text`]): pollers insert labels and probe details (which
    /// come from the probed server) into pages.
    label: String,
    state: &'static str,
    detail: String,
    latency_ms: Option<u64>,
    last_checked_at: Option<String>,
}

#[derive(Serialize)]
struct IncidentJson {
    severity: &'static str,
    status: &'static str,
    discovered_at: String,
    contained_at: Option<String>,
    resolved_at: Option<String>,
}

/// `status.json`: the same data the page renders. Incidents publish only severity, status and
/// timestamps (the schema's rule, private or not); maintenance is not an incident here.
pub fn status_json(snapshot: &Snapshot) -> Vec<u8> {
    let doc = StatusJson {
        overall_state: snapshot.overall_public.as_str(),
        components: snapshot
            .components
            .iter()
            .map(|c| ComponentJson {
                component: &c.id,
                label: crate::text::plain_text(&c.label),
                state: c.public_state.as_str(),
                detail: crate::text::plain_text(&c.detail),
                latency_ms: c.latency_ms,
                last_checked_at: c.last_checked_at.map(iso),
            })
            .collect(),
        snapshot: &snapshot.counters,
        incidents: snapshot
            .incidents
            .iter()
            .filter_map(|i| {
                Some(IncidentJson {
                    severity: i.severity?,
                    status: match i.status {
                        s @ (Status::Investigating
                        | Status::Identified
                        | Status::Monitoring
                        | Status::Resolved) => s.as_str(),
                        _ => return None,
                    },
                    discovered_at: iso(i.discovered_at?),
                    contained_at: i.contained_at.map(iso),
                    resolved_at: i.resolved_at.map(iso),
                })
            })
            .collect(),
        generated_at: iso(snapshot.generated_at),
        stale_after: iso(snapshot.stale_after),
        objectives: snapshot
            .service_objectives
            .iter()
            .map(|o| ObjectiveJson {
                name: &o.name,
                components: &o.components,
                target: o.target,
                window: format!("{}d", o.window_days),
                actual: o.actual,
                coverage: o.coverage,
                min_coverage: o.min_coverage,
                days_observed: o.days_observed,
                budget_left: o.budget_left,
                met: o.met,
                latency: o.latency.as_ref(),
            })
            .collect(),
    };
    serde_json::to_vec_pretty(&doc).unwrap_or_default()
}

/// shields.io endpoint JSON: `api/badges/<id>.json` (state) and `api/badges/<id>/uptime-*.json`.
pub fn shields(snapshot: &Snapshot) -> Vec<(String, Vec<u8>)> {
    let color = |s: crate::state::PublicState| match s {
        crate::state::PublicState::Operational => "brightgreen",
        crate::state::PublicState::Degraded => "yellow",
        crate::state::PublicState::Down => "red",
    };
    let endpoint = |label: &str, message: String, color: &str| {
        let mut value = serde_json::json!({"schemaVersion": 1, "label": label, "message": message, "color": color});
        crate::text::plain_json(&mut value);
        serde_json::to_vec(&value).unwrap_or_default()
    };
    let mut out = vec![(
        "api/badges/status.json".to_owned(),
        endpoint(
            &snapshot.site.title,
            snapshot.overall_public.as_str().to_owned(),
            color(snapshot.overall_public),
        ),
    )];
    for c in &snapshot.components {
        out.push((
            format!("api/badges/{}.json", c.id),
            endpoint(
                &c.label,
                c.public_state.as_str().to_owned(),
                color(c.public_state),
            ),
        ));
        for (name, value) in [
            ("day", c.uptime.day),
            ("week", c.uptime.week),
            ("month", c.uptime.month),
            ("quarter", c.uptime.quarter),
        ] {
            let (message, col) = match value {
                Some(u) => (
                    pct(u),
                    if u >= 0.999 {
                        "brightgreen"
                    } else if u >= 0.99 {
                        "yellow"
                    } else {
                        "red"
                    },
                ),
                None => ("no data".to_owned(), "lightgrey"),
            };
            out.push((
                format!("api/badges/{}/uptime-{name}.json", c.id),
                endpoint(&format!("uptime {name}"), message, col),
            ));
        }
    }
    out
}
