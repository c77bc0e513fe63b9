//! The `tls`, `dns` and `websocket` probes against real servers started here on 127.0.0.1:
//! a tokio-rustls server with rcgen certificates, a hand-written UDP DNS responder and
//! tokio-tungstenite servers. Nothing leaves the machine.

// A failed set-up step should stop the test loudly; `?` plumbing would only hide where.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use upstate::config::Component;
use upstate::probe::dns::DnsConfig;
use upstate::probe::tls::TlsConfig;
use upstate::probe::websocket::WebsocketConfig;
use upstate::probe::{Health, Outcome, Probe, ProbeSpec};

const DAY: u64 = 86_400;
const DEADLINE: Duration = Duration::from_secs(1);
const CHECK: Duration = Duration::from_secs(5);

/// Runs `spec` exactly as the runner does: one check under the component's deadline.
async fn check_like_the_runner(spec: ProbeSpec, deadline: Duration) -> Outcome {
    let component = Component {
        id: "probe".to_owned(),
        label: "Probe".to_owned(),
        group: None,
        description: None,
        timeout: upstate::config::Duration::from_millis(
            u64::try_from(deadline.as_millis()).unwrap(),
        ),
        latency_target: None,
        fail_after: 1,
        thresholds: upstate::probe::Thresholds::default(),
        probe: spec,
        page: Default::default(),
        line: 1,
    };
    upstate::probe::runner::check_once(&component).await
}

// ---------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `2026-03-14`: how the probe words a date.
fn date(unix: u64) -> String {
    DateTime::<Utc>::from_timestamp(i64::try_from(unix).unwrap(), 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

/// A private CA whose certificate the probe is given through `ca_file`.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// A server certificate for `name`, valid between the two Unix times.
    fn leaf(
        &self,
        name: &str,
        not_before: u64,
        not_after: u64,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        // rcgen re-exports no clock: count up from the epoch instead.
        params.not_before = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_before);
        params.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_after);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone()], key)
    }

    fn file(&self) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(self.pem.as_bytes()).unwrap();
        file
    }
}

/// A TLS server presenting `chain`; it completes handshakes and then hangs up.
async fn tls_server(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut sink = Vec::new();
                    let _ = tls.read_to_end(&mut sink).await;
                }
            });
        }
    });
    addr
}

fn tls_config(addr: SocketAddr, ca_file: &tempfile::NamedTempFile) -> TlsConfig {
    toml::from_str(&format!(
        "address = \"{addr}\"\nserver_name = \"status.test\"\nca_file = \"{}\"\n",
        ca_file.path().display()
    ))
    .unwrap()
}

#[tokio::test]
async fn tls_valid_certificate_is_up_with_days_left() {
    let ca = Ca::new("Upstate Test CA");
    let now = unix_now();
    let not_after = now + 90 * DAY + 3600;
    let (chain, key) = ca.leaf("status.test", now - DAY, not_after);
    let addr = tls_server(chain, key).await;
    let ca_file = ca.file();

    let outcome = tls_config(addr, &ca_file).check(CHECK).await;

    assert_eq!(outcome.health, Health::Up, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        format!("Certificate valid for 90 more days ({}).", date(not_after))
    );
    assert!(
        outcome.latency_ms.is_some(),
        "the handshake is timed: {outcome:?}"
    );
}

#[tokio::test]
async fn tls_certificate_expiring_soon_is_degraded() {
    let ca = Ca::new("Upstate Test CA");
    let now = unix_now();
    let not_after = now + 5 * DAY + 3600;
    let (chain, key) = ca.leaf("status.test", now - DAY, not_after);
    let addr = tls_server(chain, key).await;
    let ca_file = ca.file();

    // warn_days defaults to 14.
    let outcome = tls_config(addr, &ca_file).check(CHECK).await;

    assert_eq!(outcome.health, Health::Degraded, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        format!("Certificate expires in 5 days ({}).", date(not_after))
    );
}

#[tokio::test]
async fn tls_warn_days_is_honoured() {
    let ca = Ca::new("Upstate Test CA");
    let now = unix_now();
    let not_after = now + 5 * DAY + 3600;
    let (chain, key) = ca.leaf("status.test", now - DAY, not_after);
    let addr = tls_server(chain, key).await;
    let ca_file = ca.file();
    let mut config = tls_config(addr, &ca_file);
    config.warn_days = 3;

    let outcome = config.check(CHECK).await;

    assert_eq!(outcome.health, Health::Up, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        format!("Certificate valid for 5 more days ({}).", date(not_after))
    );
}

