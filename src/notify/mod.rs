//! Notifications on change: one event per component state transition and per new incident
//! update, deduplicated through history so two runs never send the same event twice, retried
//! with backoff, and never blocking or failing the publish. Paging targets get a `trigger` when a
//! component's paging condition has held long enough and a `resolve` with the same key when it
//! ends.
//!
//! Delivery is at-least-once per target: an event is remembered as sent to a target only after
//! that target acknowledged it (2xx, SMTP 250), so a receiver that is down gets it on a later run.
//!
//! # Who gets what (routing, [`Config::notify_route`])
//! - A target that some component names in `page = [...]` gets *pages* (trigger, then resolve)
//!   for exactly those components, by each component's `page_when` / `page_after`, whatever its
//!   kind: naming a chat target makes it an on-call channel.
//! - A paging kind (`pagerduty`, `opsgenie`, `alertmanager`) that no component names pages for
//!   every component (each by its own rule, default: down, at once), so one `[[notify]]` line is
//!   a working setup.
//! - A chat kind that no component names gets every event: each state change and each incident
//!   update, as webhooks always have.
//!
//! Maintenance windows suppress pages for the components they cover: no trigger while covered
//! (the `page_after` clock starts again when the window ends), and an alert already open stays
//! open until the component recovers outside the window. An open incident with
//! `suppress_pages: true` holds back new triggers for its components too (on-call already
//! works on it), but its clocks keep running and a recovery still resolves.
//!
//! Objectives' burn-rate alerts ([`burn`]) are pages too, routed by [`Config::burn_route`],
//! remembered apart from component pages, and paired trigger/resolve the same way.
//!
//! One file per kind, each behind [`Notifier`]. The kinds' settings are config's types
//! (`config::notify`, so reading the file never depends on this stage); adding a kind is its
//! settings and one arm in [`TargetSpec`] there, a file here implementing [`Notifier`], an
//! example in `examples/notify.example.toml`, and a test against a receiver.

mod alertmanager;
mod burn;
mod discord;
mod email;
pub mod heartbeat;
pub mod markup;
mod ntfy;
mod opsgenie;
mod pagerduty;
mod slack;
mod teams;
mod telegram;
mod webhook;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::Digest;

use crate::config::{Component, Config, NotifyConfig, PageWhen, Route};
use crate::model::{ComponentView, IncidentView, Snapshot};
use crate::state::ComponentState;

// Defined by history, which owns the format of the file they are kept in.
pub use crate::history::memory::{NotifyMemory, OpenPage};

// The targets' settings are config's types (reading the file never depends on this stage);
// each kind's file here implements [`Notifier`] for its type.
pub use crate::config::notify::{
    AlertmanagerConfig, DiscordConfig, EmailConfig, NtfyConfig, OpsgenieConfig, PagerDutyConfig,
    SlackConfig, TargetSpec, TeamsConfig, TelegramConfig, WebhookConfig,
};

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
    /// A page opens (`trigger`) or closes (`resolve`) for one component; both carry the same
    /// `dedup_key`, so the receiver closes the alert it opened.
    #[serde(rename = "component.page")]
    Page(Page),
    /// `upstate notify test`: proves a chat target is set up; says so in every field shown.
    #[serde(rename = "test")]
    Test {
        site: String,
        at: DateTime<Utc>,
        url: String,
    },
}

/// One page event (see [`Event::Page`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub action: PageAction,
    /// One per component incident: `upstate-<component>-<unix ms when the condition began>`.
    pub dedup_key: String,
    pub component: String,
    pub label: String,
    /// The state now (on resolve: the state it recovered to).
    pub state: ComponentState,
    /// The state the page opened with: its severity, the same on trigger, renewal and resolve
    /// (Alertmanager tells alerts apart by their labels, severity among them).
    pub opened: ComponentState,
    pub detail: String,
    /// When the paging condition began.
    pub since: DateTime<Utc>,
    /// When this event was decided.
    pub at: DateTime<Utc>,
    /// Until when a receiver that expires alerts (Alertmanager) should keep it firing without
    /// hearing from us again: a few run intervals.
    pub valid_until: DateTime<Utc>,
    pub url: String,
    /// Sent by `upstate notify test`, not by a real outage.
    pub test: bool,
    /// Set on an objective's burn-rate alert: then `component` is the alert's id
    /// (`objective:<name>:<rule>`) and `label` the objective's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burn: Option<burn::BurnFacts>,
}

