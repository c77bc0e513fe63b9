//! `kind = "mqtt"` (Mosquitto, EMQX, HiveMQ…): connect, subscribe to `topic`, publish a unique
//! message to it and wait for that message to come back — a round trip through the broker's
//! routing, not only its socket. Connection set-up (CONNACK) is timed apart.
//!
//! Plain TCP only (`mqtt://`): rumqttc's TLS needs its own rustls set-up (native roots, PEM
//! parsing) that this probe does not carry yet; `mqtts://` is refused by `check`, not silently
//! downgraded.

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::Secret;

/// `[[component]] kind = "mqtt"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://[user:password@]host:1883`. Never printed.
    pub url: Secret,
    /// A topic the probe may publish to (no `+` or `#` wildcards); subscribers to it see the
    /// probe's messages, so give it its own, e.g. `upstate/probe`.
    pub topic: String,
}

/// Where and as whom to connect, read from the URL.
struct Target {
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

fn target(url: &str) -> Result<Target, String> {
    let help = "\n= help: write url = \"mqtt://host:1883\" (user:password@ before the host if the broker wants them)";
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("`url` is not a valid URL: {e}{help}"))?;
    if parsed.scheme() != "mqtt" {
        return Err(format!(
            "`url` must start with `mqtt://` (TLS, `mqtts://`, is not supported yet){help}"
        ));
    }
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
        port: parsed.port().unwrap_or(1883),
        credentials,
    })
}

impl MqttConfig {
    /// The URL's scheme and host, and a topic one can publish to.
    pub fn validate(&self) -> Result<(), String> {
        if !self.url.expose().is_empty() {
            target(self.url.expose()).map_err(|e| crate::secret::scrub(&e))?;
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
fn unique_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("upstate-{}-{nanos:x}", std::process::id())
}

fn mqtt_error(e: &dyn std::fmt::Display) -> String {
    crate::secret::scrub(e.to_string().trim_end_matches('.'))
}

impl Probe for MqttConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let target = match target(self.url.expose()) {
                Ok(t) => t,
                Err(e) => return Outcome::down(crate::secret::scrub(&e)),
            };
            let token = unique_token();
            let mut options = MqttOptions::new(token.clone(), target.host, target.port);
            options.set_clean_session(true);
            options.set_keep_alive(Duration::from_secs(30));
            if let Some((user, password)) = target.credentials {
                options.set_credentials(user, password);
            }
            let (client, mut events) = AsyncClient::new(options, 10);
            events
                .network_options
                .set_connection_timeout(deadline.as_secs().max(1));
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
                        if let Err(e) = client
                            .subscribe(self.topic.as_str(), QoS::AtLeastOnce)
                            .await
                        {
                            return Outcome::down(format!("Cannot subscribe: {}.", mqtt_error(&e)));
                        }
                    }
                    Event::Incoming(Packet::SubAck(ack)) => {
                        let refused = ack
                            .return_codes
                            .iter()
                            .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure));
                        if refused {
                            return Outcome::down(format!(
                                "The broker refused the subscription to {}.",
                                super::http::truncate(&self.topic, 60)
                            ));
                        }
                        if let Err(e) = client
                            .publish(self.topic.as_str(), QoS::AtLeastOnce, false, token.clone())
                            .await
                        {
                            return Outcome::down(format!("Cannot publish: {}.", mqtt_error(&e)));
                        }
                    }
                    Event::Incoming(Packet::Publish(message))
                        if message.payload == token.as_bytes() =>
                    {
                        let ms = round_trip_start.map_or(0, elapsed_ms);
                        // Leaving cleanly is not part of the measurement.
                        tokio::spawn(async move {
                            let _ = client.disconnect().await;
                            let _ =
                                tokio::time::timeout(Duration::from_secs(1), events.poll()).await;
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
        })
    }
}
