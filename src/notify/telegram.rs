//! `kind = "telegram"`: the Bot API's `sendMessage`, `POST {url}/bot<bot_token>/sendMessage` with
//! `chat_id` and `text` in `parse_mode` HTML, every text HTML-escaped. The token is part of the
//! URL, so the URL is never shown: only `api.telegram.org/bot***`.

use serde_json::json;

use super::{Delivery, Event, HttpRequest, Notifier, SendError};
use crate::config::Secret;
use crate::config::notify::TelegramConfig;
use crate::config::secret::redact_url;
use crate::text::html_escape as telegram_html;

/// The public Bot API.
const API_URL: &str = "https://api.telegram.org";

impl TelegramConfig {
    fn base(&self) -> &str {
        self.url
            .as_ref()
            .map_or(API_URL, Secret::expose)
            .trim_end_matches('/')
    }
}

impl Notifier for TelegramConfig {
    fn kind(&self) -> &'static str {
        "telegram"
    }

    fn identity(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.base(),
            self.bot_token.expose(),
            self.chat_id
        )
    }

    fn shown(&self) -> String {
        format!("{}/bot***", redact_url(self.base()))
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let text = format!(
            "<b>{}</b>\n{}\n<a href=\"{}\">Status page</a>",
            telegram_html(&event.title()),
            telegram_html(&event.summary()),
            telegram_html(event.url()),
        );
        let body = json!({
            "chat_id": self.chat_id.as_str(),
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": { "is_disabled": true },
        });
        let url = format!("{}/bot{}/sendMessage", self.base(), self.bot_token.expose());
        Ok(Delivery::Http(HttpRequest::json(url, &body)?))
    }
}
