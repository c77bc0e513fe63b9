//! `kind = "slack"`: Slack's incoming-webhook format (`{"text": ...}`), which Mattermost,
//! Rocket.Chat and Discord's `/slack` endpoints also accept.

use super::{Delivery, Event, HttpRequest, Notifier, SendError};
use crate::config::notify::SlackConfig;
use crate::config::secret::redact_url;

/// `{"text": "<summary> <link>"}`: the summary with Slack's three characters escaped (so
/// `<!channel>` in a title is text), the link a valid URI with nothing that ends it early.
pub fn body(event: &Event) -> Vec<u8> {
    let text = crate::text::slack_escape(&event.summary());
    let link = crate::text::slack_link(event.url(), "details");
    // A `Value`'s Display is its compact JSON and cannot fail.
    serde_json::json!({ "text": format!("{text} {link}") })
        .to_string()
        .into_bytes()
}

impl Notifier for SlackConfig {
    fn kind(&self) -> &'static str {
        "slack"
    }

    fn identity(&self) -> String {
        self.url.expose().to_owned()
    }

    fn shown(&self) -> String {
        redact_url(self.url.expose())
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let body = body(event);
        let mut request = HttpRequest {
            method: reqwest::Method::POST,
            url: self.url.expose().to_owned(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Vec::new(),
        }
        // Ids are built from `[a-z0-9_-]` slugs; encoded anyway, a header cannot take CR/LF.
        .header("x-upstate-event", crate::text::header_value(&event.id()));
        if let Some(secret) = &self.secret {
            request = request.header(
                "x-upstate-signature",
                super::webhook::signature(secret.expose(), &body),
            );
        }
        request.body = body;
        Ok(Delivery::Http(request))
    }
}
