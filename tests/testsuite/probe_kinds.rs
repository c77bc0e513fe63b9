//! The broker, database and protocol kinds (issue 21) against the machine's real servers —
//! MariaDB, RabbitMQ, NATS with JetStream, Mosquitto — and servers the tests start: healthy,
//! closed port, a socket that accepts and never answers, over-threshold, and config errors.
//! Names (queues, streams, topics) carry a random suffix: other suites use the same servers.

use crate::common;

use std::time::Duration;

use crate::common::kinds::{assert_times_out, config_error, probe};
use crate::common::{closed_port, silent_server};
use upstate::probe::Health;

#[allow(dead_code)] // used by the broker tests below
/// A name no other test (or other suite on the same server) uses.
fn unique(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{prefix}_{}_{:x}", std::process::id(), h.finish())
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB
// ---------------------------------------------------------------------------------------------

const MARIADB: &str = "mysql://root@127.0.0.1:3306/test";

#[tokio::test]
async fn mysql_select_1_is_up_with_connect_time_apart() {
    let o = probe(&format!("kind = \"mysql\"\ndsn = \"{MARIADB}\"")).await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(o.latency_ms.is_some());
    assert!(o.detail.starts_with("SELECT 1 in "), "{}", o.detail);
    assert!(o.detail.contains("(connect "), "{}", o.detail);
    assert_eq!(
        o.value, None,
        "latency is the value: nothing extra recorded"
    );
}

#[tokio::test]
async fn mysql_closed_port_is_down() {
    let port = closed_port();
    let o = probe(&format!(
        "kind = \"mysql\"\ndsn = \"mysql://root@127.0.0.1:{port}/test\""
    ))
    .await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
}

#[tokio::test]
async fn mysql_server_that_never_answers_times_out() {
    let addr = silent_server();
    assert_times_out(&format!(
        "kind = \"mysql\"\ndsn = \"mysql://root@{addr}/test\""
    ))
    .await;
}

#[tokio::test]
async fn mysql_first_column_is_the_value_and_thresholds_judge_it() {
    let keys = |query: &str, limits: &str| {
        format!(
            "kind = \"mysql\"\ndsn = \"{MARIADB}\"\nquery = \"{query}\"\nvalue = \"first_column\"\n{limits}"
        )
    };
    let ok = probe(&keys("SELECT 12", "degraded_above = 30\ndown_above = 120")).await;
    assert_eq!((ok.health, ok.value), (Health::Up, Some(12.0)), "{ok:?}");
    let lagging = probe(&keys(
        "SELECT 45.5",
        "degraded_above = 30\ndown_above = 120",
    ))
    .await;
    assert_eq!(lagging.health, Health::Degraded, "{lagging:?}");
    assert!(
        lagging
            .detail
            .ends_with("; first column 45.5 is above the degraded limit 30"),
        "{}",
        lagging.detail
    );
    let large = probe(&keys(
        "SELECT 9000000000",
        "degraded_above = 30\ndown_above = 120",
    ))
    .await;
    assert_eq!(large.health, Health::Down, "{large:?}");
    assert_eq!(large.value, Some(9_000_000_000.0));
    let not_a_number = probe(&keys("SELECT 'abc'", "")).await;
    assert_eq!(
        (not_a_number.health, not_a_number.detail.as_str()),
        (
            Health::Down,
            "The query's first column is \"abc\", not a number."
        )
    );
    let null = probe(&keys("SELECT NULL", "")).await;
    assert_eq!(null.health, Health::Down, "{null:?}");
}

#[tokio::test]
async fn mysql_failed_query_and_wrong_password_never_show_the_dsn() {
    let bad = probe(&format!(
        "kind = \"mysql\"\ndsn = \"{MARIADB}\"\nquery = \"SELECT * FROM surely_missing_table_x\""
    ))
    .await;
    assert_eq!(bad.health, Health::Down);
    assert!(bad.detail.starts_with("Query failed: "), "{}", bad.detail);
    // SAFETY: the variable name is unique to this test.
    unsafe { std::env::set_var("UPSTATE_TEST_MYSQL_PW", "my-Secr3t-pw-81f2") };
    let o = probe(
        "kind = \"mysql\"\ndsn = \"mysql://root:${UPSTATE_TEST_MYSQL_PW}@127.0.0.1:3306/test\"",
    )
    .await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(o.detail.contains("Access denied"), "{}", o.detail);
    assert!(!o.detail.contains("my-Secr3t-pw-81f2"), "{}", o.detail);
}

#[test]
fn mysql_config_errors_name_the_line_and_the_fix() {
    let scheme = config_error("kind = \"mysql\"\ndsn = \"postgres://root@h/db\"");
    assert!(
        scheme.starts_with("test.toml:5:7: `dsn` must start with `mysql://`"),
        "{scheme}"
    );
    assert!(!scheme.contains("root@h"), "{scheme}");
    let missing = config_error("kind = \"mysql\"\nquery = \"SELECT 1\"");
    assert!(missing.contains("missing field `dsn`"), "{missing}");
    assert!(missing.starts_with("test.toml:1:"), "{missing}");
    let value = config_error(&format!(
        "kind = \"mysql\"\ndsn = \"{MARIADB}\"\nvalue = \"first_row\""
    ));
    assert!(value.contains("unknown variant `first_row`"), "{value}");
}

// ---------------------------------------------------------------------------------------------
// Thresholds shared by every kind
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn postgres_first_column_thresholds_read_like_replication_lag() {
    let pg = common::services::postgres_url();
    let o = probe(&format!(
        "kind = \"postgres\"\ndsn = \"{pg}\"\nquery = \"SELECT 31\"\nvalue = \"first_column\"\ndegraded_above = 30"
    ))
    .await;
    assert_eq!((o.health, o.value), (Health::Degraded, Some(31.0)), "{o:?}");
    assert!(
        o.detail
            .ends_with("; first column 31 is above the degraded limit 30"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn latency_is_the_default_value_for_thresholds() {
    // No MariaDB round trip takes less than 0 ms: `down_below = 0` never fires and
    // `degraded_above = -1` always does, whatever the machine's speed.
    let o = probe(&format!(
        "kind = \"mysql\"\ndsn = \"{MARIADB}\"\ndegraded_below = -5\ndegraded_above = -1"
    ))
    .await;
    assert_eq!(o.health, Health::Degraded, "{o:?}");
    assert!(o.detail.contains("; latency (ms) "), "{}", o.detail);
}

#[test]
fn thresholds_are_checked_where_they_are_written() {
    let contradictory =
        config_error("kind = \"tcp\"\naddress = \"h:1\"\ndegraded_above = 100\ndown_above = 10");
    assert!(
        contradictory
            .starts_with("test.toml:6:1: `degraded_above` (100) is above `down_above` (10)"),
        "{contradictory}"
    );
    assert!(contradictory.contains("help: set degraded_above <= down_above"));
    let no_number = config_error(
        "kind = \"heartbeat\"\nsource = \"redis://h\"\nkey = \"k\"\nmax_age = \"1m\"\ndown_after = \"5m\"\ndown_above = 3",
    );
    assert!(
        no_number.contains("kind `heartbeat` measures no number"),
        "{no_number}"
    );
    let not_a_number = config_error("kind = \"tcp\"\naddress = \"h:1\"\ndown_above = \"lots\"");
    assert!(not_a_number.starts_with("test.toml:6:"), "{not_a_number}");
}

// ---------------------------------------------------------------------------------------------
// AMQP (RabbitMQ)
// ---------------------------------------------------------------------------------------------

const RABBITMQ: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A queue holding `messages` messages and no consumer; deleted when the guard drops.
struct TestQueue {
    name: String,
    channel: lapin::Channel,
    connection: lapin::Connection,
}

impl TestQueue {
    async fn with_messages(messages: usize) -> Self {
        use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
        let name = unique("upstate_probe_q");
        let connection =
            lapin::Connection::connect(RABBITMQ, lapin::ConnectionProperties::default())
                .await
                .unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel
            .queue_declare(
                name.as_str().into(),
                QueueDeclareOptions::default(),
                lapin::types::FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        for i in 0..messages {
            channel
                .basic_publish(
                    "".into(),
                    name.as_str().into(),
                    BasicPublishOptions::default(),
                    format!("job {i}").as_bytes(),
                    lapin::BasicProperties::default(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
        Self {
            name,
            channel,
            connection,
        }
    }

    async fn delete(self) {
        let _ = self
            .channel
            .queue_delete(
                self.name.as_str().into(),
                lapin::options::QueueDeleteOptions::default(),
            )
            .await;
        let _ = self.connection.close(200, "test done".into()).await;
    }
}

#[tokio::test]
async fn amqp_queue_depth_and_consumers_are_reported_and_judged() {
    let queue = TestQueue::with_messages(3).await;
    let keys = |limits: &str| {
        format!(
            "kind = \"amqp\"\nurl = \"{RABBITMQ}\"\nqueue = \"{}\"\n{limits}",
            queue.name
        )
    };
    let ok = probe(&keys("degraded_above = 10")).await;
    assert_eq!((ok.health, ok.value), (Health::Up, Some(3.0)), "{ok:?}");
    assert!(
        ok.detail.starts_with(&format!(
            "Queue {}: 3 messages, 0 consumers in ",
            queue.name
        )),
        "{}",
        ok.detail
    );
    assert!(ok.detail.contains("(connect "), "{}", ok.detail);
    assert!(
        ok.detail.contains("; nothing is consuming it"),
        "{}",
        ok.detail
    );
    let backlog = probe(&keys("degraded_above = 1\ndown_above = 2")).await;
    assert_eq!(backlog.health, Health::Down, "{backlog:?}");
    assert!(
        backlog
            .detail
            .ends_with("; queue depth 3 is above the down limit 2"),
        "{}",
        backlog.detail
    );
    queue.delete().await;
}

#[tokio::test]
async fn amqp_missing_queue_is_down_and_not_created() {
    let name = unique("upstate_probe_missing");
    let o = probe(&format!(
        "kind = \"amqp\"\nurl = \"{RABBITMQ}\"\nqueue = \"{name}\""
    ))
    .await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(
        o.detail
            .starts_with(&format!("Queue {name} cannot be read: ")),
        "{}",
        o.detail
    );
    assert!(o.detail.contains("NOT_FOUND"), "{}", o.detail);
    // Passive: asking again still finds nothing.
    let again = probe(&format!(
        "kind = \"amqp\"\nurl = \"{RABBITMQ}\"\nqueue = \"{name}\""
    ))
    .await;
    assert_eq!(again.health, Health::Down);
}

#[tokio::test]
async fn amqp_closed_port_is_down() {
    let port = closed_port();
    let o = probe(&format!(
        "kind = \"amqp\"\nurl = \"amqp://guest:guest@127.0.0.1:{port}/%2f\"\nqueue = \"q\""
    ))
    .await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
}

#[tokio::test]
async fn amqp_server_that_never_answers_times_out() {
    let addr = silent_server();
    assert_times_out(&format!(
        "kind = \"amqp\"\nurl = \"amqp://guest:guest@{addr}/%2f\"\nqueue = \"q\""
    ))
    .await;
}

#[tokio::test]
async fn amqp_wrong_password_is_down_without_the_password() {
    // SAFETY: the variable name is unique to this test.
    unsafe { std::env::set_var("UPSTATE_TEST_AMQP_PW", "amqp-Secr3t-pw-55c1") };
    let o = probe(
        "kind = \"amqp\"\nurl = \"amqp://guest:${UPSTATE_TEST_AMQP_PW}@127.0.0.1:5672/%2f\"\nqueue = \"q\"",
    )
    .await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(o.detail.contains("ACCESS_REFUSED"), "{}", o.detail);
    assert!(!o.detail.contains("amqp-Secr3t-pw-55c1"), "{}", o.detail);
}

#[test]
fn amqp_config_errors_name_the_line_and_the_fix() {
    let scheme = config_error("kind = \"amqp\"\nurl = \"http://guest:guest@h/\"\nqueue = \"q\"");
    assert!(
        scheme.starts_with("test.toml:5:7: `url` must start with `amqp://` or `amqps://`"),
        "{scheme}"
    );
    let missing = config_error("kind = \"amqp\"\nurl = \"amqp://h\"");
    assert!(missing.contains("missing field `queue`"), "{missing}");
}

// ---------------------------------------------------------------------------------------------
// NATS + JetStream
// ---------------------------------------------------------------------------------------------

const NATS: &str = "nats://127.0.0.1:4222";

/// A stream with a durable pull consumer that has fetched nothing of `messages` messages.
async fn lagging_consumer(messages: usize) -> (async_nats::jetstream::Context, String) {
    use async_nats::jetstream;
    let name = unique("upstate_probe_s");
    let client = async_nats::connect(NATS).await.unwrap();
    let js = jetstream::new(client);
    let stream = js
        .create_stream(jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![format!("{name}.>")],
            ..Default::default()
        })
        .await
        .unwrap();
    stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some("worker".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    for i in 0..messages {
        js.publish(format!("{name}.jobs"), format!("job {i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    (js, name)
}

#[tokio::test]
async fn nats_round_trip_is_up_with_connect_time_apart() {
    let o = probe(&format!("kind = \"nats\"\nurl = \"{NATS}\"")).await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(o.detail.starts_with("Round trip in "), "{}", o.detail);
    assert!(o.detail.contains("(connect "), "{}", o.detail);
    assert_eq!(o.value, None);
}

#[tokio::test]
async fn nats_consumer_that_falls_behind_is_judged_on_its_pending_count() {
    let (js, stream) = lagging_consumer(5).await;
    let keys = |limits: &str| {
        format!(
            "kind = \"nats\"\nurl = \"{NATS}\"\nstream = \"{stream}\"\nconsumer = \"worker\"\n{limits}"
        )
    };
    let ok = probe(&keys("degraded_above = 10")).await;
    assert_eq!((ok.health, ok.value), (Health::Up, Some(5.0)), "{ok:?}");
    assert!(
        ok.detail.ends_with(&format!(
            "; consumer {stream}/worker: 5 pending, 0 awaiting ack"
        )),
        "{}",
        ok.detail
    );
    let behind = probe(&keys("degraded_above = 2\ndown_above = 100")).await;
    assert_eq!(behind.health, Health::Degraded, "{behind:?}");
    assert!(
        behind
            .detail
            .ends_with("; pending messages 5 is above the degraded limit 2"),
        "{}",
        behind.detail
    );
    let missing = probe(&format!(
        "kind = \"nats\"\nurl = \"{NATS}\"\nstream = \"{stream}\"\nconsumer = \"nobody\""
    ))
    .await;
    assert_eq!(missing.health, Health::Down, "{missing:?}");
    assert!(
        missing
            .detail
            .starts_with(&format!("Consumer {stream}/nobody cannot be read: ")),
        "{}",
        missing.detail
    );
    js.delete_stream(&stream).await.unwrap();
}

#[tokio::test]
async fn nats_closed_port_is_down_without_the_password() {
    let port = closed_port();
    // SAFETY: the variable name is unique to this test.
    unsafe { std::env::set_var("UPSTATE_TEST_NATS_PW", "nats-Secr3t-pw-0a9e") };
    let o = probe(&format!(
        "kind = \"nats\"\nurl = \"nats://app:${{UPSTATE_TEST_NATS_PW}}@127.0.0.1:{port}\""
    ))
    .await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
    assert!(!o.detail.contains("nats-Secr3t-pw-0a9e"), "{}", o.detail);
}

#[tokio::test]
async fn nats_server_that_never_answers_times_out() {
    let addr = silent_server();
    assert_times_out(&format!("kind = \"nats\"\nurl = \"nats://{addr}\"")).await;
}

#[test]
fn nats_config_errors_name_the_line_and_the_fix() {
    let scheme = config_error("kind = \"nats\"\nurl = \"amqp://h:4222\"");
    assert!(
        scheme.starts_with("test.toml:5:7: `url` must start with `nats://` or `tls://`"),
        "{scheme}"
    );
    let half = config_error("kind = \"nats\"\nurl = \"nats://h:4222\"\nstream = \"s\"");
    assert!(half.contains("`stream` needs `consumer`"), "{half}");
}

// ---------------------------------------------------------------------------------------------
// MQTT (Mosquitto)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn mqtt_publish_subscribe_round_trip_is_up() {
    let topic = unique("upstate/probe");
    let o = probe(&format!(
        "kind = \"mqtt\"\nurl = \"mqtt://127.0.0.1:1883\"\ntopic = \"{topic}\""
    ))
    .await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(
        o.detail.starts_with("Publish/subscribe round trip in "),
        "{}",
        o.detail
    );
    assert!(o.detail.contains("(connect "), "{}", o.detail);
    assert!(o.latency_ms.is_some());
}

#[tokio::test]
async fn mqtt_closed_port_is_down_without_the_password() {
    let port = closed_port();
    // SAFETY: the variable name is unique to this test.
    unsafe { std::env::set_var("UPSTATE_TEST_MQTT_PW", "mqtt-Secr3t-pw-7d3b") };
    let o = probe(&format!(
        "kind = \"mqtt\"\nurl = \"mqtt://app:${{UPSTATE_TEST_MQTT_PW}}@127.0.0.1:{port}\"\ntopic = \"t\""
    ))
    .await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
    assert!(!o.detail.contains("mqtt-Secr3t-pw-7d3b"), "{}", o.detail);
}

#[tokio::test]
async fn mqtt_server_that_never_answers_times_out() {
    let addr = silent_server();
    assert_times_out(&format!(
        "kind = \"mqtt\"\nurl = \"mqtt://{addr}\"\ntopic = \"t\""
    ))
    .await;
}

#[test]
fn mqtt_config_errors_name_the_line_and_the_fix() {
    let scheme = config_error("kind = \"mqtt\"\nurl = \"ws://h:8883\"\ntopic = \"t\"");
    assert!(
        scheme.starts_with("test.toml:5:7: `url` must start with `mqtt://` or `mqtts://`"),
        "{scheme}"
    );
    let wildcard = config_error("kind = \"mqtt\"\nurl = \"mqtt://h\"\ntopic = \"a/#\"");
    assert!(
        wildcard.contains("without `+` or `#` wildcards"),
        "{wildcard}"
    );
    let missing = config_error("kind = \"mqtt\"\nurl = \"mqtt://h\"");
    assert!(missing.contains("missing field `topic`"), "{missing}");
}

// ---------------------------------------------------------------------------------------------
// UDP
// ---------------------------------------------------------------------------------------------

/// A UDP service that answers `pong <request>` to every datagram.
async fn udp_echo() -> std::net::SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let mut answer = b"pong ".to_vec();
            answer.extend_from_slice(&buf[..n]);
            let _ = socket.send_to(&answer, from).await;
        }
    });
    addr
}

#[tokio::test]
async fn udp_answer_is_up_and_checked() {
    let addr = udp_echo().await;
    let ok = probe(&format!(
        "kind = \"udp\"\naddress = \"{addr}\"\nsend = \"ping\"\nexpect = \"pong ping\""
    ))
    .await;
    assert_eq!(ok.health, Health::Up, "{ok:?}");
    assert!(
        ok.detail.starts_with("Answer (9 bytes) in "),
        "{}",
        ok.detail
    );
    let wrong = probe(&format!(
        "kind = \"udp\"\naddress = \"{addr}\"\nsend = \"ping\"\nexpect = \"ok\""
    ))
    .await;
    assert_eq!(
        (wrong.health, wrong.detail.as_str()),
        (Health::Down, "The answer does not contain \"ok\".")
    );
}

#[tokio::test]
async fn udp_closed_port_is_down() {
    let port = closed_port();
    let o = probe(&format!(
        "kind = \"udp\"\naddress = \"127.0.0.1:{port}\"\nsend = \"ping\""
    ))
    .await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Port unreachable: nothing listens there.")
    );
}

#[tokio::test]
async fn udp_service_that_never_answers_times_out() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    assert_times_out(&format!(
        "kind = \"udp\"\naddress = \"{addr}\"\nsend = \"ping\""
    ))
    .await;
    drop(silent);
}

#[test]
fn udp_config_errors_name_the_line_and_the_fix() {
    let empty = config_error("kind = \"udp\"\naddress = \"h:53\"\nsend = \"\"");
    assert!(
        empty.starts_with("test.toml:6:8: `send` is empty"),
        "{empty}"
    );
    let missing = config_error("kind = \"udp\"\naddress = \"h:53\"");
    assert!(missing.contains("missing field `send`"), "{missing}");
}

// ---------------------------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------------------------

/// A test CA (its PEM in a file for `ca_file`) and a server certificate for `localhost`
/// that expires `days` days from now.
fn smtp_certificate(
    days: u64,
) -> (
    tempfile::NamedTempFile,
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use std::io::Write as _;
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "upstate smtp test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    leaf.not_before = rcgen::date_time_ymd(1970, 1, 1) + (now - Duration::from_secs(86_400));
    leaf.not_after =
        rcgen::date_time_ymd(1970, 1, 1) + (now + Duration::from_secs(days * 86_400 + 3_600));
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(ca_cert.pem().as_bytes()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        key.serialize_der(),
    ));
    (file, cert.der().clone(), key)
}

/// A small SMTP responder: banner, EHLO (advertising STARTTLS when `offer_starttls`), then the
/// STARTTLS upgrade with rustls, as RFC 3207 describes. Enough of a real receiver for the probe.
async fn smtp_server(
    banner: &'static str,
    offer_starttls: bool,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> std::net::SocketAddr {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut stream = tokio::io::BufReader::new(tcp);
                stream.get_mut().write_all(banner.as_bytes()).await.unwrap();
                let mut line = String::new();
                while stream.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let command = line.trim().to_ascii_uppercase();
                    line.clear();
                    if command.starts_with("EHLO") {
                        let answer = if offer_starttls {
                            "250-localhost hello\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                        } else {
                            "250-localhost hello\r\n250 PIPELINING\r\n"
                        };
                        stream.get_mut().write_all(answer.as_bytes()).await.unwrap();
                    } else if command == "STARTTLS" && offer_starttls {
                        stream
                            .get_mut()
                            .write_all(b"220 Go ahead\r\n")
                            .await
                            .unwrap();
                        if let Ok(mut tls) = acceptor.accept(stream.into_inner()).await {
                            let mut sink = Vec::new();
                            let _ = tls.read_to_end(&mut sink).await;
                        }
                        return;
                    } else {
                        stream
                            .get_mut()
                            .write_all(b"502 Not here\r\n")
                            .await
                            .unwrap();
                    }
                }
            });
        }
    });
    addr
}

