//! `kind = "mqtt"` (Mosquitto, EMQX, HiveMQ…): connect, subscribe to `topic`, publish a unique
//! message to it and wait for that message to come back — a round trip through the broker's
//! routing, not only its socket. Connection set-up (CONNACK) is timed apart.
//!
//! `mqtts://` (MQTT over TLS, port 8883) runs the same exchange in [`super::mqtts`]: rumqttc's
//! own TLS pulls an old `rustls-webpki` built on `ring`, which this build keeps out.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::Secret;

/// `[[component]] kind = "mqtt"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://[user:password@]host:1883`, or `mqtts://…:8883` for MQTT over TLS. Never
    /// printed.
    pub url: Secret,
    /// A topic the probe may publish to (no `+` or `#` wildcards); subscribers to it see the
    /// probe's messages, so give it its own, e.g. `upstate/probe`.
    pub topic: String,
    /// With `mqtts://`: a PEM file of extra trusted CA certificates (private PKI).
    pub ca_file: Option<PathBuf>,
}

/// Where and as whom to connect, read from the URL.
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<(String, String)>,
    /// `mqtts://`: TLS first, then MQTT.
    pub(crate) tls: bool,
}

fn target(url: &str) -> Result<Target, String> {
    let help = "\n= help: write url = \"mqtt://host:1883\" or \"mqtts://host:8883\" (user:password@ before the host if the broker wants them)";
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("`url` is not a valid URL: {e}{help}"))?;
    let tls = match parsed.scheme() {
        "mqtt" => false,
        "mqtts" => true,
        _ => {
            return Err(format!(
                "`url` must start with `mqtt://` or `mqtts://`{help}"
            ));
        }
    };
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("`url` has no host{help}"))?
        .trim_matches(['[', ']'])
        .to_owned();
    let credentials = (!parsed.username().is_empty()).then(|| {
        let decode = crate::text::percent_decode;
        (
            decode(parsed.username()),
            decode(parsed.password().unwrap_or_default()),
        )
    });
    Ok(Target {
        host,
        port: parsed.port().unwrap_or(if tls { 8883 } else { 1883 }),
        credentials,
        tls,
    })
}

impl MqttConfig {
    /// The URL's scheme and host, and a topic one can publish to.
    pub fn validate(&self) -> Result<(), String> {
        if !self.url.expose().is_empty() {
            let target = target(self.url.expose()).map_err(|e| crate::secret::scrub(&e))?;
            if self.ca_file.is_some() && !target.tls {
                return Err(
                    "`ca_file` is only used with TLS\n= help: write url = \"mqtts://host:8883\", or remove ca_file"
                        .to_owned(),
                );
            }
        }
        if self.topic.is_empty() || self.topic.contains(['+', '#']) {
            return Err(
                "`topic` must be a topic the probe can publish to, without `+` or `#` wildcards\n= help: write topic = \"upstate/probe\""
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// A client id and payload no other client uses.
pub(crate) fn unique_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("upstate-{}-{nanos:x}", std::process::id())
}

pub(crate) fn mqtt_error(e: &dyn std::fmt::Display) -> String {
    crate::secret::scrub(e.to_string().trim_end_matches('.'))
}

impl Probe for MqttConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let target = match target(self.url.expose()) {
                Ok(t) => t,
                Err(e) => return Outcome::down(crate::secret::scrub(&e)),
            };
            if target.tls {
                return super::mqtts::check(target, &self.topic, self.ca_file.as_deref()).await;
            }
            let token = unique_token();
            let (client, mut events) = AsyncClient::new(options(target, token.clone()), 10);
            events
                .network_options
                .set_connection_timeout(deadline.as_secs().max(1));
            round_trip(client, events, &self.topic, token).await
        })
    }
}

/// A clean session to `target` as client `client_id`.
fn options(target: Target, client_id: String) -> MqttOptions {
    let mut options = MqttOptions::new(client_id, target.host, target.port);
    options.set_clean_session(true);
    options.set_keep_alive(Duration::from_secs(30));
    if let Some((user, password)) = target.credentials {
        options.set_credentials(user, password);
    }
    options
}

/// Connects, subscribes to `topic`, publishes `token` to it and waits for it to come back;
/// the round trip is timed from the CONNACK.
async fn round_trip(
    client: AsyncClient,
    mut events: EventLoop,
    topic: &str,
    token: String,
) -> Outcome {
    let start = Instant::now();
    let mut connect_ms = None;
    let mut round_trip_start = None;
    loop {
        let event = match events.poll().await {
            Ok(e) => e,
            Err(e) => {
                let stage = if connect_ms.is_some() {
                    "The broker dropped the connection"
                } else {
                    "Cannot connect"
                };
                return Outcome::down(format!("{stage}: {}.", mqtt_error(&e)));
            }
        };
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                connect_ms = Some(elapsed_ms(start));
                round_trip_start = Some(Instant::now());
                if let Err(e) = client.subscribe(topic, QoS::AtLeastOnce).await {
                    return Outcome::down(format!("Cannot subscribe: {}.", mqtt_error(&e)));
                }
            }
            Event::Incoming(Packet::SubAck(ack)) => {
                if let Err(down) = publish_when_subscribed(&client, &ack, topic, &token).await {
                    return down;
                }
            }
            Event::Incoming(Packet::Publish(message)) if message.payload == token.as_bytes() => {
                let ms = round_trip_start.map_or(0, elapsed_ms);
                // Leaving cleanly is not part of the measurement.
                tokio::spawn(async move {
                    let _ = client.disconnect().await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), events.poll()).await;
                });
                return Outcome::up(
                    Some(ms),
                    format!(
                        "Publish/subscribe round trip in {ms} ms (connect {} ms)",
                        connect_ms.unwrap_or(0)
                    ),
                );
            }
            // Other traffic on the topic, acks, pings: keep waiting for our message.
            _ => {}
        }
    }
}

/// On the SUBACK: publishes `token` to `topic`, unless the broker refused the subscription.
async fn publish_when_subscribed(
    client: &AsyncClient,
    ack: &rumqttc::SubAck,
    topic: &str,
    token: &str,
) -> Result<(), Outcome> {
    let refused = ack
        .return_codes
        .iter()
        .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure));
    if refused {
        return Err(Outcome::down(format!(
            "The broker refused the subscription to {}.",
            super::http::truncate(topic, 60)
        )));
    }
    client
        .publish(topic, QoS::AtLeastOnce, false, token.to_owned())
        .await
        .map_err(|e| Outcome::down(format!("Cannot publish: {}.", mqtt_error(&e))))
}
