//! `kind = "email"`: a plain-text mail through an SMTP relay, always encrypted: `smtp://` upgrades
//! with STARTTLS (required, never optional: credentials are not sent in the clear) and
//! `smtps://` speaks TLS from the first byte. Built on `lettre` with rustls (aws-lc-rs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use super::{Answer, Delivery, Event, Notifier, SendError, short};
use crate::config::secret::scrub;
use crate::config::{EnvString, Secret};

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
    ca_pem: Option<Vec<u8>>,
}

/// `to = "a@example.com"` or `to = ["a@example.com", "b@example.com"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Recipients {
    One(EnvString),
    Many(Vec<EnvString>),
}

impl Recipients {
    fn list(&self) -> Vec<&str> {
        match self {
            Recipients::One(one) => vec![one.as_str()],
            Recipients::Many(many) => many.iter().map(EnvString::as_str).collect(),
        }
    }
}

/// The relay's address and login, read from `smtp`.
struct Relay {
    implicit_tls: bool,
    host: String,
    port: u16,
    credentials: Option<Credentials>,
    /// The decoded password, to register for scrubbing.
    password: Option<String>,
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

    fn relay(&self) -> Result<Relay, String> {
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

/// A mail ready to send.
#[derive(Debug, Clone)]
pub struct Mail {
    message: Message,
}

impl Notifier for EmailConfig {
    fn kind(&self) -> &'static str {
        "email"
    }

    fn identity(&self) -> String {
        format!("{}\n{}", self.smtp.expose(), self.to.list().join(","))
    }

    fn shown(&self) -> String {
        match self.relay() {
            Ok(relay) => format!(
                "{}:{} to {}",
                relay.host,
                relay.port,
                self.to.list().join(", ")
            ),
            Err(_) => "***".to_owned(),
        }
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let bad = |e: String| SendError::Build(scrub(&e));
        let from: Mailbox = self.from.parse().map_err(|e| bad(format!("`from`: {e}")))?;
        let mut builder = Message::builder()
            .from(from)
            .subject(format!("[Upstate] {}", event.title()))
            .header(lettre::message::header::ContentType::TEXT_PLAIN);
        for to in self.to.list() {
            builder = builder.to(to.parse().map_err(|e| bad(format!("`to`: {e}")))?);
        }
        let body = format!(
            "{}\n\nStatus page: {}\n\nEvent: {}\n-- \nSent by Upstate.\n",
            event.summary(),
            event.url(),
            event.id()
        );
        let message = builder.body(body).map_err(|e| bad(e.to_string()))?;
        Ok(Delivery::Mail(Box::new(Mail { message })))
    }
}

/// Sends `mail` through the relay once.
pub async fn send(
    config: &EmailConfig,
    mail: &Mail,
    timeout: Duration,
) -> Result<Answer, SendError> {
    let relay = config.relay().map_err(|e| SendError::Build(scrub(&e)))?;
    let mut tls = TlsParameters::builder(relay.host.clone());
    if let Some(pem) = &config.ca_pem {
        let cert = Certificate::from_pem(pem).map_err(|e| SendError::Build(e.to_string()))?;
        tls = tls.add_root_certificate(cert);
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| SendError::Build(scrub(&e.to_string())))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay.host.as_str())
        .port(relay.port)
        .timeout(Some(timeout))
        .tls(if relay.implicit_tls {
            Tls::Wrapper(tls)
        } else {
            Tls::Required(tls)
        });
    if let Some(credentials) = relay.credentials {
        builder = builder.credentials(credentials);
    }
    let transport = builder.build();
    // The whole exchange under the deadline too: a relay may accept and then stall.
    let sent = tokio::time::timeout(timeout, transport.send(mail.message.clone())).await;
    match sent {
        Err(_) => Err(SendError::Transient(format!(
            "timed out after {}",
            crate::config::Duration::from_millis(timeout.as_millis() as u64)
        ))),
        Ok(Ok(response)) => Ok(Answer {
            status: format!("SMTP {}", response.code()),
            body: short(&response.message().collect::<Vec<_>>().join(" ")),
        }),
        Ok(Err(e)) => {
            let text = short(&e.to_string());
            if e.is_permanent() {
                let status = e
                    .status()
                    .map_or_else(|| "SMTP error".to_owned(), |c| format!("SMTP {c}"));
                Err(SendError::Refused { status, body: text })
            } else if e.is_timeout() {
                Err(SendError::Transient(format!(
                    "timed out after {}",
                    crate::config::Duration::from_millis(timeout.as_millis() as u64)
                )))
            } else {
                Err(SendError::Transient(text))
            }
        }
    }
}