fn smtp_keys(addr: std::net::SocketAddr, ca: &tempfile::NamedTempFile) -> String {
    format!(
        "kind = \"smtp\"\naddress = \"localhost:{}\"\nca_file = \"{}\"",
        addr.port(),
        ca.path().display()
    )
}

#[tokio::test]
async fn smtp_banner_ehlo_starttls_and_certificate_days_are_checked() {
    let (ca, cert, key) = smtp_certificate(90);
    let addr = smtp_server("220 mx.test ESMTP ready\r\n", true, cert, key).await;
    let o = probe(&smtp_keys(addr, &ca)).await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(
        o.detail.starts_with("Banner, EHLO and STARTTLS in "),
        "{}",
        o.detail
    );
    assert!(
        o.detail.contains("; Certificate valid for 90 more days ("),
        "{}",
        o.detail
    );
    let (ca, cert, key) = smtp_certificate(3);
    let addr = smtp_server("220 mx.test ESMTP ready\r\n", true, cert, key).await;
    let soon = probe(&smtp_keys(addr, &ca)).await;
    assert_eq!(soon.health, Health::Degraded, "{soon:?}");
    assert!(
        soon.detail.contains("; Certificate expires in 3 days ("),
        "{}",
        soon.detail
    );
}

#[tokio::test]
async fn smtp_without_starttls_or_with_a_refusing_banner_is_down() {
    let (ca, cert, key) = smtp_certificate(90);
    let plain = smtp_server(
        "220 mx.test ESMTP\r\n",
        false,
        cert.clone(),
        key.clone_key(),
    )
    .await;
    let o = probe(&smtp_keys(plain, &ca)).await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (
            Health::Down,
            "The server does not offer STARTTLS: mail would travel in clear."
        )
    );
    let banner_only = probe(&format!("{}\nstarttls = false", smtp_keys(plain, &ca))).await;
    assert_eq!(banner_only.health, Health::Up, "{banner_only:?}");
    let refusing = smtp_server("554 No service here\r\n", true, cert, key).await;
    let o = probe(&smtp_keys(refusing, &ca)).await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Banner 554: No service here.")
    );
}

