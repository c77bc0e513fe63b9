//! Notifications on change: one event per component state transition and per new incident
//! update, deduplicated through history so two runs never send the same event twice, signed,
//! retried with backoff, and never blocking or failing the publish.
//!
//! Delivery is at-least-once per target: an event is remembered as sent to a target only after
//! that target acknowledged it (2xx), so a receiver that is down gets it on a later run.

pub mod heartbeat;
mod slack;
mod webhook;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::config::{NotifyConfig, NotifyKind};
use crate::model::Snapshot;
use crate::state::ComponentState;

/// Something worth telling people about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A component's state changed.
    #[serde(rename = "component.state_changed")]
    ComponentChanged {
        component: String,
        label: String,
        from: ComponentState,
        to: ComponentState,
        detail: String,
        at: DateTime<Utc>,
        url: String,
    },
    /// An incident or maintenance got a new timeline entry (or appeared).
    #[serde(rename = "incident.updated")]
    IncidentUpdated {
        incident: String,
        title: String,
        status: String,
        message: String,
        at: DateTime<Utc>,
        url: String,
    },
}

impl Event {
    /// A stable id: the same change always has the same id.
    pub fn id(&self) -> String {
        match self {
            Event::ComponentChanged {
                component, to, at, ..
            } => {
                format!("state:{component}:{}:{}", to.as_str(), at.timestamp())
            }
            Event::IncidentUpdated {
                incident,
                status,
                at,
                ..
            } => incident_event_id(incident, status, *at),
        }
    }

    /// One line for chat: "API is now major outage: HTTP 503".
    pub fn summary(&self) -> String {
        match self {
            Event::ComponentChanged {
                label,
                from,
                to,
                detail,
                ..
            } => format!(
                "{label} is now {} (was {}): {detail}",
                to.as_str().replace('_', " "),
                from.as_str().replace('_', " ")
            ),
            Event::IncidentUpdated {
                title,
                status,
                message,
                ..
            } => {
                let status = status.replace('_', " ");
                if message.is_empty() {
                    format!("{title}: {status}")
                } else {
                    format!("{title}: {status}: {message}")
                }
            }
        }
    }
}

fn incident_event_id(incident: &str, status: &str, at: DateTime<Utc>) -> String {
    format!("incident:{incident}:{status}:{}", at.timestamp())
}

/// What notifications remember between runs (kept in the history store).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotifyMemory {
    /// Each component's state and since when it has been in it.
    #[serde(default)]
    pub current: BTreeMap<String, (ComponentState, DateTime<Utc>)>,
    /// Per target: the state each component was last announced in. A target without an entry
    /// has not been set up yet: its first run records the baseline and sends nothing.
    #[serde(default)]
    pub announced: BTreeMap<String, BTreeMap<String, ComponentState>>,
    /// Per target: incident event ids it acknowledged (or that predate it).
    #[serde(default)]
    pub sent: BTreeMap<String, BTreeSet<String>>,
}