/// Whether a page opens or closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PageAction {
    Trigger,
    Resolve,
}

impl Page {
    /// "critical" / "error" / "warning" / "info": PagerDuty's severities, from the state.
    pub fn severity(&self) -> &'static str {
        if self.test {
            return "info";
        }
        match self.opened {
            ComponentState::MajorOutage => "critical",
            ComponentState::PartialOutage => "error",
            ComponentState::DegradedPerformance => "warning",
            _ => "info",
        }
    }

    /// One line: "`[TEST] `API is major outage: HTTP 503" / "API recovered: operational".
    pub fn summary(&self) -> String {
        let prefix = if self.test { "[TEST] " } else { "" };
        if let Some(burn) = &self.burn {
            return match self.action {
                PageAction::Trigger => format!(
                    "{prefix}{} is burning its error budget: {}",
                    self.label, self.detail
                ),
                PageAction::Resolve => format!(
                    "{prefix}{}: error budget burn {} stopped",
                    self.label, burn.rule
                ),
            };
        }
        let state = self.state.as_str().replace('_', " ");
        match self.action {
            PageAction::Trigger if self.detail.is_empty() => {
                format!("{prefix}{} is {state}", self.label)
            }
            PageAction::Trigger => format!("{prefix}{} is {state}: {}", self.label, self.detail),
            PageAction::Resolve => format!("{prefix}{} recovered: {state}", self.label),
        }
    }
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
            Event::Page(page) => {
                let action = match page.action {
                    PageAction::Trigger => "trigger",
                    PageAction::Resolve => "resolve",
                };
                format!("page:{}:{action}", page.dedup_key)
            }
            Event::Test { at, .. } => format!("test:{}", at.timestamp()),
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
            Event::Page(page) => page.summary(),
            Event::Test { site, .. } => format!(
                "[TEST] Test notification from Upstate ({site}): this target is set up. No component changed."
            ),
        }
    }

    /// A short title (email subject, ntfy title, card heading).
    pub fn title(&self) -> String {
        match self {
            Event::ComponentChanged { label, to, .. } => {
                format!("{label}: {}", to.as_str().replace('_', " "))
            }
            Event::IncidentUpdated { title, status, .. } => {
                format!("{title}: {}", status.replace('_', " "))
            }
            Event::Page(page) => {
                let prefix = if page.test { "[TEST] " } else { "" };
                if let Some(burn) = &page.burn {
                    let what = match page.action {
                        PageAction::Trigger => "error budget burn",
                        PageAction::Resolve => "burn stopped",
                    };
                    return format!("{prefix}{}: {what} ({})", page.label, burn.rule);
                }
                match page.action {
                    PageAction::Trigger => format!(
                        "{prefix}{}: {}",
                        page.label,
                        page.state.as_str().replace('_', " ")
                    ),
                    PageAction::Resolve => format!("{prefix}{}: recovered", page.label),
                }
            }
            Event::Test { .. } => "[TEST] Upstate test notification".to_owned(),
        }
    }

    /// The page that tells more.
    pub fn url(&self) -> &str {
        match self {
            Event::ComponentChanged { url, .. }
            | Event::IncidentUpdated { url, .. }
            | Event::Test { url, .. } => url,
            Event::Page(page) => &page.url,
        }
    }

    /// How urgent, for services with a priority scale: 2 = bad news, 1 = good news or
    /// information, 0 = a test.
    pub fn urgency(&self) -> u8 {
        match self {
            Event::ComponentChanged { from, to, .. } if to.severity() > from.severity() => 2,
            Event::Page(p) if p.test => 0,
            Event::Page(p) if p.action == PageAction::Trigger => 2,
            Event::Test { .. } => 0,
            _ => 1,
        }
    }
}

/// What a receiver answered, for `upstate notify test` and logs: secrets already scrubbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// "HTTP 202", "SMTP 250".
    pub status: String,
    /// The first few hundred characters of the answer's body.
    pub body: String,
}

