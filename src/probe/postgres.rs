//! `kind = "postgres"`: connect, then `SELECT 1` (or `query`) with its round trip measured apart
//! from connection set-up, as seed 002 publishes it ("SELECT 1 in 12 ms").

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, QueryValue, elapsed_ms, parse_number};
use crate::secret::Secret;

/// `[[component]] kind = "postgres"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/db` or `host=... user=...`. Never printed.
    pub dsn: Secret,
    /// The query whose round trip is measured.
    #[serde(default = "default_query")]
    pub query: String,
    /// A PEM file of extra trusted CA certificates, for `sslmode=require` against a server with
    /// a private CA (the bundled web roots are trusted too).
    pub ca_file: Option<PathBuf>,
    /// `latency` (default) or `first_column`: the query's first cell becomes the component's
    /// value, so `SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())` with
    /// `degraded_above = 30` reads "replication lag over 30 s is degraded".
    #[serde(default)]
    pub value: QueryValue,
}

fn default_query() -> String {
    "SELECT 1".to_owned()
}

impl PostgresConfig {
    /// The DSN must parse: `"notadsn"` would be published as an outage on every run. The
    /// message never repeats the DSN (it carries the password).
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.dsn
            .expose()
            .parse::<tokio_postgres::Config>()
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "`dsn` is not a PostgreSQL connection string ({}); write postgres://user:password@host:5432/db or host=... user=... dbname=...",
                    pg_error(&e)
                )
            })
    }
}

/// Opens a connection; the connection task runs until the client is dropped.
pub(crate) async fn connect(dsn: &Secret) -> Result<tokio_postgres::Client, String> {
    connect_with(dsn, None).await
}

/// Opens a connection, over verified TLS (rustls) when the DSN says `sslmode=require`.
///
/// Only `require` turns TLS on: with rustls, "require" means a verified certificate (there is no
/// unverified mode, on purpose). The default `prefer` stays plaintext rather than failing
/// against the self-signed certificates many servers ship with.
pub(crate) async fn connect_with(
    dsn: &Secret,
    ca_file: Option<&Path>,
) -> Result<tokio_postgres::Client, String> {
    let config: tokio_postgres::Config = dsn
        .expose()
        .parse()
        .map_err(|e: tokio_postgres::Error| format!("Invalid DSN: {}.", pg_error(&e)))?;
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        let tls =
            tokio_postgres_rustls::MakeRustlsConnect::new(super::tls::client_config(ca_file)?);
        let (client, connection) = config
            .connect(tls)
            .await
            .map_err(|e| format!("Cannot connect: {}.", pg_error(&e)))?;
        drive(connection);
        Ok(client)
    } else {
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("Cannot connect: {}.", pg_error(&e)))?;
        drive(connection);
        Ok(client)
    }
}

/// Runs the connection until the client is dropped; the error, if any, only goes to the log.
fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %crate::secret::scrub(&e.to_string()), "PostgreSQL connection ended.");
        }
    });
}

/// The server's message when there is one (never the DSN).
pub(crate) fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            // The root cause says what happened; the top level only "error connecting".
            let text = crate::text::causes(e)
                .last()
                .map_or_else(|| e.to_string(), ToString::to_string);
            crate::secret::scrub(&text)
        }
    }
}

impl Probe for PostgresConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let start = Instant::now();
            let client = match connect_with(&self.dsn, self.ca_file.as_deref()).await {
                Ok(c) => c,
                Err(e) => return Outcome::down(e),
            };
            let connect_ms = elapsed_ms(start);
            let start = Instant::now();
            match client.simple_query(&self.query).await {
                Ok(messages) => {
                    let ms = elapsed_ms(start);
                    let query = super::http::truncate(&self.query, 40);
                    let timing = format!("{query} in {ms} ms (connect {connect_ms} ms)");
                    if self.value == QueryValue::Latency {
                        return Outcome::up(Some(ms), timing);
                    }
                    let cell = messages.iter().find_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0)),
                        _ => None,
                    });
                    match parse_number(cell.flatten()) {
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
                Err(e) => Outcome::down(format!("Query failed: {}.", pg_error(&e))),
            }
        })
    }
}
