//! `kind = "mysql"` (MySQL and MariaDB): connect, then `SELECT 1` (or `query`), its round trip
//! measured apart from connection set-up, like `postgres`. `value = "first_column"` makes the
//! query's first cell the component's value, for thresholds on replication lag or a backlog.
//!
//! TLS: `?require_ssl=true` in the DSN turns on rustls (aws-lc-rs, web roots), verified; without
//! it the connection is plain TCP, as most in-network databases are reached.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, QueryValue, elapsed_ms, parse_number};
use crate::secret::Secret;

/// `[[component]] kind = "mysql"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    /// `mysql://user:password@host:port/db`; add `?require_ssl=true` for TLS. Never printed.
    pub dsn: Secret,
    /// The query whose round trip is measured.
    #[serde(default = "default_query")]
    pub query: String,
    /// `latency` (default) or `first_column`: which number thresholds judge and history keeps.
    #[serde(default)]
    pub value: QueryValue,
}

fn default_query() -> String {
    "SELECT 1".to_owned()
}

impl MysqlConfig {
    /// The DSN must be a `mysql://` URL the driver accepts; said without echoing it.
    pub fn validate(&self) -> Result<(), String> {
        let dsn = self.dsn.expose();
        // An unset `${VAR}` under `check` reads as empty: nothing to judge.
        if dsn.is_empty() {
            return Ok(());
        }
        if !dsn.starts_with("mysql://") {
            return Err(
                "`dsn` must start with `mysql://`\n= help: write dsn = \"mysql://user:password@host:3306/db\""
                    .to_owned(),
            );
        }
        mysql_async::Opts::from_url(dsn).map(|_| ()).map_err(|e| {
            format!(
                "`dsn` is not a valid MySQL URL: {}\n= help: write dsn = \"mysql://user:password@host:3306/db\"",
                crate::secret::scrub(&e.to_string())
            )
        })
    }
}

/// The driver's message without the DSN or its password.
fn mysql_error(e: &mysql_async::Error) -> String {
    let text = match e {
        mysql_async::Error::Server(server) => server.message.clone(),
        other => other.to_string(),
    };
    crate::secret::scrub(&text)
}

/// The first cell as text: the text protocol sends every value as its printed form.
fn first_cell(value: &mysql_async::Value) -> Option<String> {
    match value {
        mysql_async::Value::NULL => None,
        mysql_async::Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        mysql_async::Value::Int(i) => Some(i.to_string()),
        mysql_async::Value::UInt(u) => Some(u.to_string()),
        mysql_async::Value::Float(f) => Some(f.to_string()),
        mysql_async::Value::Double(d) => Some(d.to_string()),
        // Dates and times are not numbers a threshold can judge.
        other => Some(format!("{other:?}")),
    }
}

impl Probe for MysqlConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let opts = match mysql_async::Opts::from_url(self.dsn.expose()) {
                Ok(o) => o,
                Err(e) => {
                    return Outcome::down(format!(
                        "Invalid DSN: {}.",
                        crate::secret::scrub(&e.to_string())
                    ));
                }
            };
            let start = Instant::now();
            let mut conn = match mysql_async::Conn::new(opts).await {
                Ok(c) => c,
                Err(e) => return Outcome::down(format!("Cannot connect: {}.", mysql_error(&e))),
            };
            let connect_ms = elapsed_ms(start);
            let start = Instant::now();
            let row: Result<Option<mysql_async::Row>, _> =
                mysql_async::prelude::Queryable::query_first(&mut conn, self.query.as_str()).await;
            let ms = elapsed_ms(start);
            // Closing politely is not part of the measurement; it finishes in the background.
            tokio::spawn(async move {
                let _ = conn.disconnect().await;
            });
            let row = match row {
                Ok(r) => r,
                Err(e) => return Outcome::down(format!("Query failed: {}.", mysql_error(&e))),
            };
            let query = super::http::truncate(&self.query, 40);
            let timing = format!("{query} in {ms} ms (connect {connect_ms} ms)");
            match self.value {
                QueryValue::Latency => Outcome::up(Some(ms), timing),
                QueryValue::FirstColumn => {
                    let cell = row.as_ref().and_then(|r| r.as_ref(0)).and_then(first_cell);
                    match parse_number(cell.as_deref()) {
                        Ok(value) => Outcome::up(
                            Some(ms),
                            format!(
                                "{timing}: first column {}",
                                super::thresholds::number(value)
                            ),
                        )
                        .with_value(value),
                        Err(e) => Outcome::down(e).with_latency(ms),
                    }
                }
            }
        })
    }
}
