//! `kind = "ntfy"`: ntfy's publish API, `POST` the message as plain text to the topic URL with
//! `Title`, `Priority`, `Tags` and `Click` headers (non-ASCII header text RFC 2047-encoded, which
//! ntfy decodes). A protected topic takes an access `token` (`Authorization: Bearer`).

use super::markup::header_value;
use super::{Delivery, Event, HttpRequest, Notifier, SendError};
use crate::config::notify::NtfyConfig;
use crate::config::secret::redact_url;

impl Notifier for NtfyConfig {
    fn kind(&self) -> &'static str {
        "ntfy"
    }

    fn identity(&self) -> String {
        self.url.expose().to_owned()
    }

    fn shown(&self) -> String {
        // The path is the topic, which is the credential on a public server.
        let shown = redact_url(self.url.expose());
        match shown.split_once("://") {
            Some((scheme, rest)) => format!(
                "{scheme}://{}/***",
                rest.split('/').next().unwrap_or_default()
            ),
            None => "***".to_owned(),
        }
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        // ntfy's scale: 5 urgent, 4 high, 3 default, 2 low.
        let (priority, tags) = match event.urgency() {
            2 => ("5", "rotating_light,upstate"),
            1 => ("3", "white_check_mark,upstate"),
            _ => ("2", "test_tube,upstate"),
        };
        let mut request = HttpRequest {
            method: reqwest::Method::POST,
            url: self.url.expose().to_owned(),
            headers: vec![(
                "content-type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            )],
            body: event.summary().into_bytes(),
        }
        .header("title", header_value(&event.title()))
        .header("priority", priority)
        .header("tags", tags)
        .header("click", header_value(event.url()));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {}", token.expose()));
        }
        Ok(Delivery::Http(request))
    }
}