/// Why one attempt failed. Messages never contain a secret: URLs are redacted and every
/// registered secret is scrubbed before one is built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// The receiver refused this event; sending the same bytes again will not help.
    #[error("refused: {status}: {body}")]
    Refused { status: String, body: String },
    /// Worth another attempt (timeout, connection, 5xx, 429).
    #[error("{0}")]
    Transient(String),
    /// The request could not be built from the config (a template error, a bad address).
    #[error("cannot build the notification: {0}")]
    Build(String),
}

impl SendError {
    fn is_permanent(&self) -> bool {
        !matches!(self, SendError::Transient(_))
    }
}

/// An HTTP request a notifier wants sent.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: reqwest::Method,
    /// The full URL, secrets included (a Telegram token is part of the path): never print it.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A POST of `body` as JSON.
    pub fn json(url: impl Into<String>, body: &serde_json::Value) -> Result<Self, SendError> {
        Ok(Self {
            method: reqwest::Method::POST,
            url: url.into(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: serde_json::to_vec(body).map_err(|e| SendError::Build(e.to_string()))?,
        })
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// How an event leaves the process.
#[derive(Debug, Clone)]
pub enum Delivery {
    Http(HttpRequest),
    Mail(Box<email::Mail>),
}

/// One kind of target: how an event becomes a request the service documents.
pub trait Notifier {
    /// The `kind = "..."` that configures it.
    fn kind(&self) -> &'static str;
    /// True for on-call services (trigger/resolve): decides the default routing (module doc).
    fn pages(&self) -> bool {
        false
    }
    /// True when the receiver forgets a firing alert it is not told about again (Alertmanager's
    /// `resolve_timeout`): open pages are re-sent every run, as Prometheus does.
    fn renews_open_pages(&self) -> bool {
        false
    }
    /// What tells two targets of this kind apart (URL plus routing key, chat id, recipients):
    /// hashed into the target's key in history, never stored or shown.
    fn identity(&self) -> String;
    /// Where it sends to, fit for display (no userinfo, query or token).
    fn shown(&self) -> String;
    /// The request for `event`.
    fn delivery(&self, event: &Event) -> Result<Delivery, SendError>;
}

impl TargetSpec {
    /// The kind's notifier.
    pub fn notifier(&self) -> &dyn Notifier {
        match self {
            Self::Webhook(n) => n,
            Self::Slack(n) => n,
            Self::Discord(n) => n,
            Self::Teams(n) => n,
            Self::Telegram(n) => n,
            Self::Ntfy(n) => n,
            Self::Email(n) => n,
            Self::PagerDuty(n) => n,
            Self::Opsgenie(n) => n,
            Self::Alertmanager(n) => n,
        }
    }
}

fn incident_event_id(incident: &str, status: &str, at: DateTime<Utc>) -> String {
    format!("incident:{incident}:{status}:{}", at.timestamp())
}

/// A target's key in [`NotifyMemory`]: a hash of what identifies it (never the URL or key
/// itself: they are secrets). Webhook and Slack targets keep the hash of their URL alone, so
/// history written before other kinds existed still matches.
pub fn target_key(config: &NotifyConfig) -> String {
    let notifier = config.target.notifier();
    let identity = match &config.target {
        TargetSpec::Webhook(_) | TargetSpec::Slack(_) => notifier.identity(),
        _ => format!("{}\n{}", notifier.kind(), notifier.identity()),
    };
    let digest = sha2::Sha256::digest(identity.as_bytes());
    hex::encode(&digest[..8])
}

/// One component as this run sees it.
struct ComponentNow {
    id: String,
    label: String,
    /// The state shown on the page (incidents and maintenance applied).
    state: ComponentState,
    /// The state the probe saw: what pages follow.
    probed: ComponentState,
    since: DateTime<Utc>,
    detail: String,
    url: String,
}

/// What this run could announce: every component's state (with when it began) and every
/// incident timeline entry. Which of them each target still needs is decided in [`deliver`].
pub struct Plan {
    components: Vec<ComponentNow>,
    /// Components an open incident with `suppress_pages: true` covers: no new trigger.
    suppressed: BTreeSet<String>,
    /// The objectives with their burn rates, in config order.
    objectives: Vec<crate::model::ServiceObjective>,
    base_url: String,
    /// Each incident event with the ids the same entry had under the incident's other ids
    /// ([`crate::model::IncidentView::aliases`]): any of them acknowledged means sent.
    incidents: Vec<(Event, Vec<String>)>,
    now: DateTime<Utc>,
}

/// Advances the memory's view of the current states and lists what could be announced.
/// `probed` holds each component's state as its probe saw it (before incidents are applied):
/// pages follow the checks, so declaring an incident never pages on-call by itself. A component
/// missing from it is judged by its shown state.
pub fn plan(
    snapshot: &Snapshot,
    probed: &BTreeMap<String, ComponentState>,
    memory: &mut NotifyMemory,
) -> Plan {
    let components = snapshot
        .components
        .iter()
        .filter_map(|c| component_now(c, snapshot, probed, memory))
        .collect();
    let incidents = snapshot
        .all_incidents
        .iter()
        .chain(&snapshot.maintenance)
        .flat_map(|i| incident_events(i, &snapshot.site.base_url))
        .collect();
    let suppressed = snapshot
        .all_incidents
        .iter()
        .filter(|i| i.active && i.suppress_pages)
        .flat_map(|i| i.components.iter().cloned())
        .collect();
    Plan {
        components,
        suppressed,
        objectives: snapshot.service_objectives.clone(),
        base_url: snapshot.site.base_url.clone(),
        incidents,
        now: snapshot.generated_at,
    }
}

/// One component as this run sees it, its state and paging clocks advanced in `memory`;
/// `None` if it was never observed (no state, so nothing to announce, and no "change" from
/// nothing).
fn component_now(
    c: &ComponentView,
    snapshot: &Snapshot,
    probed: &BTreeMap<String, ComponentState>,
    memory: &mut NotifyMemory,
) -> Option<ComponentNow> {
    let state = c.state?;
    let now = c.last_checked_at.unwrap_or(snapshot.generated_at);
    let since = match memory.current.get(&c.id) {
        Some((known, since)) if *known == state => *since,
        _ => now,
    };
    memory.current.insert(c.id.clone(), (state, since));
    let seen = probed.get(&c.id).copied().unwrap_or(state);
    advance_paging_clocks(memory, &c.id, state, seen, now);
    Some(ComponentNow {
        id: c.id.clone(),
        label: c.label.clone(),
        state,
        probed: seen,
        since,
        detail: c.detail.clone(),
        url: crate::text::uri(&format!(
            "{}/components/{}.html",
            snapshot.site.base_url, c.id
        )),
    })
}

/// Starts (at `now`) or stops a component's down and degraded clocks by the state its probe
/// `seen`. While a maintenance window covers the component (its shown `state`), neither runs.
fn advance_paging_clocks(
    memory: &mut NotifyMemory,
    id: &str,
    state: ComponentState,
    seen: ComponentState,
    now: DateTime<Utc>,
) {
    let maintenance = state == ComponentState::UnderMaintenance;
    let down = !maintenance && seen == ComponentState::MajorOutage;
    let degraded = !maintenance
        && matches!(
            seen,
            ComponentState::DegradedPerformance
                | ComponentState::PartialOutage
                | ComponentState::MajorOutage
        );
    for (holds, clock) in [
        (down, &mut memory.down_since),
        (degraded, &mut memory.degraded_since),
    ] {
        if holds {
            clock.entry(id.to_owned()).or_insert(now);
        } else {
            clock.remove(id);
        }
    }
}

/// An event per timeline entry of an incident or maintenance window (one for its start if it
/// has none), each with the ids the same entry has under the incident's aliases.
fn incident_events(i: &IncidentView, base_url: &str) -> Vec<(Event, Vec<String>)> {
    let mut entries: Vec<(DateTime<Utc>, String, String)> = i
        .updates
        .iter()
        .map(|u| {
            (
                u.at,
                u.status.as_str().to_owned(),
                crate::text::html_to_text(&u.message_html),
            )
        })
        .collect();
    if entries.is_empty()
        && let Some(at) = i.started_at
    {
        entries.push((at, i.status.as_str().to_owned(), String::new()));
    }
    entries
        .into_iter()
        .map(|(at, status, message)| {
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
                url: crate::text::uri(&format!("{}/incidents/{}.html", base_url, i.slug)),
            };
            (event, aliases)
        })
        .collect()
}

/// How long alerts stay valid at a receiver that expires them without news: three run intervals.
fn validity(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.run.interval.std().saturating_mul(3))
        .unwrap_or_else(|_| chrono::Duration::hours(1))
}

