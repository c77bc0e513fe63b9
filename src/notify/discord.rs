//! `kind = "discord"`: a Discord channel webhook ("Execute Webhook": `POST` the webhook URL with
//! an `embeds` entry). Text is Markdown-escaped and `allowed_mentions` is empty, so an
//! `@everyone` or a link in a probe's error shows as text and pings no one.

use serde_json::json;

use super::markup::markdown_escape;
use super::{Delivery, Event, HttpRequest, Notifier, SendError};
use crate::config::notify::DiscordConfig;
use crate::config::secret::redact_url;

/// Embed colours: red for bad news, green for good news, grey for a test.
const RED: u32 = 0xD9_3025;
const GREEN: u32 = 0x2E_B67D;
const GREY: u32 = 0x8A_8A8A;

impl Notifier for DiscordConfig {
    fn kind(&self) -> &'static str {
        "discord"
    }

    fn identity(&self) -> String {
        self.url.expose().to_owned()
    }

    fn shown(&self) -> String {
        redact_url(self.url.expose())
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let color = match event.urgency() {
            2 => RED,
            1 => GREEN,
            _ => GREY,
        };
        let body = json!({
            "username": "Upstate",
            "embeds": [{
                "title": markdown_escape(&event.title()),
                "description": markdown_escape(&event.summary()),
                "url": event.url(),
                "color": color,
            }],
            "allowed_mentions": { "parse": [] },
        });
        Ok(Delivery::Http(HttpRequest::json(self.url.expose(), &body)?))
    }
}
