//! `[snapshot]`: the live-traffic counters. Each is one read-only SQL query returning one integer,
//! run in a read-only transaction with a statement timeout. A counter that fails or times out is
//! `None` (published as null), never a made-up number.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration::Duration as ConfigDuration;
use crate::secret::Secret;

/// `[snapshot]`: the live-traffic counters, each one read-only SQL query returning one integer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotConfig {
    pub dsn: Secret,
    #[serde(default = "default_snapshot_timeout")]
    pub timeout: ConfigDuration,
    pub online_now: Option<String>,
    pub active_devices_last_24h: Option<String>,
    pub messages_last_24h: Option<String>,
    pub calls_last_24h: Option<String>,
}

const fn default_snapshot_timeout() -> ConfigDuration {
    ConfigDuration::from_secs(2)
}

/// The live-traffic counters; `None` = the query failed or is not configured (never made up).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub online_now: Option<i64>,
    pub active_devices_last_24h: Option<i64>,
    pub messages_last_24h: Option<i64>,
    pub calls_last_24h: Option<i64>,
}

/// Runs every configured counter; never fails as a whole.
pub async fn collect(config: &SnapshotConfig) -> Counters {
    let deadline = config.timeout.std();
    let queries = [
        ("online_now", &config.online_now),
        ("active_devices_last_24h", &config.active_devices_last_24h),
        ("messages_last_24h", &config.messages_last_24h),
        ("calls_last_24h", &config.calls_last_24h),
    ];
    if queries.iter().all(|(_, q)| q.is_none()) {
        return Counters::default();
    }
    let client = match tokio::time::timeout(deadline, super::postgres::connect(&config.dsn)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::warn!(reason = %e, "Snapshot counters unavailable: cannot connect.");
            return Counters::default();
        }
        Err(_) => {
            tracing::warn!("Snapshot counters unavailable: connecting timed out.");
            return Counters::default();
        }
    };
    let mut values = [None; 4];
    for (slot, (name, query)) in values.iter_mut().zip(queries) {
        let Some(query) = query else { continue };
        *slot = match tokio::time::timeout(deadline, run_one(&client, query, deadline)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(counter = name, reason = %e, "Snapshot counter failed; publishing null.");
                None
            }
            Err(_) => {
                tracing::warn!(
                    counter = name,
                    "Snapshot counter timed out; publishing null."
                );
                None
            }
        };
    }
    let [
        online_now,
        active_devices_last_24h,
        messages_last_24h,
        calls_last_24h,
    ] = values;
    Counters {
        online_now,
        active_devices_last_24h,
        messages_last_24h,
        calls_last_24h,
    }
}

async fn run_one(
    client: &tokio_postgres::Client,
    query: &str,
    deadline: Duration,
) -> Result<i64, String> {
    let ms = deadline.as_millis().max(1);
    // One simple-query batch: the transaction is read-only and bounded by the server as well.
    let batch = format!("BEGIN READ ONLY; SET LOCAL statement_timeout = {ms}; {query}; ROLLBACK;");
    let result = client.simple_query(&batch).await;
    if result.is_err() {
        // Leave the connection usable for the next counter.
        let _ = client.simple_query("ROLLBACK").await;
    }
    let rows = result.map_err(|e| super::postgres::pg_error(&e))?;
    let value = rows
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .ok_or("the query returned no row")?;
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("the query returned {value:?}, not an integer"))?;
    if n < 0 {
        return Err("the query returned a negative count".to_owned());
    }
    Ok(n)
}
