//! `kind = "telegram"`: the Bot API's `sendMessage`, `POST {url}/bot<bot_token>/sendMessage` with
//! `chat_id` and `text` in `parse_mode` HTML, every text HTML-escaped. The token is part of the
//! URL, so the URL is never shown: only `api.telegram.org/bot***`.

use serde::Deserialize;
use serde_json::json;

use super::{Delivery, Event, HttpRequest, Notifier, SendError};
use crate::config::secret::redact_url;
use crate::config::{EnvString, Secret};
use crate::text::html_escape as telegram_html;

/// The public Bot API.
const API_URL: &str = "https://api.telegram.org";

/// `[[notify]] kind = "telegram"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot's token from @BotFather (`123456:ABC...`).
    pub bot_token: Secret,
    /// The chat, group or channel: a numeric id or `@channelname`.
    pub chat_id: EnvString,
    /// The Bot API's base URL; default `https://api.telegram.org` (a local Bot API server).
    pub url: Option<Secret>,
}

impl TelegramConfig {
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let token = self.bot_token.expose();
        if token.is_empty() || token.contains(['/', '?', '#', ' ']) {
            return Err((
                "bot_token",
                "`bot_token` is not a bot token\n= help: paste the token @BotFather gave, e.g. bot_token = \"${TELEGRAM_BOT_TOKEN}\"".to_owned(),
            ));
        }
        if self.chat_id.is_empty() {
            return Err((
                "chat_id",
                "`chat_id` is empty\n= help: a numeric chat id, or @channelname".to_owned(),
            ));
        }
        Ok(())
    }

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