/// The page events a paging route needs this run.
fn pages_due(
    config: &Config,
    components: &[String],
    plan: &Plan,
    memory: &NotifyMemory,
    key: &str,
    renews: bool,
) -> Vec<Event> {
    let open = memory.paged.get(key).cloned().unwrap_or_default();
    let times = PageTimes {
        at: plan.now,
        valid_until: plan.now + validity(config),
    };
    let mut events = Vec::new();
    for now in &plan.components {
        let Some(rule) = components
            .contains(&now.id)
            .then(|| config.components.iter().find(|c| c.id == now.id))
            .flatten()
        else {
            continue;
        };
        let case = PageCase {
            now,
            open: open.get(&now.id),
            held: condition_since(rule, memory),
            after: to_chrono(rule.page.after),
            suppressed: plan.suppressed.contains(&now.id),
        };
        events.extend(case.due(renews, times));
    }
    // A page left open for a component that is gone or no longer routed here is closed.
    for (id, p) in &open {
        if !components.contains(id) || !plan.components.iter().any(|c| c.id == *id) {
            events.push(unrouted_resolve(id, p, times));
        }
    }
    events
}

/// When a run's page events were decided, and until when a receiver that expires alerts should
/// keep them firing (see [`validity`]).
#[derive(Clone, Copy)]
struct PageTimes {
    at: DateTime<Utc>,
    valid_until: DateTime<Utc>,
}

