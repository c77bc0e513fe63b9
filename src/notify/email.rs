//! `kind = "email"`: a plain-text mail through an SMTP relay, always encrypted: `smtp://` upgrades
//! with STARTTLS (required, never optional: credentials are not sent in the clear) and
//! `smtps://` speaks TLS from the first byte. Built on `lettre` with rustls (aws-lc-rs).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Answer, Delivery, Event, Notifier, SendError, short};
use crate::config::notify::EmailConfig;
use crate::config::secret::scrub;

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