#[tokio::test]
async fn smtp_closed_port_is_down_and_a_silent_one_times_out() {
    let port = closed_port();
    let o = probe(&format!("kind = \"smtp\"\naddress = \"127.0.0.1:{port}\"")).await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
    let addr = silent_server();
    assert_times_out(&format!("kind = \"smtp\"\naddress = \"{addr}\"")).await;
}

// ---------------------------------------------------------------------------------------------
// SSH (banner)
// ---------------------------------------------------------------------------------------------

/// A server that sends `lines` and then waits, as sshd does before the key exchange.
fn ssh_banner_server(lines: &'static str) -> std::net::SocketAddr {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(lines.as_bytes());
            held.push(stream);
        }
    });
    addr
}

#[tokio::test]
async fn ssh_banner_is_read_and_checked() {
    let addr = ssh_banner_server("Welcome\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    let ok = probe(&format!(
        "kind = \"ssh\"\naddress = \"{addr}\"\nexpect = \"OpenSSH_9\""
    ))
    .await;
    assert_eq!(ok.health, Health::Up, "{ok:?}");
    assert!(
        ok.detail
            .starts_with("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 in "),
        "{}",
        ok.detail
    );
    let old = probe(&format!(
        "kind = \"ssh\"\naddress = \"{addr}\"\nexpect = \"OpenSSH_10\""
    ))
    .await;
    assert_eq!(old.health, Health::Down, "{old:?}");
    let v1 = ssh_banner_server("SSH-1.5-ancient\r\n");
    let o = probe(&format!("kind = \"ssh\"\naddress = \"{v1}\"")).await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (
            Health::Down,
            "The server speaks an old protocol: SSH-1.5-ancient."
        )
    );
}