/// What decides one component's page event on one paging route.
struct PageCase<'a> {
    now: &'a ComponentNow,
    /// The page the target has open for it.
    open: Option<&'a OpenPage>,
    /// Since when its paging condition has held, if it holds.
    held: Option<DateTime<Utc>>,
    /// How long the condition must hold before it pages (`[component.page] after`).
    after: chrono::Duration,
    /// An open incident asked not to be paged for it.
    suppressed: bool,
}

impl PageCase<'_> {
    /// A trigger once the condition has held long enough (never in maintenance or when
    /// suppressed), the open page again when the target `renews`, a resolve once it ends.
    fn due(&self, renews: bool, times: PageTimes) -> Option<Event> {
        let now = self.now;
        let maintenance = now.state == ComponentState::UnderMaintenance;
        let again = |p: &OpenPage| {
            renews.then(|| {
                now.page(
                    times,
                    PageAction::Trigger,
                    p.dedup_key.clone(),
                    p.since,
                    p.opened,
                )
            })
        };
        match (self.open, self.held) {
            (Some(p), _) if maintenance => again(p),
            (None, _) if maintenance || self.suppressed => None,
            (None, Some(since)) if times.at - since >= self.after => {
                let dedup_key = format!("upstate-{}-{}", now.id, since.timestamp_millis());
                Some(now.page(times, PageAction::Trigger, dedup_key, since, now.probed))
            }
            (None, _) => None,
            (Some(p), None) => Some(now.page(
                times,
                PageAction::Resolve,
                p.dedup_key.clone(),
                p.since,
                p.opened,
            )),
            (Some(p), Some(_)) => again(p),
        }
    }
}

impl ComponentNow {
    /// The component's page event.
    fn page(
        &self,
        times: PageTimes,
        action: PageAction,
        dedup_key: String,
        since: DateTime<Utc>,
        opened: ComponentState,
    ) -> Event {
        Event::Page(Page {
            action,
            dedup_key,
            component: self.id.clone(),
            label: self.label.clone(),
            state: self.probed,
            opened,
            detail: self.detail.clone(),
            since,
            at: times.at,
            valid_until: times.valid_until,
            url: self.url.clone(),
            test: false,
            burn: None,
        })
    }
}

/// The resolve of a page `id` still open at the target for a component no longer routed to it.
fn unrouted_resolve(id: &str, p: &OpenPage, times: PageTimes) -> Event {
    Event::Page(Page {
        action: PageAction::Resolve,
        dedup_key: p.dedup_key.clone(),
        component: id.to_owned(),
        label: id.to_owned(),
        state: ComponentState::Operational,
        opened: p.opened,
        detail: "no longer paged for".to_owned(),
        since: p.since,
        at: times.at,
        valid_until: times.valid_until,
        url: String::new(),
        test: false,
        burn: None,
    })
}

fn to_chrono(d: crate::config::Duration) -> chrono::Duration {
    d.chrono()
}

