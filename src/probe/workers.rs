//! `kind = "workers"`: one heartbeat per worker, found by a key pattern, plus the failed-jobs depth.
//! Seed 002: "Any worker stale > 5 min, or failed-job depth > 0" pages on-call.

use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;

use super::heartbeat::{Source, age_words, judge_age, parse_timestamp};
use super::{BoxFuture, Health, Outcome, Probe};
use crate::duration::Duration as ConfigDuration;
use crate::secret::Secret;

/// `[[component]] kind = "workers"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkersConfig {
    /// `redis://...` (SCAN for `heartbeat_keys`) or `postgres://...` (`heartbeat_keys` is a query
    /// returning `name, timestamp` rows).
    pub source: Secret,
    /// A Redis SCAN pattern such as `heartbeat:worker:*`, one key per worker.
    pub heartbeat_keys: String,
    /// A worker older than this => degraded.
    pub max_age: ConfigDuration,
    /// A worker older than this => down.
    pub down_after: ConfigDuration,
    /// A Redis command (`LLEN jobs:failed`) or a SQL count returning the failed-jobs depth.
    pub failed_jobs: Option<String>,
    /// More failed jobs than this => degraded.
    #[serde(default)]
    pub failed_jobs_above: u64,
}

impl WorkersConfig {
    async fn workers(&self, source: &mut Source) -> Result<Vec<(String, String)>, String> {
        match source {
            Source::Redis(conn) => {
                let mut keys: Vec<String> = Vec::new();
                let mut cursor: u64 = 0;
                loop {
                    let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&self.heartbeat_keys)
                        .arg("COUNT")
                        .arg(500)
                        .query_async(conn)
                        .await
                        .map_err(|e| {
                            format!("Listing workers failed: {}.", super::redis::redis_error(&e))
                        })?;
                    keys.extend(batch);
                    cursor = next;
                    if cursor == 0 || keys.len() > 10_000 {
                        break;
                    }
                }
                keys.sort();
                keys.dedup();
                let mut out = Vec::with_capacity(keys.len());
                for key in keys {
                    let value: Option<String> = redis::cmd("GET")
                        .arg(&key)
                        .query_async(conn)
                        .await
                        .map_err(|e| {
                            format!(
                                "Reading a heartbeat failed: {}.",
                                super::redis::redis_error(&e)
                            )
                        })?;
                    if let Some(value) = value {
                        out.push((worker_name(&self.heartbeat_keys, &key), value));
                    }
                }
                Ok(out)
            }
            Source::Postgres(client) => {
                let rows = client
                    .simple_query(&self.heartbeat_keys)
                    .await
                    .map_err(|e| {
                        format!(
                            "The workers query failed: {}.",
                            super::postgres::pg_error(&e)
                        )
                    })?;
                Ok(rows
                    .iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(row) => {
                            Some((row.get(0)?.to_owned(), row.get(1)?.to_owned()))
                        }
                        _ => None,
                    })
                    .collect())
            }
        }
    }

    async fn failed_jobs(&self, source: &mut Source, command: &str) -> Result<u64, String> {
        match source {
            Source::Redis(conn) => {
                let mut parts = command.split_whitespace();
                let name = parts.next().ok_or("`failed_jobs` is empty.")?;
                let mut cmd = redis::cmd(name);
                for arg in parts {
                    cmd.arg(arg);
                }
                cmd.query_async::<u64>(conn).await.map_err(|e| {
                    format!(
                        "Counting failed jobs failed: {}.",
                        super::redis::redis_error(&e)
                    )
                })
            }
            Source::Postgres(_) => {
                let value = source.read(command).await?.unwrap_or_default();
                value
                    .trim()
                    .parse()
                    .map_err(|_| "The failed-jobs query did not return a count.".to_owned())
            }
        }
    }

    async fn run(&self) -> Outcome {
        let mut source = match Source::open(&self.source).await {
            Ok(s) => s,
            Err(e) => return Outcome::down(e),
        };
        let workers = match self.workers(&mut source).await {
            Ok(w) => w,
            Err(e) => return Outcome::down(e),
        };
        if workers.is_empty() {
            return Outcome::down("No workers have reported a heartbeat yet.");
        }
        let now = Utc::now();
        let (mut stale_down, mut stale_slow) = (Vec::new(), Vec::new());
        for (name, raw) in &workers {
            let Some(at) = parse_timestamp(raw) else {
                stale_down.push(format!("{name} (unreadable)"));
                continue;
            };
            let age = now - at;
            match judge_age(age, self.max_age, self.down_after) {
                Health::Down => stale_down.push(format!("{name} ({})", age_words(age))),
                Health::Degraded => stale_slow.push(format!("{name} ({})", age_words(age))),
                Health::Up => {}
            }
        }
        let failed = match &self.failed_jobs {
            Some(command) => match self.failed_jobs(&mut source, command).await {
                Ok(n) => Some(n),
                Err(e) => return Outcome::down(e),
            },
            None => None,
        };
        let n = workers.len();
        let mut parts = vec![format!("{n} worker{}", if n == 1 { "" } else { "s" })];
        if !stale_down.is_empty() {
            parts.push(format!("stale: {}", stale_down.join(", ")));
        }
        if !stale_slow.is_empty() {
            parts.push(format!("late: {}", stale_slow.join(", ")));
        }
        if let Some(f) = failed {
            parts.push(format!("{f} failed job{}", if f == 1 { "" } else { "s" }));
        }
        let detail = format!("{}.", parts.join("; "));
        if !stale_down.is_empty() {
            Outcome::down(detail)
        } else if !stale_slow.is_empty() || failed.is_some_and(|f| f > self.failed_jobs_above) {
            Outcome::degraded(detail)
        } else {
            Outcome::up(None, detail)
        }
    }
}

/// `heartbeat:worker:push` with pattern `heartbeat:worker:*` => `push`.
fn worker_name(pattern: &str, key: &str) -> String {
    let prefix = pattern.split('*').next().unwrap_or_default();
    key.strip_prefix(prefix).unwrap_or(key).to_owned()
}

impl Probe for WorkersConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}