#[tokio::test]
async fn ssh_closed_port_is_down_and_a_silent_one_times_out() {
    let port = closed_port();
    let o = probe(&format!("kind = \"ssh\"\naddress = \"127.0.0.1:{port}\"")).await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.starts_with("Cannot connect: "), "{}", o.detail);
    let addr = silent_server();
    assert_times_out(&format!("kind = \"ssh\"\naddress = \"{addr}\"")).await;
}

// ---------------------------------------------------------------------------------------------
// The example config
// ---------------------------------------------------------------------------------------------

#[test]
fn probes_example_config_passes_check_and_names_every_new_kind() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/probes.example.toml");
    let output = common::upstate()
        .args(["check", "--config", path])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::text(&output));
    let text = std::fs::read_to_string(path).unwrap();
    for kind in [
        "mysql",
        "amqp",
        "nats",
        "mqtt",
        "udp",
        "ssh",
        "smtp",
        "prometheus",
        "grpc",
        "icmp",
    ] {
        assert!(
            text.contains(&format!("kind = \"{kind}\"")),
            "{kind} is missing from the example"
        );
    }
    for key in ["url = \"mqtts://", "fingerprint = \"SHA256:"] {
        assert!(text.contains(key), "{key} is missing from the example");
    }
}

// ---------------------------------------------------------------------------------------------
// A whole run: secrets stay out of every output, the value reaches history
// ---------------------------------------------------------------------------------------------

