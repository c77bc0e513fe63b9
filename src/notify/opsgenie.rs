//! `kind = "opsgenie"`: Opsgenie's Alert API. A page creates an alert (`POST /v2/alerts`) whose
//! `alias` is the page's dedup key, and closes it by that alias
//! (`POST /v2/alerts/{alias}/close?identifierType=alias`). Authenticated with
//! `Authorization: GenieKey <api_key>` (an API integration's key).

use serde_json::json;

use super::{Delivery, Event, HttpRequest, Notifier, PageAction, SendError};
use crate::config::Secret;
use crate::config::notify::OpsgenieConfig;
use crate::config::secret::redact_url;

/// The US endpoint; EU accounts set `url = "https://api.eu.opsgenie.com"`.
const API_URL: &str = "https://api.opsgenie.com";

/// Opsgenie's limit on `message`.
const MESSAGE_LIMIT: usize = 130;

impl OpsgenieConfig {
    fn base(&self) -> &str {
        self.url
            .as_ref()
            .map_or(API_URL, Secret::expose)
            .trim_end_matches('/')
    }
}

/// Opsgenie's priorities from the state: P1 down, P2 partial, P3 degraded, P5 a test.
fn priority(event: &Event) -> &'static str {
    match event {
        Event::Page(p) if p.test => "P5",
        Event::Page(p) => match p.severity() {
            "critical" => "P1",
            "error" => "P2",
            "warning" => "P3",
            _ => "P4",
        },
        _ => "P5",
    }
}

impl Notifier for OpsgenieConfig {
    fn kind(&self) -> &'static str {
        "opsgenie"
    }

    fn pages(&self) -> bool {
        true
    }

    fn identity(&self) -> String {
        format!("{}\n{}", self.base(), self.api_key.expose())
    }

    fn shown(&self) -> String {
        redact_url(self.base())
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let auth = format!("GenieKey {}", self.api_key.expose());
        let request = match event {
            Event::Page(page) if page.action == PageAction::Resolve => HttpRequest::json(
                format!(
                    "{}/v2/alerts/{}/close?identifierType=alias",
                    self.base(),
                    page.dedup_key
                ),
                &json!({ "source": "Upstate", "note": page.summary() }),
            )?,
            Event::Page(page) => HttpRequest::json(
                format!("{}/v2/alerts", self.base()),
                &json!({
                    "message": page.summary().chars().take(MESSAGE_LIMIT).collect::<String>(),
                    "alias": page.dedup_key,
                    "description": format!("{}\n\n{}", page.summary(), page.url),
                    "source": "Upstate",
                    "entity": page.component,
                    "priority": priority(event),
                    "tags": ["upstate", page.state.as_str()],
                    "details": { "state": page.state.as_str(), "status_page": page.url, "test": page.test.to_string() },
                }),
            )?,
            other => HttpRequest::json(
                format!("{}/v2/alerts", self.base()),
                &json!({
                    "message": other.summary().chars().take(MESSAGE_LIMIT).collect::<String>(),
                    "alias": other.id(),
                    "description": format!("{}\n\n{}", other.summary(), other.url()),
                    "source": "Upstate",
                    "priority": priority(other),
                }),
            )?,
        };
        Ok(Delivery::Http(request.header("authorization", auth)))
    }
}