#[tokio::test]
async fn tls_expired_certificate_is_down_with_its_date() {
    let ca = Ca::new("Upstate Test CA");
    let now = unix_now();
    let not_after = now - 2 * DAY;
    let (chain, key) = ca.leaf("status.test", now - 30 * DAY, not_after);
    let addr = tls_server(chain, key).await;
    let ca_file = ca.file();

    let outcome = tls_config(addr, &ca_file).check(CHECK).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        format!("Certificate expired on {}.", date(not_after))
    );
}

#[tokio::test]
async fn tls_certificate_for_another_name_is_down() {
    let ca = Ca::new("Upstate Test CA");
    let now = unix_now();
    let not_after = now + 90 * DAY;
    let (chain, key) = ca.leaf("other.test", now - DAY, not_after);
    let addr = tls_server(chain, key).await;
    let ca_file = ca.file();

    let outcome = tls_config(addr, &ca_file).check(CHECK).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        format!(
            "Certificate is not valid for status.test; expires {}.",
            date(not_after)
        )
    );
}

#[tokio::test]
async fn tls_certificate_from_an_unknown_ca_is_down() {
    let trusted = Ca::new("Upstate Test CA");
    let stranger = Ca::new("Somebody Else's CA");
    let now = unix_now();
    let not_after = now + 90 * DAY;
    let (chain, key) = stranger.leaf("status.test", now - DAY, not_after);
    let addr = tls_server(chain, key).await;
    let ca_file = trusted.file();

    let outcome = tls_config(addr, &ca_file).check(CHECK).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        format!(
            "Certificate is not trusted (unknown issuer); expires {}.",
            date(not_after)
        )
    );
}

#[tokio::test]
async fn tls_server_closing_mid_handshake_is_down() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            drop(tcp);
        }
    });
    let ca_file = Ca::new("Upstate Test CA").file();

    let outcome = tls_config(addr, &ca_file).check(CHECK).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        "TLS handshake failed: the server closed the connection."
    );
}

// ---------------------------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------------------------

/// A tiny authoritative server for `status.test`:
/// `www` has two A records, `gone` does not exist, `broken` fails, `empty` has no A records.
async fn dns_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            if let Some(reply) = answer(&buf[..len]) {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    });
    addr
}

/// The reply to one query, or `None` for a packet that is not one.
fn answer(query: &[u8]) -> Option<Vec<u8>> {
    // Header: 12 bytes; then the question: labels, a zero byte, QTYPE and QCLASS.
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(pos..pos + len)?).to_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let question_end = pos + 4;
    let name = labels.join(".");

    let (rcode, addresses): (u16, &[[u8; 4]]) = match (name.as_str(), qtype) {
        ("www.status.test", 1) => (0, &[[203, 0, 113, 10], [203, 0, 113, 11]]),
        ("gone.status.test", _) => (3, &[]),
        ("broken.status.test", _) => (2, &[]),
        _ => (0, &[]),
    };
    let query_flags = u16::from_be_bytes([query[2], query[3]]);
    // QR, the query's opcode and RD, AA, RA, then the response code.
    let flags = 0x8000 | (query_flags & 0x7900) | 0x0400 | 0x0080 | rcode;
    let mut reply = Vec::new();
    reply.extend_from_slice(&query[..2]);
    reply.extend_from_slice(&flags.to_be_bytes());
    reply.extend_from_slice(&1u16.to_be_bytes());
    reply.extend_from_slice(&u16::try_from(addresses.len()).unwrap().to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 0]);
    reply.extend_from_slice(query.get(12..question_end)?);
    for ip in addresses {
        reply.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]); // the question's name, A, IN
        reply.extend_from_slice(&60u32.to_be_bytes());
        reply.extend_from_slice(&4u16.to_be_bytes());
        reply.extend_from_slice(ip);
    }
    Some(reply)
}

fn dns_config(name: &str, resolver: SocketAddr, expect: &[&str]) -> DnsConfig {
    let expect: Vec<String> = expect.iter().map(|e| format!("\"{e}\"")).collect();
    toml::from_str(&format!(
        "name = \"{name}\"\nresolver = \"{resolver}\"\nexpect = [{}]\n",
        expect.join(", ")
    ))
    .unwrap()
}

