//! `kind = "tcp"`: a TCP connection opens within the deadline.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::EnvString;

/// `[[component]] kind = "tcp"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// `host:port`.
    pub address: EnvString,
}

impl TcpConfig {
    /// `address` must name a port: `"localhost"` alone connects nowhere, on every run.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let address = self.address.as_str();
        let port = address
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        match port {
            Some((host, Ok(port))) if !host.is_empty() && port > 0 => Ok(()),
            _ => Err(format!(
                "`address` `{address}` must be host:port, e.g. \"db.internal:5432\" or \"[::1]:6379\""
            )),
        }
    }
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
