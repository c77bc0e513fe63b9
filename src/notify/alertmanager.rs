//! `kind = "alertmanager"`: Prometheus Alertmanager's v2 API, `POST {url}/api/v2/alerts` with a
//! JSON array of alerts (`labels`, `annotations`, `startsAt`, `endsAt`, `generatorURL`), so
//! teams route pages through the silences, inhibitions and receivers they already run.
//!
//! Alertmanager forgets a firing alert it stops hearing about (its `resolve_timeout`), so an open
//! page is sent again every run with `endsAt` a few run intervals ahead, as Prometheus does; the
//! resolve sends the same labels with `endsAt` now. An objective's burn-rate alert is named
//! `UpstateErrorBudgetBurn`, its `component` label the alert's id.

use serde_json::json;

use super::{Delivery, Event, HttpRequest, Notifier, PageAction, SendError};
use crate::config::notify::AlertmanagerConfig;
use crate::config::secret::redact_url;

impl AlertmanagerConfig {
    fn base(&self) -> &str {
        self.url.expose().trim_end_matches('/')
    }
}

impl Notifier for AlertmanagerConfig {
    fn kind(&self) -> &'static str {
        "alertmanager"
    }

    fn pages(&self) -> bool {
        true
    }

    fn renews_open_pages(&self) -> bool {
        true
    }

    fn identity(&self) -> String {
        self.base().to_owned()
    }

    fn shown(&self) -> String {
        redact_url(self.base())
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let alert = match event {
            Event::Page(page) => {
                let ends_at = match page.action {
                    PageAction::Trigger => page.valid_until,
                    PageAction::Resolve => page.at,
                };
                let alertname = if page.burn.is_some() {
                    "UpstateErrorBudgetBurn"
                } else {
                    "UpstateComponentUnhealthy"
                };
                json!({
                    "labels": {
                        "alertname": alertname,
                        "component": page.component,
                        "severity": page.severity(),
                        "source": "upstate",
                        "dedup_key": page.dedup_key,
                    },
                    "annotations": {
                        "summary": page.summary(),
                        "description": page.detail,
                        "state": page.state.as_str(),
                    },
                    "startsAt": page.since.to_rfc3339(),
                    "endsAt": ends_at.to_rfc3339(),
                    "generatorURL": page.url,
                })
            }
            other => {
                let at = match other {
                    Event::ComponentChanged { at, .. }
                    | Event::IncidentUpdated { at, .. }
                    | Event::Test { at, .. } => *at,
                    Event::Page(p) => p.at,
                };
                json!({
                    "labels": { "alertname": "UpstateNotice", "source": "upstate", "event": other.id() },
                    "annotations": { "summary": other.summary() },
                    "startsAt": at.to_rfc3339(),
                    "endsAt": (at + chrono::Duration::minutes(5)).to_rfc3339(),
                    "generatorURL": other.url(),
                })
            }
        };
        let request = HttpRequest::json(format!("{}/api/v2/alerts", self.base()), &json!([alert]))?;
        Ok(Delivery::Http(request))
    }
}
