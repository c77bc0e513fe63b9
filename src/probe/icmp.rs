//! `kind = "icmp"`: `count` echo requests to `host`; the latency is the mean round trip of the
//! replies, the value is the loss in % (what thresholds judge: `degraded_above = 20`). Every
//! echo lost is down; some lost is up with the loss recorded, for thresholds to judge.
//!
//! `surge-ping` opens an unprivileged ICMP datagram socket where the kernel allows it (Linux:
//! the group is inside `net.ipv4.ping_group_range`) and a raw socket otherwise (root or
//! `CAP_NET_RAW`); when neither is allowed the outcome names both fixes.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence, SurgeError};

use super::{BoxFuture, Outcome, Probe};
use crate::secret::EnvString;

/// `[[component]] kind = "icmp"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcmpConfig {
    /// A host name or IP address (no port).
    pub host: EnvString,
    /// Echo requests sent, one after another (default 3, at most 100).
    #[serde(default = "default_count")]
    pub count: u16,
}

const fn default_count() -> u16 {
    3
}

/// More echoes per run only lengthen it: loss over a long window is what history shows.
const MAX_COUNT: u16 = 100;
/// One echo waits at most this long, and less when the deadline is shared by many.
const MAX_WAIT: Duration = Duration::from_secs(2);
/// The payload size `ping` sends by default.
const PAYLOAD: [u8; 56] = [0; 56];

impl IcmpConfig {
    /// `count` within 1..=100; `host` without a port.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.count == 0 || self.count > MAX_COUNT {
            return Err(format!(
                "`count` must be between 1 and {MAX_COUNT}, not {}\n= help: write count = 3",
                self.count
            ));
        }
        let host = self.host.as_str();
        if host.is_empty() || (host.contains(':') && host.parse::<IpAddr>().is_err()) {
            return Err(format!(
                "`host` `{host}` must be a host name or an IP address, without a port\n= help: write host = \"db.internal\" or host = \"10.0.0.5\""
            ));
        }
        Ok(())
    }

    async fn run(&self, deadline: Duration) -> Outcome {
        let host = self.host.as_str();
        let address = match resolve(host).await {
            Ok(a) => a,
            Err(e) => return Outcome::down(e),
        };
        let kind = if address.is_ipv4() {
            ICMP::V4
        } else {
            ICMP::V6
        };
        let client = match Client::new(&Config::builder().kind(kind).build()) {
            Ok(c) => c,
            Err(e) => return Outcome::down(socket_error(&e)),
        };
        let mut pinger = client.pinger(address, PingIdentifier(identifier())).await;
        // Leave a share of the deadline to every echo, so a lossy host still gets all of them.
        let share = deadline / u32::from(self.count.saturating_add(1));
        pinger.timeout(share.min(MAX_WAIT));
        let mut round_trips = Vec::with_capacity(usize::from(self.count));
        for seq in 0..self.count {
            match pinger.ping(PingSequence(seq), &PAYLOAD).await {
                Ok((_, rtt)) => round_trips.push(rtt),
                Err(SurgeError::Timeout { .. }) => {}
                Err(SurgeError::IOError(e)) => return Outcome::down(socket_error(&e)),
                Err(e) => return Outcome::down(format!("Cannot ping {host}: {e}.")),
            }
        }
        judge(host, self.count, &round_trips)
    }
}

/// The first address of `host` (an IP literal needs no lookup).
async fn resolve(host: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    let mut addrs = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("Cannot resolve {host}: {e}."))?;
    addrs
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| format!("{host} resolves to no address."))
}

/// Echo identifiers only need to differ between concurrent probes of one host.
fn identifier() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    #[allow(clippy::cast_possible_truncation)] // any 16 bits will do
    let id = (nanos ^ std::process::id()) as u16;
    id
}

/// The message for a socket the kernel refused, naming the two ways to allow it.
fn socket_error(error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::PermissionDenied {
        return format!(
            "Cannot open an ICMP socket: {error}. Allow unprivileged ping with `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"` (the run's group must be in the range), or give the binary CAP_NET_RAW (`setcap cap_net_raw+ep upstate`)."
        );
    }
    format!("Cannot use an ICMP socket: {error}.")
}

/// Up with the loss as the value, or down when no echo came back.
fn judge(host: &str, sent: u16, round_trips: &[Duration]) -> Outcome {
    let received = u16::try_from(round_trips.len()).unwrap_or(sent);
    let lost = sent.saturating_sub(received);
    let loss = f64::from(lost) * 100.0 / f64::from(sent.max(1));
    if received == 0 {
        return Outcome::down(format!(
            "No echo reply from {host} ({sent} of {sent} lost)."
        ))
        .with_value(loss);
    }
    let total: Duration = round_trips.iter().sum();
    let mean = total / u32::from(received);
    let ms = u64::try_from(mean.as_millis()).unwrap_or(u64::MAX);
    Outcome::up(
        Some(ms),
        format!(
            "{received} of {sent} echoes answered, {} % loss, mean round trip {:.2} ms",
            super::thresholds::number(loss),
            mean.as_secs_f64() * 1000.0
        ),
    )
    .with_value(loss)
}

impl Probe for IcmpConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run(deadline))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn loss_is_the_value_and_all_lost_is_down() {
        let ms = Duration::from_millis;
        let all = judge("h", 4, &[ms(1), ms(3), ms(2), ms(2)]);
        assert_eq!(
            (all.health, all.value, all.latency_ms),
            (super::super::Health::Up, Some(0.0), Some(2))
        );
        let half = judge("h", 4, &[ms(1), ms(3)]);
        assert_eq!(
            (half.health, half.value),
            (super::super::Health::Up, Some(50.0))
        );
        assert!(
            half.detail.starts_with("2 of 4 echoes answered, 50 % loss"),
            "{}",
            half.detail
        );
        let none = judge("h", 3, &[]);
        assert_eq!(
            (none.health, none.value),
            (super::super::Health::Down, Some(100.0))
        );
        assert_eq!(none.detail, "No echo reply from h (3 of 3 lost).");
    }

    #[test]
    fn a_refused_socket_names_the_sysctl_and_the_capability() {
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let text = socket_error(&e);
        assert!(text.contains("net.ipv4.ping_group_range"), "{text}");
        assert!(text.contains("CAP_NET_RAW"), "{text}");
    }
}
