//! Probes: one trait, one file per kind, and the runner that runs them all at once.
//!
//! A probe measures and reports what it saw as an [`Outcome`]; it never decides the component's
//! published state (that needs history and thresholds, see [`crate::state`]). A failing probe is an
//! `Outcome` with [`Health::Down`], never an `Err`: the run always finishes and reports honestly.
//!
//! Adding a kind: a new file with a `<Kind>Config` (`deny_unknown_fields`, `///` per field) and an
//! `impl Probe`, one arm in [`ProbeSpec`], an example in `upstate.example.toml`, a test against a
//! real server.

pub mod amqp;
pub mod counters;
pub mod dns;
pub mod grpc;
pub mod heartbeat;
pub mod http;
pub mod icmp;
pub mod mqtt;
pub mod mqtts;
pub mod mysql;
pub mod nats;
pub mod postgres;
pub mod prometheus;
pub mod push;
pub mod redis;
pub mod runner;
pub mod smtp;
pub mod ssh;
pub mod ssh_hostkey;
pub mod storage;
pub mod tcp;
pub mod thresholds;
pub mod tls;
pub mod udp;
pub mod websocket;
pub mod workers;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::document::{KindError, parse_kind};

pub use runner::{Progress, RunOptions, Schedule, Target, run_all, run_scheduled};
pub use thresholds::Thresholds;

/// What a probe saw: healthy, degraded (answering, but not as it should) or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Up,
    Degraded,
    Down,
}

/// One probe's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub health: Health,
    /// The measured round trip of the check itself (not connection set-up), when one was made.
    pub latency_ms: Option<u64>,
    /// Short, human, secret-free: "HTTP 503", "timed out after 5s", "PING in 0 ms".
    pub detail: String,
    /// A number some kinds track across runs (the push outbox backlog).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<i64>,
    /// The kind's main measured value when it is not the latency (queue depth, pending
    /// messages, loss %, a query's first column): what thresholds judge and history charts.
    /// Absent in history written before it existed, hence the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl Outcome {
    /// A healthy result.
    pub fn up(latency_ms: Option<u64>, detail: impl Into<String>) -> Self {
        Self::new(Health::Up, latency_ms, detail)
    }

    /// Answering, but not as it should.
    pub fn degraded(detail: impl Into<String>) -> Self {
        Self::new(Health::Degraded, None, detail)
    }

    /// Not answering, or answering wrongly.
    pub fn down(detail: impl Into<String>) -> Self {
        Self::new(Health::Down, None, detail)
    }

    fn new(health: Health, latency_ms: Option<u64>, detail: impl Into<String>) -> Self {
        Self {
            health,
            latency_ms,
            detail: crate::secret::scrub(&detail.into()),
            sample: None,
            value: None,
        }
    }

    /// The same outcome with a latency.
    pub fn with_latency(mut self, latency_ms: u64) -> Self {
        self.latency_ms = Some(latency_ms);
        self
    }

    /// The same outcome with its main measured value (see [`Outcome::value`]).
    pub fn with_value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    /// The number thresholds judge: the kind's own value, else the latency in ms.
    pub fn measured(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // milliseconds stay far below 2^52
        self.value.or(self.latency_ms.map(|ms| ms as f64))
    }
}

/// What a query probe (`postgres`, `mysql`) reports as its main value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryValue {
    /// The query's round trip in ms.
    #[default]
    Latency,
    /// The number in the first column of the first row (replication lag, a backlog count).
    FirstColumn,
}

/// Reads a query's first cell as a number: integers, decimals and floats as the server prints them.
pub(crate) fn parse_number(cell: Option<&str>) -> Result<f64, String> {
    match cell {
        None => Err("The query's first column is NULL (or no row came back).".to_owned()),
        Some(text) => text.trim().parse::<f64>().map_err(|_| {
            format!(
                "The query's first column is {:?}, not a number.",
                http::truncate(text, 40)
            )
        }),
    }
}

