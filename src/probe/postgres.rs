//! `kind = "postgres"`: connect, then `SELECT 1` (or `query`) with its round trip measured apart
//! from connection set-up, as seed 002 publishes it ("SELECT 1 in 12 ms").

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::config::Secret;

/// `[[component]] kind = "postgres"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/db` or `host=... user=...`. Never printed.
    pub dsn: Secret,
    /// The query whose round trip is measured.
    #[serde(default = "default_query")]
    pub query: String,
}

fn default_query() -> String {
    "SELECT 1".to_owned()
}

/// Opens a connection; the connection task runs until the client is dropped.
pub(crate) async fn connect(dsn: &Secret) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = tokio_postgres::connect(dsn.expose(), tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("Cannot connect: {}.", pg_error(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %crate::config::secret::scrub(&e.to_string()), "PostgreSQL connection ended.");
        }
    });
    Ok(client)
}

/// The server's message when there is one (never the DSN).
pub(crate) fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = s.to_string();
                source = s.source();
            }
            crate::config::secret::scrub(&text)
        }
    }
}

impl Probe for PostgresConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let start = Instant::now();
            let client = match connect(&self.dsn).await {
                Ok(c) => c,
                Err(e) => return Outcome::down(e),
            };
            let connect_ms = elapsed_ms(start);
            let start = Instant::now();
            match client.simple_query(&self.query).await {
                Ok(_) => {
                    let ms = elapsed_ms(start);
                    let query = super::http::truncate(&self.query, 40);
                    Outcome::up(
                        Some(ms),
                        format!("{query} in {ms} ms (connect {connect_ms} ms)"),
                    )
                }
                Err(e) => Outcome::down(format!("Query failed: {}.", pg_error(&e))),
            }
        })
    }
}
