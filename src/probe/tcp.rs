//! `kind = "tcp"`: a TCP connection opens within the deadline.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::config::EnvString;

/// `[[component]] kind = "tcp"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// `host:port`.
    pub address: EnvString,
}

impl Probe for TcpConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let start = Instant::now();
            match tokio::net::TcpStream::connect(self.address.as_str()).await {
                Ok(_) => {
                    let ms = elapsed_ms(start);
                    Outcome::up(Some(ms), format!("Connected in {ms} ms"))
                }
                Err(e) => Outcome::down(format!("Cannot connect: {e}.")),
            }
        })
    }
}
