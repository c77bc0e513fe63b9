//! `kind = "amqp"` (RabbitMQ and other AMQP 0-9-1 brokers): connect, open a channel, and
//! passive-declare `queue`, which reports the queue's depth (ready messages) and its consumer
//! count without creating or changing anything. The depth is the component's value, so
//! `degraded_above = 1000` reads "a backlog over 1000 messages is degraded"; a queue nobody
//! consumes is said in the detail.
//!
//! TLS: `amqps://` uses rustls (aws-lc-rs) with the bundled web roots.

use std::time::{Duration, Instant};

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::Secret;

/// `[[component]] kind = "amqp"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpConfig {
    /// `amqp://user:password@host:5672/vhost` (`%2f` is the default vhost `/`), or `amqps://`.
    /// Never printed.
    pub url: Secret,
    /// The queue whose depth and consumers are reported; it must exist (it is never created).
    pub queue: String,
}

impl AmqpConfig {
    /// The URL must be `amqp://` or `amqps://` and parse; said without echoing it.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.expose();
        if url.is_empty() {
            return Ok(()); // an unset `${VAR}` under `check`
        }
        if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
            return Err(
                "`url` must start with `amqp://` or `amqps://`\n= help: write url = \"amqp://user:password@host:5672/%2f\""
                    .to_owned(),
            );
        }
        url.parse::<lapin::uri::AMQPUri>().map(|_| ()).map_err(|e| {
            format!(
                "`url` is not a valid AMQP URL: {}\n= help: write url = \"amqp://user:password@host:5672/%2f\"",
                crate::secret::scrub(&e)
            )
        })?;
        if self.queue.is_empty() {
            return Err("`queue` is empty\n= help: name the queue to watch".to_owned());
        }
        Ok(())
    }
}

/// The broker's or the socket's words, without the URL.
fn amqp_error(e: &lapin::Error) -> String {
    crate::secret::scrub(e.to_string().trim_end_matches('.'))
}

impl Probe for AmqpConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let start = Instant::now();
            let connection = match lapin::Connection::connect(
                self.url.expose(),
                lapin::ConnectionProperties::default(),
            )
            .await
            {
                Ok(c) => c,
                Err(e) => return Outcome::down(format!("Cannot connect: {}.", amqp_error(&e))),
            };
            let connect_ms = elapsed_ms(start);
            let start = Instant::now();
            let declared = match connection.create_channel().await {
                Ok(channel) => {
                    channel
                        .queue_declare(
                            self.queue.as_str().into(),
                            QueueDeclareOptions {
                                passive: true,
                                ..QueueDeclareOptions::default()
                            },
                            FieldTable::default(),
                        )
                        .await
                }
                Err(e) => Err(e),
            };
            let ms = elapsed_ms(start);
            // Closing is not part of the measurement; it finishes in the background.
            tokio::spawn(async move {
                let _ = connection.close(200, "probe done".into()).await;
            });
            let queue_name = super::http::truncate(&self.queue, 60);
            match declared {
                Ok(queue) => {
                    let (depth, consumers) = (queue.message_count(), queue.consumer_count());
                    let mut detail = format!(
                        "Queue {queue_name}: {depth} message{}, {consumers} consumer{} in {ms} ms (connect {connect_ms} ms)",
                        if depth == 1 { "" } else { "s" },
                        if consumers == 1 { "" } else { "s" },
                    );
                    if consumers == 0 && depth > 0 {
                        detail.push_str("; nothing is consuming it");
                    }
                    Outcome::up(Some(ms), detail).with_value(f64::from(depth))
                }
                Err(e) => Outcome::down(format!(
                    "Queue {queue_name} cannot be read: {}.",
                    amqp_error(&e)
                ))
                .with_latency(ms),
            }
        })
    }
}