/// Since when `component`'s paging condition has held, if it holds.
fn condition_since(component: &Component, memory: &NotifyMemory) -> Option<DateTime<Utc>> {
    match component.page.when {
        PageWhen::Down => memory.down_since.get(&component.id).copied(),
        PageWhen::Degraded => memory.degraded_since.get(&component.id).copied(),
    }
}

/// Sends each target what it has not acknowledged yet, concurrently, each attempt under the
/// target's timeout, up to three attempts with backoff. Returns the events sent and problems.
pub async fn deliver(
    config: &Config,
    plan: &Plan,
    memory: &mut NotifyMemory,
) -> (usize, Vec<String>) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => return (0, vec![e]),
    };
    let mut jobs = Vec::new();
    for (index, target) in config.notify.iter().enumerate() {
        let key = target_key(target);
        let renews = target.target.notifier().renews_open_pages();
        let mut events = match config.notify_route(index) {
            Route::Pages(components) => pages_due(config, &components, plan, memory, &key, renews),
            Route::Everything => chat_events(plan, memory, &key),
        };
        let burns = config.burn_route(index);
        events.extend(burn::pages_due(config, &burns, plan, memory, &key, renews));
        for event in events {
            let client = client.clone();
            let key = key.clone();
            jobs.push(async move {
                let result = send_with_retries(&client, target, &event).await;
                (key, event, result)
            });
        }
    }
    let mut problems = Vec::new();
    let mut delivered = 0;
    for (key, event, result) in futures_util::future::join_all(jobs).await {
        match result {
            Ok(_) => {
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
                    Event::Page(page) => {
                        let open = if page.burn.is_some() {
                            memory.burning.entry(key).or_default()
                        } else {
                            memory.paged.entry(key).or_default()
                        };
                        match page.action {
                            PageAction::Trigger => {
                                open.insert(
                                    page.component.clone(),
                                    OpenPage {
                                        dedup_key: page.dedup_key.clone(),
                                        since: page.since,
                                        opened: page.opened,
                                    },
                                );
                            }
                            PageAction::Resolve => {
                                open.remove(&page.component);
                            }
                        }
                    }
                    Event::Test { .. } => {}
                }
            }
            Err(e) => problems.push(e),
        }
    }
    (delivered, problems)
}

