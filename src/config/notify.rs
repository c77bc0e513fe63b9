//! `[[notify]]` targets' own settings, by kind, and the checks serde cannot make (a URL that
//! parses, a template that compiles, addresses that parse, a CA file that holds a
//! certificate). Config owns these types so that reading `upstate.toml` never depends on the
//! notify stage above it; each kind's sending lives in `src/notify/<kind>.rs`, which
//! implements `notify::Notifier` for the type defined here.

use std::path::{Path, PathBuf};

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Certificate;
use serde::Deserialize;

use crate::document::{KindError, Masked, parse_kind};
use crate::secret::{EnvString, Secret};

/// One `[[notify]]` target's own settings, by kind.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    Webhook(WebhookConfig),
    Slack(SlackConfig),
    Discord(DiscordConfig),
    Teams(TeamsConfig),
    Telegram(TelegramConfig),
    Ntfy(NtfyConfig),
    Email(EmailConfig),
    PagerDuty(PagerDutyConfig),
    Opsgenie(OpsgenieConfig),
    Alertmanager(AlertmanagerConfig),
}

impl TargetSpec {
    /// Every kind `[[notify]]` accepts.
    pub const KINDS: [&'static str; 10] = [
        "webhook",
        "slack",
        "discord",
        "teams",
        "telegram",
        "ntfy",
        "email",
        "pagerduty",
        "opsgenie",
        "alertmanager",
    ];

    /// Reads a kind's keys from a masked config document (see `crate::document`).
    pub(crate) fn parse(kind: &str, masked: &Masked) -> Result<Self, KindError> {
        Ok(match kind {
            "slack" => Self::Slack(parse_kind(masked)?),
            "discord" => Self::Discord(parse_kind(masked)?),
            "teams" => Self::Teams(parse_kind(masked)?),
            "telegram" => Self::Telegram(parse_kind(masked)?),
            "ntfy" => Self::Ntfy(parse_kind(masked)?),
            "email" => Self::Email(parse_kind(masked)?),
            "pagerduty" => Self::PagerDuty(parse_kind(masked)?),
            "opsgenie" => Self::Opsgenie(parse_kind(masked)?),
            "alertmanager" => Self::Alertmanager(parse_kind(masked)?),
            _ => Self::Webhook(parse_kind(masked)?),
        })
    }

    /// Checks what serde cannot (a template that compiles, addresses that parse), and loads
    /// what the kind needs from disk. An error names the key at fault and says how to fix it.
    pub fn validate(&mut self, base_dir: &std::path::Path) -> Result<(), (&'static str, String)> {
        let url = match self {
            Self::Webhook(n) => Some(&n.url),
            Self::Slack(n) => Some(&n.url),
            Self::Discord(n) => Some(&n.url),
            Self::Teams(n) => Some(&n.url),
            Self::Ntfy(n) => Some(&n.url),
            Self::Alertmanager(n) => Some(&n.url),
            Self::Telegram(n) => n.url.as_ref(),
            Self::PagerDuty(n) => n.url.as_ref(),
            Self::Opsgenie(n) => n.url.as_ref(),
            Self::Email(_) => None,
        };
        if let Some(url) = url {
            check_url(url.expose())?;
        }
        match self {
            Self::Webhook(w) => w.validate(),
            Self::Email(e) => e.validate(base_dir),
            Self::Telegram(t) => t.validate(),
            _ => Ok(()),
        }
    }
}

/// A target URL must be absolute http(s); the message never repeats it (it may hold a token).
fn check_url(url: &str) -> Result<(), (&'static str, String)> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        _ => Err((
            "url",
            "`url` must be an absolute http:// or https:// URL\n= help: write url = \"https://…\", or \"${NAME}\" to read it from the environment".to_owned(),
        )),
    }
}

/// `[[notify]] kind = "webhook"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST. A secret: such URLs often carry a token.
    pub url: Secret,
    /// Signs each body (HMAC-SHA256) so the receiver can tell it came from us.
    pub secret: Option<Secret>,
    /// A Tera template for the body, rendered with `event` (the JSON event: `type`, `id`,
    /// `summary`, `title`, `url` and the event's own fields). Filter `json` encodes a value as
    /// a JSON string: `{"text": {{ event.summary | json }}}`.
    pub template: Option<String>,
    /// The body's media type; `application/json` unless set.
    #[serde(default = "default_content_type")]
    pub content_type: String,
}

fn default_content_type() -> String {
    "application/json".to_owned()
}

impl WebhookConfig {
    /// A template that does not compile is a config error, not a failed notification at 3 a.m.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        match &self.template {
            Some(template) => webhook_tera(template).map(|_| ()).map_err(|e| {
                ("template", format!("`template` does not compile: {e}\n= help: see https://keats.github.io/tera/ for the syntax"))
            }),
            None => Ok(()),
        }
    }
}

/// The webhook's body template with its `json` filter; compiled here to validate it and by
/// `notify::webhook` to render each body.
pub(crate) fn webhook_tera(template: &str) -> Result<tera::Tera, tera::Error> {
    let mut tera = tera::Tera::new();
    tera.register_filter(
        "json",
        |v: tera::Value, _: tera::Kwargs, _: &tera::State| {
            serde_json::to_string(&v).unwrap_or_else(|_| "null".to_owned())
        },
    );
    tera.autoescape_on(Vec::<&str>::new());
    tera.add_raw_template("body", template)?;
    Ok(tera)
}

