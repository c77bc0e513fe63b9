//! `kind = "udp"`: send `send` to `address` and wait for a datagram back, which must contain
//! `expect` when it is set. UDP has no connection, so only an answer proves the service is
//! there; a closed port is told apart when the kernel reports the ICMP "port unreachable".

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::EnvString;

/// `[[component]] kind = "udp"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpConfig {
    /// `host:port`.
    pub address: EnvString,
    /// The datagram sent (text, as written).
    pub send: String,
    /// Text the answer must contain; any answer counts when unset.
    pub expect: Option<String>,
}

impl UdpConfig {
    /// Something to send: an empty datagram is legal, but most services ignore it.
    pub fn validate(&self) -> Result<(), String> {
        if self.send.is_empty() {
            return Err(
                "`send` is empty: most UDP services never answer an empty datagram\n= help: write the request the service answers, e.g. send = \"ping\""
                    .to_owned(),
            );
        }
        Ok(())
    }
}

impl Probe for UdpConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let address = self.address.as_str();
            let resolved = match tokio::net::lookup_host(address).await {
                Ok(mut addrs) => addrs.next(),
                Err(e) => return Outcome::down(format!("Cannot resolve {address}: {e}.")),
            };
            let Some(peer) = resolved else {
                return Outcome::down(format!("{address} resolves to no address."));
            };
            let local = if peer.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let socket = match tokio::net::UdpSocket::bind(local).await {
                Ok(s) => s,
                Err(e) => return Outcome::down(format!("Cannot open a UDP socket: {e}.")),
            };
            // A connected socket receives only the peer's datagrams, and the kernel's
            // "port unreachable" for it.
            if let Err(e) = socket.connect(peer).await {
                return Outcome::down(format!("Cannot reach {address}: {e}."));
            }
            let start = Instant::now();
            if let Err(e) = socket.send(self.send.as_bytes()).await {
                return Outcome::down(format!("Cannot send: {e}."));
            }
            let mut buf = vec![0u8; 65_536];
            let n = match socket.recv(&mut buf).await {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Outcome::down("Port unreachable: nothing listens there.");
                }
                Err(e) => return Outcome::down(format!("No answer: {e}.")),
            };
            let ms = elapsed_ms(start);
            let answer = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
            match &self.expect {
                Some(expect) if !answer.contains(expect.as_str()) => Outcome::down(format!(
                    "The answer does not contain {:?}.",
                    super::http::truncate(expect, 40)
                ))
                .with_latency(ms),
                _ => Outcome::up(Some(ms), format!("Answer ({n} bytes) in {ms} ms")),
            }
        })
    }
}
