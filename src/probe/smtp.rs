//! `kind = "smtp"`: the mail server's banner (`220`), `EHLO`, then `STARTTLS` and the TLS
//! handshake with its certificate judged like `kind = "tls"` (trust, name, days left). A mail
//! server that stops offering STARTTLS is down: mail would then travel in clear, which is the
//! failure this probe exists to catch. `starttls = false` checks banner and EHLO only.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use super::{BoxFuture, Health, Outcome, Probe, elapsed_ms};
use crate::secret::EnvString;

/// `[[component]] kind = "smtp"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `host:port` (25 or 587 speak STARTTLS).
    pub address: EnvString,
    /// Upgrade with STARTTLS and judge the certificate (default true).
    #[serde(default = "default_starttls")]
    pub starttls: bool,
    /// The name checked against the certificate; the host in `address` when unset.
    pub server_name: Option<String>,
    /// A PEM file of extra trusted CA certificates (private PKI).
    pub ca_file: Option<PathBuf>,
    /// Fewer days left => degraded; expired or invalid => down.
    #[serde(default = "super::tls::default_warn_days")]
    pub warn_days: u32,
}

const fn default_starttls() -> bool {
    true
}

/// The longest reply line read; a server streaming garbage is cut off there.
const MAX_LINE: u64 = 4096;

/// One SMTP reply: its code and its lines' text (multi-line replies use `250-` until `250 `).
async fn reply<R>(reader: &mut R) -> Result<(u16, Vec<String>), String>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::AsyncReadExt as _;
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = (&mut *reader)
            .take(MAX_LINE)
            .read_line(&mut line)
            .await
            .map_err(|e| format!("read failed: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".to_owned());
        }
        let line = line.trim_end();
        let code = line
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| format!("not an SMTP reply: {:?}", super::http::truncate(line, 60)))?;
        let more = line.as_bytes().get(3) == Some(&b'-');
        lines.push(line.get(4..).unwrap_or_default().to_owned());
        if !more {
            return Ok((code, lines));
        }
        if lines.len() > 100 {
            return Err("the reply never ends".to_owned());
        }
    }
}

impl SmtpConfig {
    async fn run(&self) -> Outcome {
        let tcp = match tokio::net::TcpStream::connect(self.address.as_str()).await {
            Ok(s) => s,
            Err(e) => return Outcome::down(format!("Cannot connect: {e}.")),
        };
        let start = Instant::now();
        let mut stream = BufReader::new(tcp);
        match reply(&mut stream).await {
            Ok((220, _)) => {}
            Ok((code, lines)) => {
                return Outcome::down(format!(
                    "Banner {code}: {}.",
                    super::http::truncate(&lines.join(" "), 80)
                ));
            }
            Err(e) => return Outcome::down(format!("No banner: {e}.")),
        }
        if let Err(e) = stream.get_mut().write_all(b"EHLO upstate.probe\r\n").await {
            return Outcome::down(format!("EHLO failed: {e}."));
        }
        let extensions = match reply(&mut stream).await {
            Ok((250, lines)) => lines,
            Ok((code, _)) => return Outcome::down(format!("EHLO answered {code}.")),
            Err(e) => return Outcome::down(format!("EHLO failed: {e}.")),
        };
        if !self.starttls {
            let ms = elapsed_ms(start);
            return Outcome::up(Some(ms), format!("Banner and EHLO in {ms} ms"));
        }
        let offers_starttls = extensions
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case("STARTTLS"));
        if !offers_starttls {
            return Outcome::down(
                "The server does not offer STARTTLS: mail would travel in clear.",
            );
        }
        if let Err(e) = stream.get_mut().write_all(b"STARTTLS\r\n").await {
            return Outcome::down(format!("STARTTLS failed: {e}."));
        }
        match reply(&mut stream).await {
            Ok((220, _)) => {}
            Ok((code, _)) => return Outcome::down(format!("STARTTLS answered {code}.")),
            Err(e) => return Outcome::down(format!("STARTTLS failed: {e}.")),
        }
        // A server that pipelined bytes after its 220 would have them lost here; RFC 3207
        // forbids it, and rustls would fail the handshake on them anyway.
        let name = self
            .server_name
            .clone()
            .unwrap_or_else(|| super::tls::host_of(&self.address).to_owned());
        let tls = super::tls::handshake_and_judge(
            stream.into_inner(),
            &name,
            self.ca_file.as_deref(),
            self.warn_days,
        )
        .await;
        let ms = elapsed_ms(start);
        let mut judged = tls;
        judged.detail = format!("Banner, EHLO and STARTTLS in {ms} ms; {}", judged.detail);
        if judged.health != Health::Down {
            judged.latency_ms = Some(ms);
        }
        judged
    }
}

impl Probe for SmtpConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}
