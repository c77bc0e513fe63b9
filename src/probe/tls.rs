//! `kind = "tls"`: handshake, then the leaf certificate's days to expiry.
//!
//! The point of this probe is the expiry date, and an expired or untrusted certificate is exactly
//! when that date matters most. A normal rustls client refuses such a server before we could read
//! its certificate, so the handshake runs with [`RecordingVerifier`]: it asks the standard webpki
//! verifier, remembers its verdict, and lets the handshake finish. The verdict then decides the
//! outcome, and the certificate supplies the date.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms, human};
use crate::secret::EnvString;

/// `[[component]] kind = "tls"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `host:port`.
    pub address: EnvString,
    /// SNI and the name checked; the host in `address` when unset.
    pub server_name: Option<String>,
    /// A PEM file of extra trusted CA certificates (private PKI).
    pub ca_file: Option<PathBuf>,
    /// Fewer days left => degraded; expired or invalid => down.
    #[serde(default = "default_warn_days")]
    pub warn_days: u32,
}

pub(crate) const fn default_warn_days() -> u32 {
    14
}

const SECONDS_PER_DAY: i64 = 86_400;

impl TlsConfig {
    /// The name sent as SNI and checked against the certificate.
    fn name(&self) -> &str {
        match &self.server_name {
            Some(name) => name,
            None => host_of(&self.address),
        }
    }

    async fn run(&self) -> Outcome {
        let tcp = match tokio::net::TcpStream::connect(self.address.as_str()).await {
            Ok(s) => s,
            Err(e) => return Outcome::down(format!("Cannot connect: {e}.")),
        };
        // Only the handshake is timed: TCP set-up is what the `tcp` kind measures.
        handshake_and_judge(tcp, self.name(), self.ca_file.as_deref(), self.warn_days).await
    }
}

/// The TLS handshake over `stream` (a fresh socket, or one after SMTP's STARTTLS), then the
/// leaf certificate judged: trust, name, days left. The latency is the handshake's.
pub(crate) async fn handshake_and_judge<S>(
    stream: S,
    name: &str,
    ca_file: Option<&Path>,
    warn_days: u32,
) -> Outcome
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let name = name.to_owned();
    let server_name = match ServerName::try_from(name.clone()) {
        Ok(n) => n,
        Err(_) => return Outcome::down(format!("`{name}` is not a valid server name.")),
    };
    let verifier = match ca_file.map_or_else(|| Ok(webpki_roots()), with_ca_file) {
        Ok(roots) => match RecordingVerifier::new(roots) {
            Ok(v) => Arc::new(v),
            Err(e) => return Outcome::down(e),
        },
        Err(e) => return Outcome::down(e),
    };
    let config = match rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
            .with_no_client_auth(),
        Err(e) => return Outcome::down(format!("Cannot set up TLS: {e}.")),
    };
    let start = Instant::now();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = match connector.connect(server_name, stream).await {
        Ok(s) => s,
        Err(e) => return Outcome::down(handshake_failure(&e)),
    };
    let latency = elapsed_ms(start);

    let Some(leaf) = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    else {
        return Outcome::down("The server sent no certificate.").with_latency(latency);
    };
    let not_after = match x509_parser::parse_x509_certificate(leaf.as_ref()) {
        Ok((_, cert)) => cert.validity().not_after.timestamp(),
        Err(_) => {
            return Outcome::down("The server's certificate cannot be parsed.")
                .with_latency(latency);
        }
    };
    judge(
        &name,
        not_after,
        Utc::now().timestamp(),
        warn_days,
        verifier.verdict(),
    )
    .with_latency(latency)
}

/// The outcome for a certificate that expires at `not_after` (Unix seconds), seen at `now`.
///
/// Expiry is judged from the date itself rather than from the verifier, so an expired certificate
/// reads "expired" even when its chain is also untrusted: renewing is the fix either way.
fn judge(
    name: &str,
    not_after: i64,
    now: i64,
    warn_days: u32,
    verdict: Option<rustls::Error>,
) -> Outcome {
    let date = DateTime::<Utc>::from_timestamp(not_after, 0).map_or_else(
        || "an unreadable date".to_owned(),
        |d| d.format("%Y-%m-%d").to_string(),
    );
    let left = not_after.saturating_sub(now);
    if left <= 0 {
        return Outcome::down(format!("Certificate expired on {date}."));
    }
    if let Some(error) = verdict {
        return match error {
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => Outcome::down(format!(
                "Certificate is not valid for {name}; expires {date}."
            )),
            other => Outcome::down(format!(
                "Certificate is not trusted ({}); expires {date}.",
                distrust(&other)
            )),
        };
    }
    // Whole days left, rounded down: "expires in 0 days" on the last day, never an optimistic 1.
    let days = left / SECONDS_PER_DAY;
    if days < i64::from(warn_days) {
        let unit = if days == 1 { "day" } else { "days" };
        Outcome::degraded(format!("Certificate expires in {days} {unit} ({date})."))
    } else {
        Outcome::up(
            None,
            format!("Certificate valid for {days} more days ({date})."),
        )
    }
}

