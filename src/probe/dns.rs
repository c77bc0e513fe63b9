//! `kind = "dns"`: a name resolves (to the expected records).

use std::time::Duration;

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe};

/// `[[component]] kind = "dns"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// The name to resolve.
    pub name: String,
    /// A, AAAA, CNAME, MX or TXT.
    #[serde(default = "default_record")]
    pub record: String,
    /// `host:port` of the resolver to ask; the system resolver when unset.
    pub resolver: Option<String>,
    /// Every one of these must be among the answers.
    #[serde(default)]
    pub expect: Vec<String>,
}

fn default_record() -> String {
    "A".to_owned()
}

impl DnsConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        const RECORDS: [&str; 5] = ["A", "AAAA", "CNAME", "MX", "TXT"];
        if !RECORDS.contains(&self.record.as_str()) {
            return Err(format!("`record` `{}` is not one of {}", self.record, RECORDS.join(", ")));
        }
        if let Some(r) = &self.resolver {
            r.parse::<std::net::SocketAddr>()
                .map_err(|_| format!("`resolver` `{r}` must be an ip:port such as \"127.0.0.1:53\""))?;
        }
        Ok(())
    }
}

impl Probe for DnsConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { Outcome::down("DNS probe not built yet.") })
    }
}