/// A target's key in [`NotifyMemory`]: a hash of its URL (never the URL: it may hold a token).
pub fn target_key(config: &NotifyConfig) -> String {
    let digest = sha2::Sha256::digest(config.url.expose().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// What this run could announce: every component's state (with when it began) and every
/// incident timeline entry. Which of them each target still needs is decided in [`deliver`].
pub struct Plan {
    components: Vec<(
        String,
        String,
        ComponentState,
        DateTime<Utc>,
        String,
        String,
    )>,
    /// Each incident event with the ids the same entry had under the incident's other ids
    /// ([`crate::model::IncidentView::aliases`]): any of them acknowledged means sent.
    incidents: Vec<(Event, Vec<String>)>,
}

/// Advances the memory's view of the current states and lists what could be announced.
pub fn plan(snapshot: &Snapshot, memory: &mut NotifyMemory) -> Plan {
    let mut components = Vec::new();
    for c in &snapshot.components {
        let now = c.last_checked_at.unwrap_or(snapshot.generated_at);
        let since = match memory.current.get(&c.id) {
            Some((state, since)) if *state == c.state => *since,
            _ => now,
        };
        memory.current.insert(c.id.clone(), (c.state, since));
        let url = crate::text::uri(&format!(
            "{}/components/{}.html",
            snapshot.site.base_url, c.id
        ));
        components.push((
            c.id.clone(),
            c.label.clone(),
            c.state,
            since,
            c.detail.clone(),
            url,
        ));
    }
    let mut incidents = Vec::new();
    for i in snapshot.all_incidents.iter().chain(&snapshot.maintenance) {
        let mut entries: Vec<(DateTime<Utc>, String, String)> = i
            .updates
            .iter()
            .map(|u| {
                (
                    u.at,
                    u.status.as_str().to_owned(),
                    crate::render::text_of(&u.message_html),
                )
            })
            .collect();
        if entries.is_empty()
            && let Some(at) = i.started_at
        {
            entries.push((at, i.status.as_str().to_owned(), String::new()));
        }
        for (at, status, message) in entries {
            let aliases: Vec<String> = i
                .aliases
                .iter()
                .map(|other| incident_event_id(other, &status, at))
                .collect();
            let event = Event::IncidentUpdated {
                incident: i.slug.clone(),
                title: i.title.clone(),
                status,
                message: if i.private { String::new() } else { message },
                at,
                url: crate::text::uri(&format!(
                    "{}/incidents/{}.html",
                    snapshot.site.base_url, i.slug
                )),
            };
            incidents.push((event, aliases));
        }
    }
    Plan {
        components,
        incidents,
    }
}

/// Sends each target what it has not acknowledged yet, concurrently, each attempt under the
/// target's timeout, up to three attempts with backoff. Returns the events sent and problems.
pub async fn deliver(
    targets: &[NotifyConfig],
    plan: &Plan,
    memory: &mut NotifyMemory,
) -> (usize, Vec<String>) {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return (
                0,
                vec![format!("cannot build the notification client: {e}")],
            );
        }
    };
    let mut jobs = Vec::new();
    for target in targets {
        let key = target_key(target);
        let Some(announced) = memory.announced.get(&key).cloned() else {
            // A new target: its baseline is today's states and incidents; nothing is sent.
            memory.announced.insert(
                key.clone(),
                plan.components.iter().map(|c| (c.0.clone(), c.2)).collect(),
            );
            memory
                .sent
                .insert(key, plan.incidents.iter().map(|(e, _)| e.id()).collect());
            continue;
        };
        let sent = memory.sent.get(&key).cloned().unwrap_or_default();
        let mut events: Vec<Event> = Vec::new();
        for (id, label, state, since, detail, url) in &plan.components {
            match announced.get(id) {
                Some(from) if from != state => events.push(Event::ComponentChanged {
                    component: id.clone(),
                    label: label.clone(),
                    from: *from,
                    to: *state,
                    detail: detail.clone(),
                    at: *since,
                    url: url.clone(),
                }),
                Some(_) => {}
                // A component added since the baseline: its first state is not a change.
                None => {
                    memory
                        .announced
                        .entry(key.clone())
                        .or_default()
                        .insert(id.clone(), *state);
                }
            }
        }
        events.extend(
            plan.incidents
                .iter()
                .filter(|(e, aliases)| {
                    !sent.contains(&e.id()) && !aliases.iter().any(|a| sent.contains(a))
                })
                .map(|(e, _)| e.clone()),
        );
        for event in events {
            let client = client.clone();
            let target = target.clone();
            let key = key.clone();
            jobs.push(async move {
                let result = send_with_retries(&client, &target, &event).await;
                (key, event, result)
            });
        }
    }
    let mut problems = Vec::new();
    let mut delivered = 0;
    for (key, event, result) in futures_util::future::join_all(jobs).await {
        match result {
            Ok(()) => {
                delivered += 1;
                match &event {
                    Event::ComponentChanged { component, to, .. } => {
                        memory
                            .announced
                            .entry(key)
                            .or_default()
                            .insert(component.clone(), *to);
                    }
                    Event::IncidentUpdated { .. } => {
                        memory.sent.entry(key).or_default().insert(event.id());
                    }
                }
            }
            Err(e) => problems.push(e),
        }
    }
    (delivered, problems)
}

/// The body a target gets for an event.
pub fn body(kind: NotifyKind, event: &Event) -> Vec<u8> {
    match kind {
        NotifyKind::Webhook => webhook::body(event),
        NotifyKind::Slack => slack::body(event),
    }
}

async fn send_with_retries(
    client: &reqwest::Client,
    target: &NotifyConfig,
    event: &Event,
) -> Result<(), String> {
    let body = body(target.kind, event);
    let name = crate::config::secret::redact_url(target.url.expose());
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
        }
        let mut request = client
            .post(target.url.expose())
            .timeout(target.timeout.std())
            .header("content-type", "application/json")
            .header("user-agent", concat!("upstate/", env!("CARGO_PKG_VERSION")))
            // Ids are built from `[a-z0-9_-]` slugs; encoded anyway, a header cannot take CR/LF.
            .header("x-upstate-event", crate::text::header_value(&event.id()));
        if let Some(secret) = &target.secret {
            request = request.header(
                "x-upstate-signature",
                webhook::signature(secret.expose(), &body),
            );
        }
        match request.body(body.clone()).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                // The receiver refused this body; retrying the same bytes will not help.
                return Err(format!(
                    "notification to {name} refused: HTTP {}",
                    r.status().as_u16()
                ));
            }
            Ok(r) => last = format!("HTTP {}", r.status().as_u16()),
            Err(e) if e.is_timeout() => last = format!("timed out after {}", target.timeout),
            Err(e) => {
                last = if e.is_connect() {
                    "connection failed".to_owned()
                } else {
                    "request failed".to_owned()
                }
            }
        }
    }
    Err(format!(
        "notification to {name} failed after 3 attempts: {last}"
    ))
}