/// Why the verifier refused the chain, in a few words.
fn distrust(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(e) => match e {
            CertificateError::UnknownIssuer => "unknown issuer".to_owned(),
            CertificateError::BadSignature => "bad signature".to_owned(),
            CertificateError::BadEncoding => "malformed certificate".to_owned(),
            CertificateError::Revoked => "revoked".to_owned(),
            // The leaf is not expired (judged before), so this is an intermediate.
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "a certificate in the chain expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "not valid yet".to_owned()
            }
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "not issued for servers".to_owned()
            }
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// A short reason for a failed handshake. A server that hangs up mid-handshake is the common
/// case (wrong port, plain-text service, overloaded proxy); it is named as such rather than by
/// whichever of EOF or reset the kernel happened to deliver.
fn handshake_failure(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
    ) {
        return "TLS handshake failed: the server closed the connection.".to_owned();
    }
    let reason = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map_or_else(|| e.to_string(), ToString::to_string);
    format!(
        "TLS handshake failed: {}.",
        super::http::truncate(&reason, 120)
    )
}

/// The host part of `host:port` or `[v6]:port`.
pub(crate) fn host_of(address: &str) -> &str {
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    address.rsplit_once(':').map_or(address, |(host, _)| host)
}

/// The one crypto provider this crate builds with; explicit, so that another crate in the tree
/// enabling a second provider can never make rustls guess.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider())))
}

/// The public web's roots, built once.
pub(crate) fn webpki_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    Arc::clone(ROOTS.get_or_init(|| {
        Arc::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    }))
}

/// A verifying client configuration on the crate's one provider: the public roots, plus the
/// certificates of `ca_file` (private PKI). Every TLS client of a probe is built here, so they
/// trust the same roots and word a bad `ca_file` the same way.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let roots = match ca_file {
        Some(path) => with_ca_file(path)?,
        None => webpki_roots(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("Cannot set up TLS: {e}."))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The public roots plus the CA certificates in `path`. Read on every check, so a rotated private
/// CA is picked up without a restart.
pub(crate) fn with_ca_file(path: &Path) -> Result<Arc<RootCertStore>, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("Cannot read ca_file {}: {e}.", path.display()))?;
    let mut roots = RootCertStore::clone(&webpki_roots());
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|_| format!("ca_file {} is not valid PEM.", path.display()))?;
        roots.add(cert).map_err(|e| {
            format!(
                "ca_file {} holds an unusable certificate: {e}.",
                path.display()
            )
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(format!(
            "ca_file {} holds no PEM certificate.",
            path.display()
        ));
    }
    Ok(Arc::new(roots))
}

/// Asks the standard verifier, records its verdict, and accepts the chain anyway, so the
/// handshake completes and the certificate can be read. Handshake signatures are still checked
/// for real: the server must hold the key of the certificate we report on.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<rustls::Error>>,
}

impl RecordingVerifier {
    fn new(roots: Arc<RootCertStore>) -> Result<Self, String> {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| format!("Cannot set up certificate verification: {e}."))?;
        Ok(Self {
            inner,
            verdict: Mutex::new(None),
        })
    }

    /// The verifier's refusal, if it refused.
    fn verdict(&self) -> Option<rustls::Error> {
        self.verdict.lock().map_or(None, |mut v| v.take())
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Err(e) = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            match self.verdict.lock() {
                Ok(mut verdict) => *verdict = Some(e),
                // Without a place to record the refusal, refusing is the only honest answer.
                Err(_) => return Err(e),
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

impl Probe for TlsConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            // The runner enforces the deadline too; this keeps a direct call bounded and worded alike.
            tokio::time::timeout(deadline, self.run())
                .await
                .unwrap_or_else(|_| Outcome::down(format!("Timed out after {}.", human(deadline))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Health;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn host_of_strips_the_port_and_brackets() {
        assert_eq!(host_of("example.com:443"), "example.com");
        assert_eq!(host_of("[::1]:8443"), "::1");
        assert_eq!(host_of("example.com"), "example.com");
    }

    #[test]
    fn expiry_beats_every_other_verdict() {
        let o = judge(
            "a.test",
            NOW - 10,
            NOW,
            14,
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        );
        assert_eq!(o.health, Health::Down);
        assert_eq!(o.detail, "Certificate expired on 2025-12-31.");
    }

    #[test]
    fn days_round_down_and_warn_below_the_threshold() {
        let o = judge("a.test", NOW + 14 * SECONDS_PER_DAY - 1, NOW, 14, None);
        assert_eq!(o.health, Health::Degraded);
        assert_eq!(o.detail, "Certificate expires in 13 days (2026-01-14).");
        let o = judge("a.test", NOW + 14 * SECONDS_PER_DAY, NOW, 14, None);
        assert_eq!(o.health, Health::Up);
        assert_eq!(o.detail, "Certificate valid for 14 more days (2026-01-15).");
        let o = judge("a.test", NOW + SECONDS_PER_DAY, NOW, 14, None);
        assert_eq!(o.detail, "Certificate expires in 1 day (2026-01-02).");
    }
}