/// One component's outcome at one time: what history stores and the model renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub component: String,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How long the check took, retries included (absent where no check ran here: a merge of
    /// regions' reports, history written before it existed). The next run starts the slowest
    /// checks first (see [`crate::probe::Schedule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_ms: Option<u64>,
}

/// A boxed future, so [`Probe`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One kind of check.
pub trait Probe: Send + Sync {
    /// Runs the check. `deadline` is the whole budget; the runner also enforces it from outside,
    /// so a probe uses it only to size inner timeouts and to word its detail.
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome>;
}

/// A component's probe, by kind.
#[derive(Debug, Clone)]
pub enum ProbeSpec {
    Http(http::HttpConfig),
    Tcp(tcp::TcpConfig),
    Dns(dns::DnsConfig),
    Tls(tls::TlsConfig),
    Postgres(postgres::PostgresConfig),
    Redis(redis::RedisConfig),
    Websocket(websocket::WebsocketConfig),
    Heartbeat(heartbeat::HeartbeatConfig),
    Workers(workers::WorkersConfig),
    Storage(storage::StorageConfig),
    Push(push::PushConfig),
    Mysql(mysql::MysqlConfig),
    Amqp(amqp::AmqpConfig),
    Nats(nats::NatsConfig),
    Mqtt(mqtt::MqttConfig),
    Udp(udp::UdpConfig),
    Smtp(smtp::SmtpConfig),
    Ssh(ssh::SshConfig),
    Prometheus(prometheus::PrometheusConfig),
    Grpc(grpc::GrpcConfig),
    Icmp(icmp::IcmpConfig),
}

impl ProbeSpec {
    /// Every `kind = "..."` the config accepts.
    pub const KINDS: [&'static str; 21] = [
        "http",
        "tcp",
        "dns",
        "tls",
        "postgres",
        "redis",
        "websocket",
        "heartbeat",
        "workers",
        "storage",
        "push",
        "mysql",
        "amqp",
        "nats",
        "mqtt",
        "udp",
        "smtp",
        "ssh",
        "prometheus",
        "grpc",
        "icmp",
    ];

    /// Reads a kind's keys from a masked config document (see `crate::document`).
    pub(crate) fn parse(kind: &str, masked: &crate::document::Masked) -> Result<Self, KindError> {
        Ok(match kind {
            "http" => Self::Http(parse_kind(masked)?),
            "tcp" => Self::Tcp(parse_kind(masked)?),
            "dns" => Self::Dns(parse_kind(masked)?),
            "tls" => Self::Tls(parse_kind(masked)?),
            "postgres" => Self::Postgres(parse_kind(masked)?),
            "redis" => Self::Redis(parse_kind(masked)?),
            "websocket" => Self::Websocket(parse_kind(masked)?),
            "heartbeat" => Self::Heartbeat(parse_kind(masked)?),
            "workers" => Self::Workers(parse_kind(masked)?),
            "storage" => Self::Storage(parse_kind(masked)?),
            "mysql" => Self::Mysql(parse_kind(masked)?),
            "prometheus" => Self::Prometheus(parse_kind(masked)?),
            "ssh" => Self::Ssh(parse_kind(masked)?),
            "smtp" => Self::Smtp(parse_kind(masked)?),
            "udp" => Self::Udp(parse_kind(masked)?),
            "mqtt" => Self::Mqtt(parse_kind(masked)?),
            "nats" => Self::Nats(parse_kind(masked)?),
            "amqp" => Self::Amqp(parse_kind(masked)?),
            "push" => Self::Push(parse_kind(masked)?),
            "grpc" => Self::Grpc(parse_kind(masked)?),
            "icmp" => Self::Icmp(parse_kind(masked)?),
            // `KINDS` is checked before this is called; an unknown kind is still an error here,
            // never some other kind's probe.
            other => return Err(KindError::unknown_kind(other)),
        })
    }

