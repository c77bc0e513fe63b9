//! `status.json` (seed 002's polling contract, exactly its keys) and shields.io endpoint files.

use serde::Serialize;

use super::RenderError;
use super::filters::{iso, pct};
use crate::incident::Status;
use crate::model::Snapshot;
use crate::state::words;

#[derive(Serialize)]
struct StatusJson<'a> {
    overall_state: &'static str,
    components: Vec<ComponentJson<'a>>,
    snapshot: &'a crate::model::Counters,
    incidents: Vec<IncidentJson<'a>>,
    generated_at: String,
    /// Additive to the seed contract: after this instant the page is stale (its schedule has
    /// stopped or is late) and pollers should say so rather than trust `overall_state`.
    stale_after: String,
    /// Additive: the `[[objective]]`s, `actual` null until the window is covered.
    objectives: Vec<ObjectiveJson<'a>>,
}

/// One `[[objective]]` as `status.json` and the Statuspage-style API publish it.
#[derive(Serialize)]
pub(crate) struct ObjectiveJson<'a> {
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
    /// Additive to the seed contract: `false` for a component never observed. Its `state` is
    /// then `degraded` (the contract has no "unknown"; see README "States") and its `detail`
    /// says "No data"; pollers that know this key show "no data" instead.
    observed: bool,
    /// Additive: the state as the page words it (`major_outage`, `partial_outage`,
    /// `under_maintenance`, `no_data`, …), which the three-value `state` cannot say; the
    /// reference poller labels a component with it, so a poll never relabels what the HTML shows.
    condition: &'static str,
}

#[derive(Serialize)]
struct IncidentJson<'a> {
    severity: &'static str,
    status: &'static str,
    discovered_at: String,
    contained_at: Option<String>,
    resolved_at: Option<String>,
    /// Additive to the seed contract, public incidents only (a private one publishes exactly
    /// the contract's five keys): the slug, title, page URL and affected component ids.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    public: Option<PublicIncidentJson<'a>>,
}

#[derive(Serialize)]
struct PublicIncidentJson<'a> {
    id: &'a str,
    /// Plain text ([`crate::text::plain_text`]), as every label here.
    title: String,
    url: String,
    components: &'a [String],
}

/// `status.json`: the same data the page renders. Private incidents publish only severity,
/// status and timestamps (the schema's rule); public ones add `id`, `title`, `url` and
/// `components`. Maintenance is not an incident here.
///
/// An error, never an empty document: publishing `{}` would tell every poller nothing is known.
pub fn status_json(snapshot: &Snapshot) -> Result<Vec<u8>, RenderError> {
    let doc = StatusJson {
        overall_state: snapshot.overall_public.as_str(),
        components: snapshot
            .components
            .iter()
            .map(|c| ComponentJson {
                component: &c.id,
                label: crate::text::plain_text(&c.label),
                state: words(c.state).public.as_str(),
                // `state` cannot say "no data" (three values), so the detail does, first.
                detail: crate::text::plain_text(&match c.state {
                    Some(_) => c.detail.clone(),
                    None => format!("No data. {}", c.detail),
                }),
                latency_ms: c.latency_ms,
                last_checked_at: c.last_checked_at.map(iso),
                observed: c.state.is_some(),
                condition: words(c.state).key,
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
                    public: (!i.private).then(|| PublicIncidentJson {
                        id: &i.slug,
                        title: crate::text::plain_text(&i.title),
                        url: crate::text::uri(&format!(
                            "{}/incidents/{}.html",
                            snapshot.site.base_url, i.slug
                        )),
                        components: &i.components,
                    }),
                })
            })
            .collect(),
        generated_at: iso(snapshot.generated_at),
        stale_after: iso(snapshot.stale_after),
        objectives: objectives(snapshot),
    };
    serde_json::to_vec_pretty(&doc).map_err(|e| RenderError::Serialize {
        file: "status.json".to_owned(),
        reason: e.to_string(),
    })
}

/// The objectives, `actual` null until the window is covered (one shape for every output).
pub(crate) fn objectives(snapshot: &Snapshot) -> Vec<ObjectiveJson<'_>> {
    snapshot
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
        .collect()
}

/// shields.io endpoint JSON: `api/badges/<id>.json` (state) and `api/badges/<id>/uptime-*.json`.
///
/// The message is the state's label as the page and the SVG badge show it (`label` maps a
/// [`crate::state::Words::key`] to the theme's words), so a badge never says `down` where the
/// page says "Major outage".
pub fn shields(
    snapshot: &Snapshot,
    label: impl Fn(&str) -> String,
) -> Result<Vec<(String, Vec<u8>)>, RenderError> {
    let endpoint = |path: String, name: &str, message: String, color: &str| {
        let mut value = serde_json::json!({"schemaVersion": 1, "label": name, "message": message, "color": color});
        crate::text::plain_json(&mut value);
        serde_json::to_vec(&value)
            .map(|bytes| (path.clone(), bytes))
            .map_err(|e| RenderError::Serialize {
                file: path,
                reason: e.to_string(),
            })
    };
    let overall = words(snapshot.overall);
    let mut out = vec![endpoint(
        "api/badges/status.json".to_owned(),
        &snapshot.site.title,
        label(overall.key),
        overall.badge_color,
    )?];
    for c in &snapshot.components {
        let w = words(c.state);
        out.push(endpoint(
            format!("api/badges/{}.json", c.id),
            &c.label,
            label(w.key),
            w.badge_color,
        )?);
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
            out.push(endpoint(
                format!("api/badges/{}/uptime-{name}.json", c.id),
                &format!("uptime {name}"),
                message,
                col,
            )?);
        }
    }
    Ok(out)
}
