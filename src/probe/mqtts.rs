//! `kind = "mqtt"` with `url = "mqtts://…"`: MQTT 3.1.1 over TLS — the same
//! subscribe/publish round trip as [`super::mqtt`], after a verified TLS handshake (webpki
//! roots, plus `ca_file` for a private CA). An untrusted or misnamed certificate is down, never
//! a silent fallback to plaintext.
//!
//! The packets are rumqttc's own (`mqttbytes`), framed here over a tokio-rustls stream: rumqttc's
//! TLS transport brings `rustls-webpki` 0.102 with `ring`, which this build keeps out, and its
//! event loop cannot take a stream made elsewhere.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use rumqttc::mqttbytes::Error as FrameError;
use rumqttc::{ConnectReturnCode, Packet, QoS, SubscribeReasonCode};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::mqtt::{Target, mqtt_error, unique_token};
use super::{Outcome, elapsed_ms};

/// The largest packet read or written: the probe's own messages are tiny, and other traffic on
/// its topic is skipped, not buffered without bound.
const MAX_PACKET: usize = 256 * 1024;

/// MQTT packets over one byte stream.
struct Wire<S> {
    stream: S,
    buffer: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    async fn send(&mut self, packet: Packet) -> Result<(), String> {
        let mut out = BytesMut::new();
        packet
            .write(&mut out, MAX_PACKET)
            .map_err(|e| format!("Cannot encode a packet: {}.", mqtt_error(&e)))?;
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| format!("The broker dropped the connection: {e}."))?;
        self.stream
            .flush()
            .await
            .map_err(|e| format!("The broker dropped the connection: {e}."))
    }

    async fn next(&mut self) -> Result<Packet, String> {
        loop {
            match Packet::read(&mut self.buffer, MAX_PACKET) {
                Ok(packet) => return Ok(packet),
                Err(FrameError::InsufficientBytes(_)) => {}
                Err(e) => return Err(format!("The broker sent a bad packet: {}.", mqtt_error(&e))),
            }
            let read = self
                .stream
                .read_buf(&mut self.buffer)
                .await
                .map_err(|e| format!("The broker dropped the connection: {e}."))?;
            if read == 0 {
                return Err("The broker closed the connection.".to_owned());
            }
        }
    }
}

/// TCP, TLS handshake, then the MQTT round trip; the latency is the round trip's.
pub(crate) async fn check(target: Target, topic: &str, ca_file: Option<&Path>) -> Outcome {
    let start = Instant::now();
    let tcp = match tokio::net::TcpStream::connect((target.host.as_str(), target.port)).await {
        Ok(s) => s,
        Err(e) => return Outcome::down(format!("Cannot connect: {e}.")),
    };
    let stream = match handshake(tcp, &target.host, ca_file).await {
        Ok(s) => s,
        Err(e) => return Outcome::down(e),
    };
    let mut wire = Wire {
        stream,
        buffer: BytesMut::new(),
    };
    let token = unique_token();
    if let Err(e) = connect(&mut wire, &token, target.credentials).await {
        return Outcome::down(e);
    }
    let connect_ms = elapsed_ms(start);
    let round_trip = Instant::now();
    match publish_and_receive(&mut wire, topic, &token).await {
        Ok(()) => {
            let ms = elapsed_ms(round_trip);
            // Leaving cleanly is not part of the measurement, nor of the outcome.
            let _ = wire.send(Packet::Disconnect).await;
            Outcome::up(
                Some(ms),
                format!(
                    "Publish/subscribe round trip over TLS in {ms} ms (connect and handshake {connect_ms} ms)"
                ),
            )
        }
        Err(e) => Outcome::down(e),
    }
}

/// A verified TLS session: the broker's certificate must chain to a trusted root and name
/// `host`.
async fn handshake(
    tcp: tokio::net::TcpStream,
    host: &str,
    ca_file: Option<&Path>,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let config = super::tls::client_config(ca_file)?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| format!("`{host}` is not a valid server name."))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake failed: {}.", tls_error(&e)))
}

/// rustls puts the reason (unknown issuer, name mismatch) in the I/O error's inner error.
fn tls_error(error: &std::io::Error) -> String {
    error
        .get_ref()
        .map_or_else(|| error.to_string(), ToString::to_string)
}

/// CONNECT, and the broker's CONNACK accepting it.
async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    wire: &mut Wire<S>,
    client_id: &str,
    credentials: Option<(String, String)>,
) -> Result<(), String> {
    let mut packet = rumqttc::Connect::new(client_id);
    packet.keep_alive = 30;
    packet.clean_session = true;
    if let Some((user, password)) = credentials {
        packet.set_login(user, password);
    }
    wire.send(Packet::Connect(packet)).await?;
    match wire.next().await? {
        Packet::ConnAck(ack) if ack.code == ConnectReturnCode::Success => Ok(()),
        Packet::ConnAck(ack) => Err(format!(
            "The broker refused the connection: {:?}.",
            ack.code
        )),
        other => Err(format!(
            "The broker answered CONNECT with {}, not CONNACK.",
            name(&other)
        )),
    }
}

/// SUBSCRIBE to `topic`, PUBLISH `token` to it, and wait for that message to come back.
async fn publish_and_receive<S: AsyncRead + AsyncWrite + Unpin>(
    wire: &mut Wire<S>,
    topic: &str,
    token: &str,
) -> Result<(), String> {
    let mut subscribe = rumqttc::Subscribe::new(topic, QoS::AtLeastOnce);
    subscribe.pkid = 1;
    wire.send(Packet::Subscribe(subscribe)).await?;
    loop {
        match wire.next().await? {
            Packet::SubAck(ack) => {
                if ack.return_codes.contains(&SubscribeReasonCode::Failure) {
                    return Err(format!(
                        "The broker refused the subscription to {}.",
                        super::http::truncate(topic, 60)
                    ));
                }
                let mut publish = rumqttc::Publish::new(topic, QoS::AtLeastOnce, token);
                publish.pkid = 2;
                wire.send(Packet::Publish(publish)).await?;
            }
            Packet::Publish(message) if message.payload == token.as_bytes() => return Ok(()),
            // Acks, pings, other traffic on the topic: keep waiting for our message.
            _ => {}
        }
    }
}

/// A packet's type, for details.
fn name(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck(_) => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::Disconnect => "DISCONNECT",
        _ => "another packet",
    }
}
