//! `kind = "heartbeat"`: a timestamp some worker writes; its age says whether the worker lives.
//!
//! Source `redis://...` reads the key with GET; source `postgres://...` runs `key` as a query whose
//! first column is the timestamp. Values are unix seconds or RFC 3339.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe};
use crate::duration::Duration as ConfigDuration;
use crate::secret::Secret;

/// `[[component]] kind = "heartbeat"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// `redis://...` (GET `key`) or `postgres://...` (`key` is a query returning a timestamp).
    pub source: Secret,
    /// The Redis key, or the SQL query.
    pub key: String,
    /// Older than this => degraded.
    pub max_age: ConfigDuration,
    /// Older than this => down.
    pub down_after: ConfigDuration,
}

pub(crate) fn validate_ages(
    max_age: ConfigDuration,
    down_after: ConfigDuration,
) -> Result<(), String> {
    if down_after < max_age {
        return Err(format!(
            "`down_after` ({down_after}) must not be shorter than `max_age` ({max_age})"
        ));
    }
    Ok(())
}

/// Where heartbeats are read from.
pub(crate) enum Source {
    Redis(redis::aio::MultiplexedConnection),
    Postgres(tokio_postgres::Client),
}

impl Source {
    pub(crate) async fn open(url: &Secret) -> Result<Self, String> {
        let raw = url.expose();
        if raw.starts_with("redis://") || raw.starts_with("rediss://") {
            super::redis::connect(url).await.map(Self::Redis)
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            super::postgres::connect(url).await.map(Self::Postgres)
        } else {
            Err("The heartbeat source must be a redis:// or postgres:// URL.".to_owned())
        }
    }

    /// The raw value behind `key` (Redis GET), or the first column of the query's first row.
    pub(crate) async fn read(&mut self, key: &str) -> Result<Option<String>, String> {
        match self {
            Self::Redis(conn) => redis::cmd("GET")
                .arg(key)
                .query_async::<Option<String>>(conn)
                .await
                .map_err(|e| {
                    format!(
                        "Reading the heartbeat failed: {}.",
                        super::redis::redis_error(&e)
                    )
                }),
            Self::Postgres(client) => {
                let rows = client.simple_query(key).await.map_err(|e| {
                    format!(
                        "The heartbeat query failed: {}.",
                        super::postgres::pg_error(&e)
                    )
                })?;
                Ok(rows.iter().find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                    _ => None,
                }))
            }
        }
    }
}

/// Parses unix seconds (integer or fractional) or an RFC 3339 / PostgreSQL timestamp.
pub(crate) fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<f64>() {
        let millis = (secs * 1000.0) as i64;
        return DateTime::from_timestamp_millis(millis);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    // PostgreSQL's text form of timestamptz: "2026-11-24 03:04:05.123+00".
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    None
}

/// "12 s", "4 min", "3 h": an age in words.
pub(crate) fn age_words(age: chrono::Duration) -> String {
    let s = age.num_seconds().max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// Judges one heartbeat's age against the thresholds.
pub(crate) fn judge_age(
    age: chrono::Duration,
    max_age: ConfigDuration,
    down_after: ConfigDuration,
) -> super::Health {
    if age > down_after.chrono() {
        super::Health::Down
    } else if age > max_age.chrono() {
        super::Health::Degraded
    } else {
        super::Health::Up
    }
}

impl Probe for HeartbeatConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let mut source = match Source::open(&self.source).await {
                Ok(s) => s,
                Err(e) => return Outcome::down(e),
            };
            let raw = match source.read(&self.key).await {
                Ok(Some(raw)) => raw,
                Ok(None) => return Outcome::down("No heartbeat seen yet."),
                Err(e) => return Outcome::down(e),
            };
            let Some(at) = parse_timestamp(&raw) else {
                return Outcome::down(
                    "The heartbeat is not a timestamp (unix seconds or RFC 3339).",
                );
            };
            let age = Utc::now() - at;
            let words = age_words(age);
            match judge_age(age, self.max_age, self.down_after) {
                super::Health::Up => Outcome::up(None, format!("Last heartbeat {words} ago.")),
                super::Health::Degraded => Outcome::degraded(format!(
                    "Last heartbeat {words} ago (over {}).",
                    self.max_age
                )),
                super::Health::Down => Outcome::down(format!(
                    "Last heartbeat {words} ago (over {}).",
                    self.down_after
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_timestamp_form() {
        let want = DateTime::parse_from_rfc3339("2026-11-24T03:04:05Z").unwrap();
        for raw in [
            "1795489445",
            "1795489445.0",
            "2026-11-24T03:04:05Z",
            "2026-11-24 03:04:05+00",
        ] {
            assert_eq!(
                parse_timestamp(raw),
                Some(want.with_timezone(&Utc)),
                "{raw}"
            );
        }
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
