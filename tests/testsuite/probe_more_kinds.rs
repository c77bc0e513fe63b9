//! gRPC health and ICMP echo (issue 21), against real servers: a tonic-health gRPC server
//! started in-process on a free port (the same code real Rust services expose), and the
//! kernel's own ICMP echo on loopback. Healthy, closed port, a socket that never answers,
//! over-threshold, and config errors.

use std::time::Duration;

use crate::common::kinds::{assert_times_out, config_error, probe};
use crate::common::{closed_port, silent_server};
use tonic::{Request, Response, Status};
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health as HealthApi, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};
use upstate::probe::Health;

// ---------------------------------------------------------------------------------------------
// gRPC (grpc.health.v1)
// ---------------------------------------------------------------------------------------------

/// tonic-health's own service, answering `delay` late (a slow backend behind the health check).
struct Delayed {
    inner: HealthService,
    delay: Duration,
}

#[tonic::async_trait]
impl HealthApi for Delayed {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        tokio::time::sleep(self.delay).await;
        self.inner.check(request).await
    }

    type WatchStream = <HealthService as HealthApi>::WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        self.inner.watch(request).await
    }
}

/// A gRPC server with the standard health service on a free port, answering `delay` late; the
/// reporter sets what it says. The server runs until the test's runtime ends.
async fn grpc_server(delay: Duration) -> (std::net::SocketAddr, HealthReporter) {
    let reporter = HealthReporter::new();
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    let service = Delayed {
        inner: HealthService::from_health_reporter(reporter.clone()),
        delay,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(HealthServer::new(service))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    (addr, reporter)
}

#[tokio::test]
async fn grpc_serving_is_up_with_connect_time_apart() {
    let (addr, reporter) = grpc_server(Duration::ZERO).await;
    let o = probe(&format!("kind = \"grpc\"\naddress = \"{addr}\"")).await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(
        o.detail.starts_with("The server is SERVING ("),
        "{}",
        o.detail
    );
    assert!(o.detail.contains(", connect "), "{}", o.detail);
    assert!(o.latency_ms.is_some());

    reporter
        .set_service_status("upstate.Jobs", ServingStatus::Serving)
        .await;
    let o = probe(&format!(
        "kind = \"grpc\"\naddress = \"{addr}\"\nservice = \"upstate.Jobs\""
    ))
    .await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(
        o.detail
            .starts_with("Service \"upstate.Jobs\" is SERVING ("),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn grpc_not_serving_and_unknown_services_are_down_and_say_which() {
    let (addr, reporter) = grpc_server(Duration::ZERO).await;
    reporter
        .set_service_status("upstate.Jobs", ServingStatus::NotServing)
        .await;
    let o = probe(&format!(
        "kind = \"grpc\"\naddress = \"{addr}\"\nservice = \"upstate.Jobs\""
    ))
    .await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Service \"upstate.Jobs\" is NOT_SERVING.")
    );
    let o = probe(&format!(
        "kind = \"grpc\"\naddress = \"{addr}\"\nservice = \"upstate.Nope\""
    ))
    .await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (
            Health::Down,
            "Service \"upstate.Nope\" is unknown to the server's health service (NOT_FOUND)."
        )
    );
    // Back to serving: the same probe goes up again (the state is the server's, not cached).
    reporter
        .set_service_status("upstate.Jobs", ServingStatus::Serving)
        .await;
    let o = probe(&format!(
        "kind = \"grpc\"\naddress = \"{addr}\"\nservice = \"upstate.Jobs\""
    ))
    .await;
    assert_eq!(o.health, Health::Up, "{o:?}");
}