/// State changes and incident updates a chat target has not acknowledged yet. A target seen for
/// the first time records today's states and incidents as its baseline and gets nothing.
fn chat_events(plan: &Plan, memory: &mut NotifyMemory, key: &str) -> Vec<Event> {
    let Some(announced) = memory.announced.get(key).cloned() else {
        memory.announced.insert(
            key.to_owned(),
            plan.components
                .iter()
                .map(|c| (c.id.clone(), c.state))
                .collect(),
        );
        memory.sent.insert(
            key.to_owned(),
            plan.incidents.iter().map(|(e, _)| e.id()).collect(),
        );
        return Vec::new();
    };
    let sent = memory.sent.get(key).cloned().unwrap_or_default();
    let mut events: Vec<Event> = Vec::new();
    for c in &plan.components {
        match announced.get(&c.id) {
            Some(from) if *from != c.state => events.push(Event::ComponentChanged {
                component: c.id.clone(),
                label: c.label.clone(),
                from: *from,
                to: c.state,
                detail: c.detail.clone(),
                at: c.since,
                url: c.url.clone(),
            }),
            Some(_) => {}
            // A component added since the baseline: its first state is not a change.
            None => {
                memory
                    .announced
                    .entry(key.to_owned())
                    .or_default()
                    .insert(c.id.clone(), c.state);
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
    events
}

/// The HTTP client every notification uses: no redirects (a redirect could carry the body, and
/// its secrets, somewhere else).
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("upstate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the notification client: {}", e.without_url()))
}

/// How a target is named in messages: its `name` and kind, else its redacted address.
pub fn display_name(target: &NotifyConfig) -> String {
    let notifier = target.target.notifier();
    match &target.name {
        Some(name) => format!("{name} ({})", notifier.kind()),
        None => notifier.shown(),
    }
}

/// Sends `event` to `target` once.
pub async fn send_once(
    client: &reqwest::Client,
    target: &NotifyConfig,
    event: &Event,
) -> Result<Answer, SendError> {
    let delivery = target.target.notifier().delivery(event)?;
    match delivery {
        Delivery::Http(request) => send_http(client, &request, target.timeout.std()).await,
        Delivery::Mail(mail) => match &target.target {
            TargetSpec::Email(config) => email::send(config, &mail, target.timeout.std()).await,
            _ => Err(SendError::Build(
                "an email for a target that is not email".to_owned(),
            )),
        },
    }
}

async fn send_http(
    client: &reqwest::Client,
    request: &HttpRequest,
    timeout: Duration,
) -> Result<Answer, SendError> {
    let mut builder = client
        .request(request.method.clone(), &request.url)
        .timeout(timeout);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder
        .body(request.body.clone())
        .send()
        .await
        .map_err(|e| {
            SendError::Transient(if e.is_timeout() {
                format!(
                    "timed out after {}",
                    crate::config::Duration::from_millis(timeout.as_millis() as u64)
                )
            } else if e.is_connect() {
                "connection failed".to_owned()
            } else {
                // Never the error's text alone: reqwest puts the whole URL, token included, in it.
                crate::config::secret::scrub(&format!("request failed: {}", e.without_url()))
            })
        })?;
    let status = response.status();
    // Enough of the answer to show; a receiver that streams forever is cut off.
    let mut response = response;
    let mut bytes = Vec::new();
    while bytes.len() < 4096
        && let Ok(Some(chunk)) = response.chunk().await
    {
        bytes.extend_from_slice(&chunk);
    }
    let body = String::from_utf8_lossy(&bytes);
    let answer = Answer {
        status: format!("HTTP {}", status.as_u16()),
        body: short(&body),
    };
    if status.is_success() {
        Ok(answer)
    } else if status.is_client_error() && status.as_u16() != 429 {
        Err(SendError::Refused {
            status: answer.status,
            body: answer.body,
        })
    } else {
        Err(SendError::Transient(answer.status))
    }
}

/// At most 300 characters of `text` on one line, secrets scrubbed.
pub(crate) fn short(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    crate::config::secret::scrub(flat.trim())
}

async fn send_with_retries(
    client: &reqwest::Client,
    target: &NotifyConfig,
    event: &Event,
) -> Result<Answer, String> {
    let name = display_name(target);
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
        }
        match send_once(client, target, event).await {
            Ok(answer) => {
                tracing::debug!(target = %name, event = %event.id(), status = %answer.status, "Notification delivered.");
                return Ok(answer);
            }
            Err(e) if e.is_permanent() => {
                tracing::debug!(target = %name, event = %event.id(), "Notification refused.");
                return Err(format!("notification to {name} {e}"));
            }
            Err(e) => {
                tracing::debug!(target = %name, event = %event.id(), attempt, "Notification attempt failed.");
                last = e.to_string();
            }
        }
    }
    Err(format!(
        "notification to {name} failed after 3 attempts: {last}"
    ))
}

/// The test events `upstate notify test` sends to `target`: a chat target gets one clearly
/// marked message; a paging target gets a marked trigger and its resolve, so the alert it opens
/// is closed again at once.
pub fn test_events(config: &Config, target: &NotifyConfig) -> Vec<Event> {
    let now = Utc::now();
    let url = format!("{}/", config.site.base_url);
    if target.target.notifier().pages() {
        let page = |action| {
            Event::Page(Page {
                action,
                dedup_key: format!("upstate-test-{}", now.timestamp()),
                component: "upstate-test".to_owned(),
                label: "Upstate test page".to_owned(),
                opened: ComponentState::MajorOutage,
                state: match action {
                    PageAction::Trigger => ComponentState::MajorOutage,
                    PageAction::Resolve => ComponentState::Operational,
                },
                detail: "sent by `upstate notify test`; nothing is down".to_owned(),
                since: now,
                at: now,
                valid_until: now + chrono::Duration::minutes(5),
                url: url.clone(),
                test: true,
                burn: None,
            })
        };
        vec![page(PageAction::Trigger), page(PageAction::Resolve)]
    } else {
        vec![Event::Test {
            site: config.site.title.to_string(),
            at: now,
            url,
        }]
    }
}

/// The JSON body the generic webhook sends for an event (kept for callers of the old API).
pub fn body(event: &Event) -> Vec<u8> {
    webhook::default_body(event)
}
