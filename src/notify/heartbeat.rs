//! `[run] heartbeat_url`: a dead-man switch (healthchecks.io, Cronitor, Uptime Kuma's push
//! monitor). A static page cannot notice that its own schedule stopped, so after every
//! successful publish we request a URL the team watches; when the requests stop coming, their
//! monitor pages them. The URL is a secret (it carries the check's key) and never printed.

use std::time::Duration;

use crate::config::Secret;
use crate::config::secret::redact_url;

/// Longest the ping may take: it must never hold up the cron run that just published.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why the heartbeat was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum HeartbeatError {
    #[error("heartbeat to {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("heartbeat to {url} was answered {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
}

/// Requests `url` once (GET, as every dead-man-switch service accepts).
pub async fn ping(url: &Secret) -> Result<(), HeartbeatError> {
    let shown = redact_url(url.expose());
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("upstate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| HeartbeatError::Request {
            url: shown.clone(),
            source: source.without_url(),
        })?;
    let response =
        client
            .get(url.expose())
            .send()
            .await
            .map_err(|source| HeartbeatError::Request {
                url: shown.clone(),
                // reqwest puts the whole URL, key included, in its errors.
                source: source.without_url(),
            })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(HeartbeatError::Status {
            url: shown,
            status: response.status(),
        })
    }
}
