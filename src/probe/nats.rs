//! `kind = "nats"`: connect, then a publish/subscribe round trip through the server on a
//! private subject (a message really travels: client → server → client), and, with `stream` and
//! `consumer`, the JetStream consumer's pending count — the seed's "topic lag". The pending
//! count is then the component's value, so `degraded_above = 1000` reads "a consumer more than
//! 1000 messages behind is degraded".
//!
//! TLS: `tls://` (or a server that requires it) uses rustls with aws-lc-rs.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::Secret;

/// `[[component]] kind = "nats"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    /// `nats://[user:password@]host:4222`, or `tls://`. Never printed.
    pub url: Secret,
    /// A JetStream stream; with `consumer`, its pending count is reported.
    pub stream: Option<String>,
    /// A durable consumer of `stream`.
    pub consumer: Option<String>,
}

impl NatsConfig {
    /// The URL scheme, and `stream`/`consumer` named together or not at all.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.expose();
        if !(url.is_empty() || url.starts_with("nats://") || url.starts_with("tls://")) {
            return Err(
                "`url` must start with `nats://` or `tls://`\n= help: write url = \"nats://host:4222\""
                    .to_owned(),
            );
        }
        match (&self.stream, &self.consumer) {
            (Some(_), None) => Err(
                "`stream` needs `consumer`\n= help: name the durable consumer whose pending count is the lag"
                    .to_owned(),
            ),
            (None, Some(_)) => Err(
                "`consumer` needs `stream`\n= help: name the stream the consumer reads".to_owned(),
            ),
            _ => Ok(()),
        }
    }
}

/// The client's words, without the URL or its credentials.
fn nats_error(e: &dyn std::fmt::Display) -> String {
    crate::secret::scrub(e.to_string().trim_end_matches('.'))
}

/// A subject no other probe or client uses.
fn private_subject() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("_upstate.probe.{}.{nanos}", std::process::id())
}

impl Probe for NatsConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let start = Instant::now();
            // The runner enforces the deadline from outside; the client's own connect timeout
            // (5 s by default) must not outlast it.
            let options = async_nats::ConnectOptions::new().connection_timeout(deadline);
            let client = match options.connect(self.url.expose()).await {
                Ok(c) => c,
                Err(e) => return Outcome::down(format!("Cannot connect: {}.", nats_error(&e))),
            };
            let connect_ms = elapsed_ms(start);
            let start = Instant::now();
            let subject = private_subject();
            let mut subscription = match client.subscribe(subject.clone()).await {
                Ok(s) => s,
                Err(e) => return Outcome::down(format!("Cannot subscribe: {}.", nats_error(&e))),
            };
            if let Err(e) = client.publish(subject, "ping".into()).await {
                return Outcome::down(format!("Cannot publish: {}.", nats_error(&e)));
            }
            if subscription.next().await.is_none() {
                return Outcome::down("The connection closed before the message came back.");
            }
            let ms = elapsed_ms(start);
            let timing = format!("Round trip in {ms} ms (connect {connect_ms} ms)");
            let (Some(stream), Some(consumer)) = (&self.stream, &self.consumer) else {
                return Outcome::up(Some(ms), timing);
            };
            let jetstream = async_nats::jetstream::new(client);
            let info = match jetstream.get_stream(stream).await {
                Ok(s) => s.consumer_info(consumer).await.map_err(|e| nats_error(&e)),
                Err(e) => Err(nats_error(&e)),
            };
            let (stream, consumer) = (
                super::http::truncate(stream, 60),
                super::http::truncate(consumer, 60),
            );
            match info {
                Ok(info) => {
                    #[allow(clippy::cast_precision_loss)] // counts stay far below 2^52
                    let pending = info.num_pending as f64;
                    Outcome::up(
                        Some(ms),
                        format!(
                            "{timing}; consumer {stream}/{consumer}: {} pending, {} awaiting ack",
                            info.num_pending, info.num_ack_pending
                        ),
                    )
                    .with_value(pending)
                }
                Err(e) => {
                    Outcome::down(format!("Consumer {stream}/{consumer} cannot be read: {e}."))
                        .with_latency(ms)
                }
            }
        })
    }
}