/// Every file under `dir` except the config, as lossy text (gzip files decompressed).
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "upstate.toml") {
                let mut bytes = std::fs::read(&path).unwrap();
                if path.extension().is_some_and(|e| e == "gz") {
                    let mut plain = Vec::new();
                    std::io::Read::read_to_end(
                        &mut flate2::read::GzDecoder::new(bytes.as_slice()),
                        &mut plain,
                    )
                    .unwrap();
                    bytes = plain;
                }
                out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_run_keeps_broker_and_database_secrets_out_of_every_output_and_records_the_value() {
    let queue = TestQueue::with_messages(2).await;
    let (mysql_pw, amqp_pw, nats_pw, mqtt_pw, mqtts_pw) = (
        "run-Mysql-pw-3a7c",
        "run-Amqp-pw-9b1d",
        "run-Nats-pw-c2e8",
        "run-Mqtt-pw-5f60",
        "run-Mqtts-pw-77a2",
    );
    let closed = closed_port();
    let site = common::TestSite::new(&format!(
        r#"[site]
title = "Secrets"
[publish]
target = "public"
[[component]]
id = "mysql-bad-login"
label = "MySQL"
kind = "mysql"
dsn = "mysql://root:${{T_MYSQL_PW}}@127.0.0.1:3306/test"
[[component]]
id = "amqp-bad-login"
label = "AMQP bad"
kind = "amqp"
url = "amqp://guest:${{T_AMQP_PW}}@127.0.0.1:5672/%2f"
queue = "{queue}"
[[component]]
id = "jobs"
label = "Jobs"
kind = "amqp"
url = "amqp://guest:guest@127.0.0.1:5672/%2f"
queue = "{queue}"
degraded_above = 1
[[component]]
id = "nats-closed"
label = "NATS"
kind = "nats"
url = "nats://app:${{T_NATS_PW}}@127.0.0.1:{closed}"
[[component]]
id = "mqtt-closed"
label = "MQTT"
kind = "mqtt"
url = "mqtt://app:${{T_MQTT_PW}}@127.0.0.1:{closed}"
topic = "t"
[[component]]
id = "mqtts-closed"
label = "MQTT TLS"
kind = "mqtt"
url = "mqtts://app:${{T_MQTTS_PW}}@127.0.0.1:{closed}"
topic = "t"
"#,
        queue = queue.name
    ));
    let output = common::upstate()
        .args(["run", "--config"])
        .arg(site.config())
        .env("UPSTATE_LOG", "debug")
        .env("T_MYSQL_PW", mysql_pw)
        .env("T_AMQP_PW", amqp_pw)
        .env("T_NATS_PW", nats_pw)
        .env("T_MQTT_PW", mqtt_pw)
        .env("T_MQTTS_PW", mqtts_pw)
        .output()
        .unwrap();
    let printed = common::text(&output);
    let files = files_under(site.path());
    assert!(
        files.iter().any(|(p, _)| p.ends_with("status.json")),
        "the run published nothing: {printed}"
    );
    for secret in [mysql_pw, amqp_pw, nats_pw, mqtt_pw, mqtts_pw] {
        assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
        for (path, text) in &files {
            assert!(!text.contains(secret), "{secret} in {}", path.display());
        }
    }
    // The queue depth is stored as a number beside the observation, for charts.
    let recorded = files.iter().any(|(p, text)| {
        p.starts_with(site.path().join(".upstate")) && text.contains("\"value\":2.0")
    });
    assert!(recorded, "no observation with value 2 in history");
    // The day's rollup keeps it too (raw observations age out), and the component page charts it.
    let rolled_up = files.iter().any(|(p, text)| {
        p.starts_with(site.path().join(".upstate"))
            && text.contains("\"value\":{\"count\":1,\"sum\":2.0,\"min\":2.0,\"max\":2.0}")
    });
    assert!(rolled_up, "no daily value rollup in history");
    let page = files
        .iter()
        .find(|(p, _)| p.ends_with("components/jobs.html"))
        .map(|(_, text)| text)
        .expect("no component page for jobs");
    assert!(
        page.contains("Measured value (daily lowest, mean, highest): queue depth")
            && page.contains("Daily queue depth, lowest, mean and highest, last ")
            && page.contains("; highest 2</title>"),
        "no value chart on the component page"
    );
    // A kind whose value is its latency gets no second chart.
    let mysql_page = files
        .iter()
        .find(|(p, _)| p.ends_with("components/mysql-bad-login.html"))
        .map(|(_, text)| text)
        .expect("no component page for mysql");
    assert!(!mysql_page.contains("Measured value ("));
    queue.delete().await;
}

// ---------------------------------------------------------------------------------------------
// Prometheus (Debian's `prometheus`, started by the test, scraping itself)
// ---------------------------------------------------------------------------------------------

/// A Prometheus server on a free port; stopped when dropped.
struct TestPrometheus {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl TestPrometheus {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = closed_port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            ),
        )
        .unwrap();
        let child = std::process::Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus is not installed: apt-get install prometheus");
        let url = format!("http://127.0.0.1:{port}");
        let server = Self {
            child,
            url,
            _dir: dir,
        };
        // Ready when /-/ready answers 200 (a readiness bound on a loaded machine, not a timing).
        for _ in 0..600 {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read as _, Write as _};
                let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus did not become ready");
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn prometheus_instant_query_value_is_judged_by_thresholds() {
    let server = TestPrometheus::start();
    let keys = |query: &str, limits: &str| {
        format!(
            "kind = \"prometheus\"\nurl = \"{}\"\nquery = '{query}'\ntimeout = \"10s\"\n{limits}",
            server.url
        )
    };
    let ok = probe(&keys("vector(0.25)", "degraded_above = 0.5")).await;
    assert_eq!((ok.health, ok.value), (Health::Up, Some(0.25)), "{ok:?}");
    assert!(
        ok.detail.starts_with("Query value 0.25 in "),
        "{}",
        ok.detail
    );
    let scalar = probe(&keys(
        "scalar(vector(7))",
        "degraded_above = 5\ndown_above = 6",
    ))
    .await;
    assert_eq!(
        (scalar.health, scalar.value),
        (Health::Down, Some(7.0)),
        "{scalar:?}"
    );
    assert!(
        scalar
            .detail
            .ends_with("; query value 7 is above the down limit 6"),
        "{}",
        scalar.detail
    );
    let empty = probe(&keys("surely_missing_metric_upstate", "")).await;
    assert_eq!(
        (empty.health, empty.detail.as_str()),
        (Health::Down, "The query returned no series.")
    );
    let broken = probe(&keys("sum(", "")).await;
    assert_eq!(broken.health, Health::Down, "{broken:?}");
    assert!(
        broken.detail.starts_with("The query failed: "),
        "{}",
        broken.detail
    );
}

#[tokio::test]
async fn prometheus_closed_port_is_down_and_a_silent_one_times_out() {
    let port = closed_port();
    let o = probe(&format!(
        "kind = \"prometheus\"\nurl = \"http://127.0.0.1:{port}\"\nquery = \"up\""
    ))
    .await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.starts_with("Connection failed"), "{}", o.detail);
    let addr = silent_server();
    assert_times_out(&format!(
        "kind = \"prometheus\"\nurl = \"http://{addr}\"\nquery = \"up\""
    ))
    .await;
}

#[test]
fn prometheus_config_errors_name_the_line_and_the_fix() {
    let scheme = config_error("kind = \"prometheus\"\nurl = \"prom://h:9090\"\nquery = \"up\"");
    assert!(
        scheme.starts_with("test.toml:5:7: `url` must start with http:// or https://"),
        "{scheme}"
    );
    let missing = config_error("kind = \"prometheus\"\nurl = \"http://h:9090\"");
    assert!(missing.contains("missing field `query`"), "{missing}");
}
