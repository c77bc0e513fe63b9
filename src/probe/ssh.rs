//! `kind = "ssh"`: the server's identification line (`SSH-2.0-OpenSSH_9.2p1 …`, RFC 4253 §4.2),
//! read within the deadline. It proves sshd itself is answering, not only a port (a load
//! balancer or a stuck sshd accepts TCP and never speaks). `expect` pins a version text.
//!
//! The host-key fingerprint is not checked: that needs a full key exchange, and the one
//! maintained client that does it without `ring` (russh with aws-lc-rs) adds ~110 crates to the
//! build. The banner check stands alone until that trade is made.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::EnvString;

/// `[[component]] kind = "ssh"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshConfig {
    /// `host:port` (port 22 usually).
    pub address: EnvString,
    /// Text the identification line must contain, e.g. `OpenSSH_9`.
    pub expect: Option<String>,
}

/// RFC 4253: the identification line is at most 255 bytes; servers may send other lines first.
const MAX_LINE: u64 = 255;
const MAX_LINES_BEFORE: usize = 20;

impl Probe for SshConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let tcp = match tokio::net::TcpStream::connect(self.address.as_str()).await {
                Ok(s) => s,
                Err(e) => return Outcome::down(format!("Cannot connect: {e}.")),
            };
            let start = Instant::now();
            let mut reader = BufReader::new(tcp);
            for _ in 0..MAX_LINES_BEFORE {
                let mut line = String::new();
                match (&mut reader).take(MAX_LINE).read_line(&mut line).await {
                    Ok(0) => {
                        return Outcome::down(
                            "The server closed the connection without an SSH banner.",
                        );
                    }
                    Ok(_) => {}
                    Err(e) => return Outcome::down(format!("Cannot read the banner: {e}.")),
                }
                let line = line.trim_end();
                if !line.starts_with("SSH-") {
                    continue; // RFC 4253 allows other lines before the identification
                }
                let ms = elapsed_ms(start);
                let banner = super::http::truncate(line, 80);
                if !line.starts_with("SSH-2.0-") && !line.starts_with("SSH-1.99-") {
                    return Outcome::down(format!("The server speaks an old protocol: {banner}."))
                        .with_latency(ms);
                }
                if let Some(expect) = &self.expect
                    && !line.contains(expect.as_str())
                {
                    return Outcome::down(format!(
                        "Banner {banner:?} does not contain {:?}.",
                        super::http::truncate(expect, 40)
                    ))
                    .with_latency(ms);
                }
                return Outcome::up(Some(ms), format!("{banner} in {ms} ms"));
            }
            Outcome::down("No SSH banner in the server's first lines.")
        })
    }
}
