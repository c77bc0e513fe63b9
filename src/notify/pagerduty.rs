//! `kind = "pagerduty"`: PagerDuty Events API v2. `POST /v2/enqueue` with the integration's
//! `routing_key`; `event_action` is `trigger` when a component's paging condition has held long
//! enough and `resolve` when it ends, both with the same `dedup_key`, so PagerDuty closes the
//! alert it opened. `payload.severity` follows the state (major outage `critical`, partial
//! `error`, degraded `warning`). A chat-style event (not a page) is sent as an `info` trigger
//! keyed by its id, which PagerDuty deduplicates.

use serde_json::json;

use super::{Delivery, Event, HttpRequest, Notifier, PageAction, SendError};
use crate::config::Secret;
use crate::config::notify::PagerDutyConfig;
use crate::config::secret::redact_url;

/// The public endpoint; `url` overrides it (an EU proxy, a test receiver).
const ENQUEUE_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// PagerDuty's limit on `payload.summary`.
const SUMMARY_LIMIT: usize = 1024;

impl PagerDutyConfig {
    fn endpoint(&self) -> &str {
        self.url.as_ref().map_or(ENQUEUE_URL, Secret::expose)
    }
}

fn truncate(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

impl Notifier for PagerDutyConfig {
    fn kind(&self) -> &'static str {
        "pagerduty"
    }

    fn pages(&self) -> bool {
        true
    }

    fn identity(&self) -> String {
        format!("{}\n{}", self.endpoint(), self.routing_key.expose())
    }

    fn shown(&self) -> String {
        redact_url(self.endpoint())
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let body = match event {
            Event::Page(page) if page.action == PageAction::Resolve => json!({
                "routing_key": self.routing_key.expose(),
                "event_action": "resolve",
                "dedup_key": page.dedup_key,
            }),
            Event::Page(page) => json!({
                "routing_key": self.routing_key.expose(),
                "event_action": "trigger",
                "dedup_key": page.dedup_key,
                "payload": {
                    "summary": truncate(&page.summary(), SUMMARY_LIMIT),
                    "source": page.url,
                    "severity": page.severity(),
                    "timestamp": page.since.to_rfc3339(),
                    "component": page.component,
                    "class": "status probe",
                    "custom_details": {
                        "state": page.state.as_str(),
                        "detail": page.detail,
                        "test": page.test,
                    },
                },
                "client": "Upstate",
                "client_url": page.url,
                "links": [{ "href": page.url, "text": "Status page" }],
            }),
            other => json!({
                "routing_key": self.routing_key.expose(),
                "event_action": "trigger",
                "dedup_key": other.id(),
                "payload": {
                    "summary": truncate(&other.summary(), SUMMARY_LIMIT),
                    "source": other.url(),
                    "severity": "info",
                },
                "client": "Upstate",
                "client_url": other.url(),
            }),
        };
        Ok(Delivery::Http(HttpRequest::json(self.endpoint(), &body)?))
    }
}
