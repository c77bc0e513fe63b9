//! `kind = "tls"`: handshake, then the leaf certificate's days to expiry.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe};
use crate::config::EnvString;

/// `[[component]] kind = "tls"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `host:port`.
    pub address: EnvString,
    /// SNI and the name checked; the host in `address` when unset.
    pub server_name: Option<String>,
    /// A PEM file of extra trusted CA certificates (private PKI).
    pub ca_file: Option<PathBuf>,
    /// Fewer days left => degraded; expired or invalid => down.
    #[serde(default = "default_warn_days")]
    pub warn_days: u32,
}

const fn default_warn_days() -> u32 {
    14
}

impl Probe for TlsConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { Outcome::down("TLS probe not built yet.") })
    }
}
