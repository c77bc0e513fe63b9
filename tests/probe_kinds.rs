#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The broker, database and protocol kinds (issue 21) against the machine's real servers —
//! MariaDB, RabbitMQ, NATS with JetStream, Mosquitto — and servers the tests start: healthy,
//! closed port, a socket that accepts and never answers, over-threshold, and config errors.
//! Names (queues, streams, topics) carry a random suffix: other suites use the same servers.

mod common;

use std::time::Duration;

use common::{closed_port, silent_server};
use upstate::config::Config;
use upstate::probe::{Health, Outcome, runner::check_once};

/// Parses a one-component config and runs its probe once under its deadline, like a run does.
async fn probe(kind_keys: &str) -> Outcome {
    let text = format!("[[component]]\nid = \"c\"\nlabel = \"C\"\n{kind_keys}\n");
    let config =
        Config::parse(&text, std::path::Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
    let component = &config.components[0];
    // A hang guard only (generous); the deadline itself is enforced by check_once.
    tokio::time::timeout(
        component.timeout.std() * 4 + Duration::from_secs(5),
        check_once(component),
    )
    .await
    .expect("the runner must enforce the deadline")
}

/// The config error text for a one-component config that must not parse.
fn config_error(kind_keys: &str) -> String {
    let text = format!("[[component]]\nid = \"c\"\nlabel = \"C\"\n{kind_keys}\n");
    match Config::parse(&text, std::path::Path::new("test.toml")) {
        Ok(_) => panic!("accepted: {kind_keys}"),
        Err(e) => e.to_string(),
    }
}

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

/// A socket that accepts and never answers must cost the deadline and say "Timed out".
async fn assert_times_out(kind_keys: &str) {
    let started = std::time::Instant::now();
    let o = probe(&format!("{kind_keys}\ntimeout = \"400ms\"")).await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Timed out after 400ms."),
        "{kind_keys}"
    );
    // Not a timing assertion: only that the guard in `probe` was not what ended it.
    assert!(started.elapsed() < Duration::from_secs(5));
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
        scheme.starts_with("test.toml:4:8: `dsn` must start with `mysql://`"),
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
        scheme.starts_with("test.toml:4:8: `url` must start with `amqp://` or `amqps://`"),
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
        scheme.starts_with("test.toml:4:8: `url` must start with `nats://` or `tls://`"),
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
    let tls = config_error("kind = \"mqtt\"\nurl = \"mqtts://h:8883\"\ntopic = \"t\"");
    assert!(
        tls.starts_with("test.toml:4:8: `url` must start with `mqtt://`"),
        "{tls}"
    );
    let wildcard = config_error("kind = \"mqtt\"\nurl = \"mqtt://h\"\ntopic = \"a/#\"");
    assert!(
        wildcard.contains("without `+` or `#` wildcards"),
        "{wildcard}"
    );
    let missing = config_error("kind = \"mqtt\"\nurl = \"mqtt://h\"");
    assert!(missing.contains("missing field `topic`"), "{missing}");
}
