//! `kind = "ssh"`: the server's identification line (`SSH-2.0-OpenSSH_9.2p1 …`, RFC 4253 §4.2),
//! read within the deadline. It proves sshd itself is answering, not only a port (a load
//! balancer or a stuck sshd accepts TCP and never speaks). `expect` pins a version text.
//!
//! `fingerprint` (`SHA256:…`, as `ssh-keygen -lf` prints) also checks the host key: a key
//! exchange proves the server holds that key ([`super::ssh_hostkey`]), so a rebuilt host or
//! an impostor shows as down before anyone's `ssh` warns about it. A server has one key per
//! type; the other types it offers are tried (one short connection each) before a mismatch is
//! reported, with every fingerprint seen.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use super::ssh_hostkey::{self, CLIENT_ID, HOST_KEY_ALGORITHMS, HostKey};
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
    /// The host key's `SHA256:…` fingerprint (`ssh-keyscan host | ssh-keygen -lf -`).
    pub fingerprint: Option<String>,
}

/// RFC 4253: the identification line is at most 255 bytes; servers may send other lines first.
const MAX_LINE: u64 = 255;
const MAX_LINES_BEFORE: usize = 20;

impl SshConfig {
    /// `fingerprint` must be `SHA256:` and 43 base64 characters (a SHA-256), as OpenSSH prints.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let Some(fingerprint) = &self.fingerprint else {
            return Ok(());
        };
        let digest = fingerprint.strip_prefix("SHA256:").map(|b64| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64.trim_end_matches('='))
        });
        match digest {
            Some(Ok(bytes)) if bytes.len() == 32 => Ok(()),
            _ => Err(format!(
                "`fingerprint` `{}` is not a SHA256 host key fingerprint\n= help: copy it from `ssh-keyscan host | ssh-keygen -lf -`, e.g. fingerprint = \"SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s\" (MD5 fingerprints are not accepted)",
                super::http::truncate(fingerprint, 60)
            )),
        }
    }

    async fn run(&self) -> Outcome {
        let (mut reader, banner, ms) = match connect(self.address.as_str(), self.wants_key()).await
        {
            Ok(c) => c,
            Err(o) => return o,
        };
        let shown = super::http::truncate(&banner, 80);
        if !banner.starts_with("SSH-2.0-") && !banner.starts_with("SSH-1.99-") {
            return Outcome::down(format!("The server speaks an old protocol: {shown}."))
                .with_latency(ms);
        }
        if let Some(expect) = &self.expect
            && !banner.contains(expect.as_str())
        {
            return Outcome::down(format!(
                "Banner {shown:?} does not contain {:?}.",
                super::http::truncate(expect, 40)
            ))
            .with_latency(ms);
        }
        let Some(wanted) = &self.fingerprint else {
            return Outcome::up(Some(ms), format!("{shown} in {ms} ms"));
        };
        let wanted = wanted.trim_end_matches('=');
        match self.find_key(&mut reader, &banner, wanted).await {
            Ok(key) => Outcome::up(
                Some(ms),
                format!(
                    "{shown} in {ms} ms; host key {} {wanted} matches",
                    key.key_type
                ),
            ),
            Err(e) => Outcome::down(e).with_latency(ms),
        }
    }

    fn wants_key(&self) -> bool {
        self.fingerprint.is_some()
    }

    /// The host key whose fingerprint is `wanted`: the one the server picks first, then one
    /// connection per other key type it offers. Err names every key seen when none matches.
    async fn find_key(
        &self,
        first: &mut BufReader<TcpStream>,
        banner: &str,
        wanted: &str,
    ) -> Result<HostKey, String> {
        let key = ssh_hostkey::exchange(first, banner, &HOST_KEY_ALGORITHMS).await?;
        if key.fingerprint == wanted {
            return Ok(key);
        }
        let mut seen = vec![format!("{} {}", key.key_type, key.fingerprint)];
        let mut tried = vec![key.key_type.clone()];
        for family in key_families(&key.offered) {
            if tried.iter().any(|t| t == family.key_type) {
                continue;
            }
            tried.push(family.key_type.to_owned());
            let (mut reader, banner, _) = connect(self.address.as_str(), true)
                .await
                .map_err(|o| o.detail)?;
            let other = ssh_hostkey::exchange(&mut reader, &banner, family.algorithms).await?;
            if other.fingerprint == wanted {
                return Ok(other);
            }
            seen.push(format!("{} {}", other.key_type, other.fingerprint));
        }
        Err(format!(
            "Host key mismatch: expected {wanted}, the server holds {}.",
            seen.join(", ")
        ))
    }
}

/// One host key type and the signature algorithms that select it.
struct Family {
    key_type: &'static str,
    algorithms: &'static [&'static str],
}

/// The key types behind the algorithms a server offers, in its order, that can be verified.
fn key_families(offered: &[String]) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for name in offered {
        let family = match name.as_str() {
            "rsa-sha2-512" | "rsa-sha2-256" | "ssh-rsa" => Family {
                key_type: "ssh-rsa",
                algorithms: &["rsa-sha2-512", "rsa-sha2-256"],
            },
            other => match HOST_KEY_ALGORITHMS.iter().find(|a| **a == other) {
                Some(known) if !known.starts_with("rsa-") => Family {
                    key_type: known,
                    algorithms: std::slice::from_ref(known),
                },
                _ => continue, // certificates, DSA, sk- keys: not verifiable here
            },
        };
        if !families.iter().any(|f| f.key_type == family.key_type) {
            families.push(family);
        }
    }
    families
}

/// TCP, our identification line when a key exchange follows, then the server's line (timed).
async fn connect(
    address: &str,
    send_id: bool,
) -> Result<(BufReader<TcpStream>, String, u64), Outcome> {
    let mut tcp = TcpStream::connect(address)
        .await
        .map_err(|e| Outcome::down(format!("Cannot connect: {e}.")))?;
    let start = Instant::now();
    if send_id {
        tcp.write_all(format!("{CLIENT_ID}\r\n").as_bytes())
            .await
            .map_err(|e| Outcome::down(format!("Cannot send our identification: {e}.")))?;
    }
    let mut reader = BufReader::new(tcp);
    for _ in 0..MAX_LINES_BEFORE {
        let mut line = String::new();
        match (&mut reader).take(MAX_LINE).read_line(&mut line).await {
            Ok(0) => {
                return Err(Outcome::down(
                    "The server closed the connection without an SSH banner.",
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(Outcome::down(format!("Cannot read the banner: {e}."))),
        }
        let line = line.trim_end();
        if line.starts_with("SSH-") {
            return Ok((reader, line.to_owned(), elapsed_ms(start)));
        }
        // RFC 4253 allows other lines before the identification.
    }
    Err(Outcome::down("No SSH banner in the server's first lines."))
}

impl Probe for SshConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}