#[tokio::test]
async fn grpc_slow_answer_is_over_the_latency_threshold() {
    let (addr, _reporter) = grpc_server(Duration::from_millis(300)).await;
    let o = probe(&format!(
        "kind = \"grpc\"\naddress = \"{addr}\"\ndegraded_above = 200\ntimeout = \"10s\""
    ))
    .await;
    assert_eq!(o.health, Health::Degraded, "{o:?}");
    assert!(o.latency_ms.unwrap() >= 300, "{o:?}");
    assert!(
        o.detail.contains("latency (ms)") && o.detail.contains("above the degraded limit 200"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn grpc_closed_port_is_down_and_a_silent_one_times_out() {
    let port = closed_port();
    let o = probe(&format!("kind = \"grpc\"\naddress = \"127.0.0.1:{port}\"")).await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
    assert!(o.detail.contains("refused"), "{}", o.detail);
    let addr = silent_server();
    assert_times_out(&format!("kind = \"grpc\"\naddress = \"{addr}\"")).await;
}

#[tokio::test]
async fn grpc_tls_to_a_plaintext_server_is_down_not_downgraded() {
    let (addr, _reporter) = grpc_server(Duration::ZERO).await;
    let o = probe(&format!(
        "kind = \"grpc\"\naddress = \"{addr}\"\ntls = true\ntimeout = \"5s\""
    ))
    .await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
}

#[test]
fn grpc_config_errors_name_the_line_and_the_fix() {
    let scheme = config_error("kind = \"grpc\"\naddress = \"http://h:50051\"");
    assert!(
        scheme.starts_with(
            "test.toml:5:11: `address` `http://h:50051` must be host:port without a scheme"
        ),
        "{scheme}"
    );
    let port = config_error("kind = \"grpc\"\naddress = \"h\"");
    assert!(port.contains("must be host:port"), "{port}");
    let unknown = config_error("kind = \"grpc\"\naddress = \"h:1\"\nservce = \"x\"");
    assert!(
        unknown.starts_with("test.toml:6:1: unknown key `servce` in [[component]]")
            && unknown.contains("did you mean `service`?"),
        "{unknown}"
    );
}

// ---------------------------------------------------------------------------------------------
// ICMP (the kernel's echo on loopback)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn icmp_loopback_answers_every_echo_with_no_loss() {
    let o = probe("kind = \"icmp\"\nhost = \"127.0.0.1\"\ncount = 3").await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert_eq!(o.value, Some(0.0), "loss % is the value");
    assert!(o.latency_ms.is_some());
    assert!(
        o.detail
            .starts_with("3 of 3 echoes answered, 0 % loss, mean round trip "),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn icmp_limits_judge_the_loss_percentage() {
    // Loopback never loses an echo, so only a floor can be crossed here; the loss of a lossy
    // host is computed by the same code (unit-tested in src/probe/icmp.rs).
    let o = probe("kind = \"icmp\"\nhost = \"localhost\"\ncount = 2\ndown_below = 1").await;
    assert_eq!((o.health, o.value), (Health::Down, Some(0.0)), "{o:?}");
    assert!(
        o.detail.ends_with("loss % 0 is below the down limit 1"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn icmp_unresolvable_host_is_down_and_says_so() {
    let o = probe("kind = \"icmp\"\nhost = \"no-such-host.invalid\"").await;
    assert_eq!(o.health, Health::Down);
    assert!(
        o.detail.starts_with("Cannot resolve no-such-host.invalid"),
        "{}",
        o.detail
    );
}

#[test]
fn icmp_config_errors_name_the_line_and_the_fix() {
    let zero = config_error("kind = \"icmp\"\nhost = \"h\"\ncount = 0");
    assert!(
        zero.starts_with("test.toml:6:9: `count` must be between 1 and 100, not 0"),
        "{zero}"
    );
    let port = config_error("kind = \"icmp\"\nhost = \"h:80\"");
    assert!(port.contains("without a port"), "{port}");
    let missing = config_error("kind = \"icmp\"\ncount = 2");
    assert!(missing.contains("missing field `host`"), "{missing}");
}

// ---------------------------------------------------------------------------------------------
// MQTT over TLS (a Mosquitto started by the test with a TLS listener and an rcgen certificate)
// ---------------------------------------------------------------------------------------------

/// A Mosquitto with only a TLS listener on a free port, its certificate for `localhost` signed
/// by a test CA (PEM in `ca_file`); stopped when dropped.
struct TlsMosquitto {
    child: std::process::Child,
    port: u16,
    ca_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsMosquitto {
    fn start() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "upstate mqtts test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(path("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
        let port = closed_port();
        std::fs::write(
            path("mosquitto.conf"),
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\ncertfile {}\nkeyfile {}\npersistence false\n",
                path("cert.pem").display(),
                path("key.pem").display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new("mosquitto")
            .arg("-c")
            .arg(path("mosquitto.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto is not installed: apt-get install mosquitto");
        let server = Self {
            child,
            port,
            ca_file: path("ca.pem"),
            _dir: dir,
        };
        // A readiness bound on a loaded machine, not a timing.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("mosquitto did not listen on {port}");
    }

    fn keys(&self, extra: &str) -> String {
        format!(
            "kind = \"mqtt\"\nurl = \"mqtts://localhost:{}\"\ntopic = \"upstate/probe/{}\"\n{extra}",
            self.port,
            std::process::id()
        )
    }
}

impl Drop for TlsMosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn mqtts_round_trip_over_verified_tls_is_up() {
    let broker = TlsMosquitto::start();
    let ca = format!("ca_file = \"{}\"", broker.ca_file.display());
    let o = probe(&broker.keys(&ca)).await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(
        o.detail
            .starts_with("Publish/subscribe round trip over TLS in "),
        "{}",
        o.detail
    );
    assert!(o.latency_ms.is_some());
    // The latency limit is judged on the round trip.
    let o = probe(&broker.keys(&format!("{ca}\ndown_below = 1000000"))).await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(o.detail.contains("latency (ms)"), "{}", o.detail);
}

#[tokio::test]
async fn mqtts_untrusted_certificate_is_down_not_downgraded() {
    let broker = TlsMosquitto::start();
    let o = probe(&broker.keys("")).await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(
        o.detail.starts_with("TLS handshake failed: ") && o.detail.contains("UnknownIssuer"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn mqtts_closed_port_is_down_without_the_password_and_a_silent_one_times_out() {
    // SAFETY: a variable no other test reads.
    unsafe { std::env::set_var("UPSTATE_TEST_MQTTS_PW", "mqtts-Secr3t-pw-41c9") };
    let port = closed_port();
    let o = probe(&format!(
        "kind = \"mqtt\"\nurl = \"mqtts://app:${{UPSTATE_TEST_MQTTS_PW}}@127.0.0.1:{port}\"\ntopic = \"t\""
    ))
    .await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
    assert!(!o.detail.contains("mqtts-Secr3t-pw-41c9"), "{}", o.detail);
    let addr = silent_server();
    assert_times_out(&format!(
        "kind = \"mqtt\"\nurl = \"mqtts://{addr}\"\ntopic = \"t\""
    ))
    .await;
}

#[test]
fn mqtts_config_errors_name_the_line_and_the_fix() {
    let plain_ca =
        config_error("kind = \"mqtt\"\nurl = \"mqtt://h\"\ntopic = \"t\"\nca_file = \"ca.pem\"");
    assert!(
        plain_ca.contains("`ca_file` is only used with TLS"),
        "{plain_ca}"
    );
}

// ---------------------------------------------------------------------------------------------
// SSH host key (Debian's OpenSSH sshd, started by the test on a free port with its own keys)
// ---------------------------------------------------------------------------------------------

/// An OpenSSH sshd on a free port with an ed25519, an ECDSA and an RSA host key of its own (in
/// a temp dir); stopped when dropped. `fingerprints` are what `ssh-keygen -lf` prints for them.
struct TestSshd {
    child: std::process::Child,
    port: u16,
    fingerprints: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestSshd {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = String::new();
        let mut fingerprints = Vec::new();
        for kind in ["ed25519", "ecdsa", "rsa"] {
            let key = dir.path().join(kind);
            let made = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", "", "-f"])
                .arg(&key)
                .status()
                .expect("ssh-keygen is not installed: apt-get install openssh-client");
            assert!(made.success());
            let listed = std::process::Command::new("ssh-keygen")
                .arg("-lf")
                .arg(key.with_extension("pub"))
                .output()
                .unwrap();
            // "256 SHA256:… comment (ED25519)"
            let line = String::from_utf8(listed.stdout).unwrap();
            let fingerprint = line.split_whitespace().nth(1).unwrap().to_owned();
            assert!(fingerprint.starts_with("SHA256:"), "{line}");
            fingerprints.push((kind.to_owned(), fingerprint));
            config.push_str(&format!("HostKey {}\n", key.display()));
        }
        let port = closed_port();
        config.push_str(&format!(
            "Port {port}\nListenAddress 127.0.0.1\nPidFile none\nUsePAM no\n"
        ));
        std::fs::write(dir.path().join("sshd_config"), config).unwrap();
        // sshd started as root insists on its privilege-separation directory (systemd's
        // RuntimeDirectory makes it on a real host; scripts/services.sh makes it in CI).
        if !std::path::Path::new("/run/sshd").is_dir() {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let child = std::process::Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sshd is not installed: apt-get install openssh-server");
        let server = Self {
            child,
            port,
            fingerprints,
            _dir: dir,
        };
        // A readiness bound on a loaded machine, not a timing.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("sshd did not listen on {port}");
    }

    fn keys(&self, fingerprint: &str) -> String {
        format!(
            "kind = \"ssh\"\naddress = \"127.0.0.1:{}\"\nfingerprint = \"{fingerprint}\"",
            self.port
        )
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn ssh_each_host_key_fingerprint_matches_a_real_sshd() {
    let sshd = TestSshd::start();
    for (kind, fingerprint) in &sshd.fingerprints {
        let o = probe(&sshd.keys(fingerprint)).await;
        assert_eq!(o.health, Health::Up, "{kind}: {o:?}");
        assert!(o.detail.starts_with("SSH-2.0-OpenSSH_"), "{}", o.detail);
        assert!(
            o.detail.ends_with(&format!("{fingerprint} matches")),
            "{kind}: {}",
            o.detail
        );
    }
}

#[tokio::test]
async fn ssh_changed_host_key_is_down_and_names_every_key_seen() {
    let sshd = TestSshd::start();
    // Another host's key: what a rebuilt server or an impostor would present.
    let other = TestSshd::start();
    let wanted = &other.fingerprints[0].1.clone();
    drop(other);
    let o = probe(&sshd.keys(wanted)).await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(
        o.detail.starts_with(&format!(
            "Host key mismatch: expected {wanted}, the server holds "
        )),
        "{}",
        o.detail
    );
    for (_, fingerprint) in &sshd.fingerprints {
        assert!(o.detail.contains(fingerprint.as_str()), "{}", o.detail);
    }
}

#[tokio::test]
async fn ssh_fingerprint_closed_port_is_down_and_a_silent_one_times_out() {
    let fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
    let port = closed_port();
    let o = probe(&format!(
        "kind = \"ssh\"\naddress = \"127.0.0.1:{port}\"\nfingerprint = \"{fingerprint}\""
    ))
    .await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
    let addr = silent_server();
    assert_times_out(&format!(
        "kind = \"ssh\"\naddress = \"{addr}\"\nfingerprint = \"{fingerprint}\""
    ))
    .await;
}

#[test]
fn ssh_fingerprint_config_errors_name_the_line_and_the_fix() {
    let md5 = config_error(
        "kind = \"ssh\"\naddress = \"h:22\"\nfingerprint = \"MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48\"",
    );
    assert!(
        md5.starts_with("test.toml:6:15: `fingerprint` `MD5:16:27")
            && md5.contains("is not a SHA256 host key fingerprint")
            && md5.contains("ssh-keygen -lf"),
        "{md5}"
    );
    let short = config_error("kind = \"ssh\"\naddress = \"h:22\"\nfingerprint = \"SHA256:abc\"");
    assert!(
        short.contains("is not a SHA256 host key fingerprint"),
        "{short}"
    );
}
