//! `kind = "redis"`: PING with its round trip measured; `rediss://` for TLS, AUTH from the URL.
//! The seed's rule "RTT over 200 ms for 2 minutes => down" (`slow_limit`, `slow_after`) needs
//! history across runs, so it is applied in [`crate::state`], not here.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::duration::Duration as ConfigDuration;
use crate::secret::Secret;

/// `[[component]] kind = "redis"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port/db`, or `rediss://` for TLS. Never printed.
    pub url: Secret,
    /// How long the RTT may stay above `slow_limit` before the component is down.
    pub slow_after: Option<ConfigDuration>,
    /// The RTT counted as slow for `slow_after`.
    #[serde(default = "default_slow_limit")]
    pub slow_limit: ConfigDuration,
}

const fn default_slow_limit() -> ConfigDuration {
    ConfigDuration::from_millis(200)
}

impl RedisConfig {
    /// The URL must be a Redis one: `http://…` would be published as an outage on every run.
    /// The message never repeats the URL (it may carry the password).
    pub(crate) fn validate(&self) -> Result<(), String> {
        let url = self.url.expose();
        let scheme = url.split_once("://").map(|(s, _)| s);
        if !matches!(scheme, Some("redis" | "rediss" | "redis+unix" | "unix")) {
            return Err("`url` must start with redis:// (or rediss:// for TLS), e.g. \"redis://:password@cache.internal:6379/0\"".to_owned());
        }
        redis::Client::open(url)
            .map(|_| ())
            .map_err(|e| format!("`url` is not a valid Redis URL: {}", redis_error(&e)))
    }
}

/// A multiplexed connection to `url`.
pub(crate) async fn connect(url: &Secret) -> Result<redis::aio::MultiplexedConnection, String> {
    let client = redis::Client::open(url.expose())
        .map_err(|e| format!("Invalid Redis URL: {}.", redis_error(&e)))?;
    client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("Cannot connect: {}.", redis_error(&e)))
}

pub(crate) fn redis_error(e: &redis::RedisError) -> String {
    crate::secret::scrub(&e.to_string())
}

impl Probe for RedisConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let mut conn = match connect(&self.url).await {
                Ok(c) => c,
                Err(e) => return Outcome::down(e),
            };
            let start = Instant::now();
            let reply: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
            match reply {
                Ok(pong) if pong == "PONG" => {
                    let ms = elapsed_ms(start);
                    Outcome::up(Some(ms), format!("PING in {ms} ms"))
                }
                Ok(other) => Outcome::down(format!(
                    "PING answered {:?}.",
                    super::http::truncate(&other, 40)
                )),
                Err(e) => Outcome::down(format!("PING failed: {}.", redis_error(&e))),
            }
        })
    }
}