    /// Checks that need more than one key (e.g. storage wants exactly one of `path`/`bucket`).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Storage(c) => c.validate(),
            Self::Heartbeat(c) => heartbeat::validate_source(&c.source)
                .and_then(|()| heartbeat::validate_ages(c.max_age, c.down_after)),
            Self::Workers(c) => heartbeat::validate_source(&c.source)
                .and_then(|()| heartbeat::validate_ages(c.max_age, c.down_after)),
            Self::Websocket(c) => c.validate(),
            Self::Http(c) => c.validate(),
            Self::Dns(c) => c.validate(),
            Self::Mysql(c) => c.validate(),
            Self::Prometheus(c) => c.validate(),
            Self::Udp(c) => c.validate(),
            Self::Mqtt(c) => c.validate(),
            Self::Nats(c) => c.validate(),
            Self::Amqp(c) => c.validate(),
            Self::Tcp(c) => c.validate(),
            Self::Postgres(c) => c.validate(),
            Self::Redis(c) => c.validate(),
            Self::Grpc(c) => c.validate(),
            Self::Icmp(c) => c.validate(),
            Self::Ssh(c) => c.validate(),
            _ => Ok(()),
        }
    }

    /// The kind's name as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http(_) => "http",
            Self::Tcp(_) => "tcp",
            Self::Dns(_) => "dns",
            Self::Tls(_) => "tls",
            Self::Postgres(_) => "postgres",
            Self::Redis(_) => "redis",
            Self::Websocket(_) => "websocket",
            Self::Heartbeat(_) => "heartbeat",
            Self::Workers(_) => "workers",
            Self::Storage(_) => "storage",
            Self::Push(_) => "push",
            Self::Mysql(_) => "mysql",
            Self::Prometheus(_) => "prometheus",
            Self::Ssh(_) => "ssh",
            Self::Smtp(_) => "smtp",
            Self::Udp(_) => "udp",
            Self::Mqtt(_) => "mqtt",
            Self::Nats(_) => "nats",
            Self::Amqp(_) => "amqp",
            Self::Grpc(_) => "grpc",
            Self::Icmp(_) => "icmp",
        }
    }

    /// The probe behind this spec.
    pub fn probe(&self) -> &dyn Probe {
        match self {
            Self::Http(c) => c,
            Self::Tcp(c) => c,
            Self::Dns(c) => c,
            Self::Tls(c) => c,
            Self::Postgres(c) => c,
            Self::Redis(c) => c,
            Self::Websocket(c) => c,
            Self::Heartbeat(c) => c,
            Self::Workers(c) => c,
            Self::Storage(c) => c,
            Self::Push(c) => c,
            Self::Mysql(c) => c,
            Self::Prometheus(c) => c,
            Self::Ssh(c) => c,
            Self::Smtp(c) => c,
            Self::Udp(c) => c,
            Self::Mqtt(c) => c,
            Self::Nats(c) => c,
            Self::Amqp(c) => c,
            Self::Grpc(c) => c,
            Self::Icmp(c) => c,
        }
    }

    /// What the kind's main value is, for threshold details and the objectives table; `None`
    /// for kinds that measure no number (their own rules decide: ages, backlogs growing).
    pub fn measure(&self) -> Option<&'static str> {
        match self {
            Self::Heartbeat(_) | Self::Workers(_) | Self::Push(_) => None,
            Self::Postgres(c) if c.value == QueryValue::FirstColumn => Some("first column"),
            Self::Mysql(c) if c.value == QueryValue::FirstColumn => Some("first column"),
            Self::Amqp(_) => Some("queue depth"),
            Self::Nats(c) if c.consumer.is_some() => Some("pending messages"),
            Self::Prometheus(_) => Some("query value"),
            Self::Icmp(_) => Some("loss %"),
            _ => Some("latency (ms)"),
        }
    }
}

/// Whole milliseconds elapsed since `start`.
pub(crate) fn elapsed_ms(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// "5s", "250ms": how a deadline is worded in details.
pub(crate) fn human(d: Duration) -> String {
    crate::duration::Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .to_string()
}
