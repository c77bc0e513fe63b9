//! `kind = "websocket"`: connect, upgrade, ping => pong within the deadline.
//!
//! A successful upgrade only proves the proxy in front speaks WebSocket; the pong proves the
//! application behind it is reading its socket. So the latency reported is the ping => pong
//! round trip, not the connection set-up.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};

use super::{BoxFuture, Outcome, Probe, elapsed_ms, human};
use crate::secret::Secret;
use crate::secret::scrub;

/// `[[component]] kind = "websocket"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebsocketConfig {
    /// `ws://` or `wss://` URL. Secret: it may carry a token.
    pub url: Secret,
}

/// Longest wait for our close frame to go out once the pong is in: the verdict is already known,
/// and a peer that stalls here must not turn a healthy result into a timeout.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

impl WebsocketConfig {
    /// What `check` can judge without connecting: the scheme and the URL's form.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let url = self.url.expose();
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(
                "`url` must start with ws:// or wss://\n= help: write url = \"wss://example.com/socket\""
                    .to_owned(),
            );
        }
        reqwest::Url::parse(url)
            .map(|_| ())
            .map_err(|e| format!("`url` is not a valid URL: {e}"))
    }

    async fn run(&self, started: Instant, deadline: Duration) -> Outcome {
        let connector = match tls_config() {
            Ok(c) => tokio_tungstenite::Connector::Rustls(c),
            Err(e) => return Outcome::down(e),
        };
        let (mut ws, _response) = match tokio_tungstenite::connect_async_tls_with_config(
            self.url.expose(),
            None,
            true,
            Some(connector),
        )
        .await
        {
            Ok(pair) => pair,
            Err(e) => return Outcome::down(connect_failure(&e)),
        };

        // A payload of our own, so a stray or unsolicited pong is not mistaken for the answer.
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let payload = Bytes::from(format!("upstate {stamp}"));
        let start = Instant::now();
        if let Err(e) = ws.send(Message::Ping(payload.clone())).await {
            return Outcome::down(format!("Cannot send the ping: {}.", short(&e)));
        }
        let latency = loop {
            match ws.next().await {
                Some(Ok(Message::Pong(answer))) if answer == payload => break elapsed_ms(start),
                // Text, binary, pings from the server (tungstenite answers those), foreign pongs.
                Some(Ok(Message::Close(_))) | None => {
                    return Outcome::down("The server closed the connection before the pong.");
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Outcome::down(format!(
                        "Connection failed before the pong: {}.",
                        short(&e)
                    ));
                }
            }
        };
        let left = deadline.saturating_sub(started.elapsed()).min(CLOSE_GRACE);
        // Closing politely is a courtesy; its failure says nothing about the service's health.
        let _closed = tokio::time::timeout(left, ws.close(None)).await;
        Outcome::up(Some(latency), format!("Pong in {latency} ms"))
    }
}

/// Why the connection or upgrade failed. Library errors may quote the URL, which is secret, so
/// every text that comes from one is scrubbed.
fn connect_failure(e: &tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Http(response) => {
            format!("Upgrade refused: HTTP {}.", response.status().as_u16())
        }
        tungstenite::Error::Io(io) => format!("Cannot connect: {}.", scrub(&io.to_string())),
        tungstenite::Error::Tls(tls) => format!("TLS failed: {}.", scrub(&tls.to_string())),
        tungstenite::Error::Url(url) => format!("Invalid URL: {}.", scrub(&url.to_string())),
        other => format!("WebSocket handshake failed: {}.", short(other)),
    }
}

fn short(e: &tungstenite::Error) -> String {
    super::http::truncate(&scrub(&e.to_string()), 120)
}

/// Client TLS for `wss://`: the public web's roots, the crate's one crypto provider, built once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| super::tls::client_config(None).map(Arc::new))
        .clone()
}

impl Probe for WebsocketConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let started = Instant::now();
            // The runner enforces the deadline too; this keeps a direct call bounded and worded alike.
            tokio::time::timeout(deadline, self.run(started, deadline))
                .await
                .unwrap_or_else(|_| Outcome::down(format!("Timed out after {}.", human(deadline))))
        })
    }
}
