//! `kind = "websocket"`: connect, upgrade, ping => pong within the deadline.

use std::time::Duration;

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe};
use crate::config::Secret;

/// `[[component]] kind = "websocket"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebsocketConfig {
    /// `ws://` or `wss://` URL. Secret: it may carry a token.
    pub url: Secret,
}

impl Probe for WebsocketConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { Outcome::down("WebSocket probe not built yet.") })
    }
}
