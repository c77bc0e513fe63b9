//! `kind = "teams"`: Microsoft Teams through a Workflows webhook ("When a Teams webhook request
//! is received"), which accepts only Adaptive Cards: a `message` with one attachment of
//! `contentType` `application/vnd.microsoft.card.adaptive`. Text blocks are Markdown, so every
//! text is escaped.

use serde_json::json;

use super::markup::markdown_escape;
use super::{Delivery, Event, HttpRequest, Notifier, SendError};
use crate::config::notify::TeamsConfig;
use crate::config::secret::redact_url;

impl Notifier for TeamsConfig {
    fn kind(&self) -> &'static str {
        "teams"
    }

    fn identity(&self) -> String {
        self.url.expose().to_owned()
    }

    fn shown(&self) -> String {
        redact_url(self.url.expose())
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let color = match event.urgency() {
            2 => "Attention",
            1 => "Good",
            _ => "Default",
        };
        let card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {
                    "type": "TextBlock",
                    "text": markdown_escape(&event.title()),
                    "weight": "Bolder",
                    "size": "Medium",
                    "color": color,
                    "wrap": true,
                },
                { "type": "TextBlock", "text": markdown_escape(&event.summary()), "wrap": true },
            ],
            "actions": [
                { "type": "Action.OpenUrl", "title": "Status page", "url": event.url() },
            ],
        });
        let body = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        });
        Ok(Delivery::Http(HttpRequest::json(self.url.expose(), &body)?))
    }
}