/// `[[notify]] kind = "slack"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming-webhook URL (a secret: the path is the credential).
    pub url: Secret,
    /// Kept for configs written before it was webhook-only: signs the body as webhooks do.
    pub secret: Option<Secret>,
}

/// `[[notify]] kind = "discord"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The channel webhook URL (a secret: its path is the credential).
    pub url: Secret,
}

/// `[[notify]] kind = "teams"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    /// The workflow's HTTP POST URL (a secret: its query carries the signature).
    pub url: Secret,
}

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
}

/// `[[notify]] kind = "ntfy"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtfyConfig {
    /// The topic URL (`https://ntfy.sh/<topic>`). A secret: on a public server the topic name
    /// is the only thing keeping others from reading or posting.
    pub url: Secret,
    /// An access token for a protected topic.
    pub token: Option<Secret>,
}

/// `[[notify]] kind = "email"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The relay: `smtp://user:password@host:587` (STARTTLS) or `smtps://…:465` (TLS).
    pub smtp: Secret,
    /// The sender, `Status <status@example.com>`.
    pub from: EnvString,
    /// One address or a list.
    pub to: Recipients,
    /// PEM file of the CA that signed the relay's certificate, for a private relay (relative to
    /// the config file); the public web's roots are trusted too.
    pub ca_file: Option<PathBuf>,
    /// The CA certificates read from `ca_file` when the config was validated.
    #[serde(skip)]
    pub(crate) ca_pem: Option<Vec<u8>>,
}

/// `to = "a@example.com"` or `to = ["a@example.com", "b@example.com"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Recipients {
    One(EnvString),
    Many(Vec<EnvString>),
}

impl Recipients {
    pub(crate) fn list(&self) -> Vec<&str> {
        match self {
            Recipients::One(one) => vec![one.as_str()],
            Recipients::Many(many) => many.iter().map(EnvString::as_str).collect(),
        }
    }
}

/// The relay's address and login, read from `smtp`.
pub(crate) struct Relay {
    pub(crate) implicit_tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<Credentials>,
    /// The decoded password, to register for scrubbing.
    pub(crate) password: Option<String>,
}

impl EmailConfig {
    /// Parses the relay URL and the addresses, and reads `ca_file`.
    pub fn validate(&mut self, base_dir: &Path) -> Result<(), (&'static str, String)> {
        let relay = self.relay().map_err(|e| ("smtp", e))?;
        if let Some(password) = relay.password {
            // Registered for scrubbing as the relay sees it, decoded (`%40` -> `@`).
            Secret::new(password);
        }
        let help_from = "\n= help: write from = \"Status <status@example.com>\"";
        let help_to = "\n= help: write to = [\"oncall@example.com\"]";
        self.from
            .parse::<Mailbox>()
            .map_err(|e| ("from", format!("`from` is not an address ({e}){help_from}")))?;
        if self.to.list().is_empty() {
            return Err(("to", format!("`to` lists no address{help_to}")));
        }
        for to in self.to.list() {
            to.parse::<Mailbox>().map_err(|e| {
                (
                    "to",
                    format!("`to` address `{to}` is not an address ({e}){help_to}"),
                )
            })?;
        }
        if let Some(file) = &self.ca_file {
            let path = if file.is_absolute() {
                file.clone()
            } else {
                base_dir.join(file)
            };
            let shown = path.display().to_string();
            let pem = std::fs::read(&path)
                .map_err(|e| ("ca_file", format!("cannot read `ca_file` {shown}: {e}")))?;
            Certificate::from_pem(&pem).map_err(|_| {
                (
                    "ca_file",
                    format!("`ca_file` {shown} holds no PEM certificate"),
                )
            })?;
            self.ca_pem = Some(pem);
        }
        Ok(())
    }

    pub(crate) fn relay(&self) -> Result<Relay, String> {
        let help = "\n= help: write smtp = \"smtp://user:${SMTP_PASSWORD}@mail.example.com:587\" (STARTTLS) or smtps://…:465";
        let url = reqwest::Url::parse(self.smtp.expose())
            .map_err(|_| format!("`smtp` is not a URL{help}"))?;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "`smtp` must start with smtp:// or smtps://, not {other}://{help}"
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`smtp` names no host{help}"))?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port().unwrap_or(if implicit_tls { 465 } else { 587 });
        let password = url.password().map(crate::text::percent_decode);
        let credentials = (!url.username().is_empty()).then(|| {
            Credentials::new(
                crate::text::percent_decode(url.username()),
                password.clone().unwrap_or_default(),
            )
        });
        Ok(Relay {
            implicit_tls,
            host,
            port,
            credentials,
            password,
        })
    }
}
/// `[[notify]] kind = "pagerduty"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// The Events API v2 integration key of the service to page.
    pub routing_key: Secret,
    /// The enqueue endpoint; default `https://events.pagerduty.com/v2/enqueue`.
    pub url: Option<Secret>,
}

/// `[[notify]] kind = "opsgenie"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieConfig {
    /// An API integration's key.
    pub api_key: Secret,
    /// The API's base URL; default `https://api.opsgenie.com`.
    pub url: Option<Secret>,
}

/// `[[notify]] kind = "alertmanager"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Alertmanager's base URL (`http://alertmanager:9093`); `/api/v2/alerts` is appended.
    pub url: Secret,
}