#[tokio::test]
async fn dns_expected_answer_is_up() {
    let server = dns_server().await;

    let outcome = dns_config("www.status.test", server, &["203.0.113.10"])
        .check(CHECK)
        .await;

    assert_eq!(outcome.health, Health::Up, "{outcome:?}");
    let ms = outcome.latency_ms.unwrap();
    assert_eq!(
        outcome.detail,
        format!("A 203.0.113.10, 203.0.113.11 in {ms} ms")
    );
}

#[tokio::test]
async fn dns_missing_expected_answer_is_down() {
    let server = dns_server().await;

    let outcome = dns_config("www.status.test", server, &["203.0.113.10", "198.51.100.7"])
        .check(CHECK)
        .await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        "Expected 198.51.100.7, got 203.0.113.10, 203.0.113.11."
    );
}

#[tokio::test]
async fn dns_nxdomain_servfail_and_empty_are_told_apart() {
    let server = dns_server().await;

    let gone = dns_config("gone.status.test", server, &[])
        .check(CHECK)
        .await;
    let broken = dns_config("broken.status.test", server, &[])
        .check(CHECK)
        .await;
    let empty = dns_config("empty.status.test", server, &[])
        .check(CHECK)
        .await;

    assert_eq!(gone.health, Health::Down, "{gone:?}");
    assert_eq!(gone.detail, "NXDOMAIN: gone.status.test does not exist.");
    assert_eq!(broken.health, Health::Down, "{broken:?}");
    assert_eq!(broken.detail, "SERVFAIL from the resolver.");
    assert_eq!(empty.health, Health::Down, "{empty:?}");
    assert_eq!(empty.detail, "No A records.");
}

#[tokio::test]
async fn dns_record_type_is_asked_for() {
    let server = dns_server().await;
    let mut config = dns_config("www.status.test", server, &[]);
    config.record = "AAAA".to_owned();

    // The responder has only A records for `www`.
    let outcome = config.check(CHECK).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(outcome.detail, "No AAAA records.");
}

#[tokio::test]
async fn dns_silent_resolver_times_out() {
    // Bound, so queries are not refused, but never read.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = dns_config("www.status.test", silent.local_addr().unwrap(), &[]);

    let outcome = check_like_the_runner(ProbeSpec::Dns(config), DEADLINE).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(outcome.detail, "Timed out after 1s.");
    drop(silent);
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

/// `?token=` makes the URL secret-looking; no detail may ever contain it.
const TOKEN: &str = "hunter2-websocket-token";

fn ws_config(addr: SocketAddr) -> WebsocketConfig {
    toml::from_str(&format!("url = \"ws://{addr}/live?token={TOKEN}\"\n")).unwrap()
}

/// A WebSocket server that answers pings (tungstenite does so while it reads).
async fn ws_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await {
                    while let Some(Ok(_)) = ws.next().await {}
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn websocket_pong_is_up() {
    let addr = ws_server().await;

    let outcome = ws_config(addr).check(CHECK).await;

    assert_eq!(outcome.health, Health::Up, "{outcome:?}");
    let ms = outcome.latency_ms.unwrap();
    assert_eq!(outcome.detail, format!("Pong in {ms} ms"));
}

#[tokio::test]
async fn websocket_refused_upgrade_is_down_with_the_status() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tcp
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    });

    let outcome = ws_config(addr).check(CHECK).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(outcome.detail, "Upgrade refused: HTTP 404.");
}

#[tokio::test]
async fn websocket_connection_refused_is_down_without_the_url() {
    // A port that was just free: nothing listens there any more.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();

    let outcome = ws_config(addr).check(CHECK).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert!(
        outcome.detail.starts_with("Cannot connect: "),
        "{outcome:?}"
    );
    assert!(
        outcome.detail.to_lowercase().contains("refused"),
        "{outcome:?}"
    );
    assert!(
        !outcome.detail.contains(TOKEN),
        "the URL leaked: {outcome:?}"
    );
}

#[tokio::test]
async fn websocket_server_that_never_pongs_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Upgrades, then never reads again, so the ping is never answered.
                let ws = tokio_tungstenite::accept_async(tcp).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                drop(ws);
            });
        }
    });

    let outcome = check_like_the_runner(ProbeSpec::Websocket(ws_config(addr)), DEADLINE).await;

    assert_eq!(outcome.health, Health::Down, "{outcome:?}");
    assert_eq!(outcome.detail, "Timed out after 1s.");
}
