//! `kind = "dns"`: a name resolves (to the expected records).
//!
//! Each check builds a fresh resolver with its cache off and a single attempt: a status probe
//! must see what the DNS says now, not what it said a TTL ago, and retries belong to the runner.
//! The name is always asked as a fully qualified name and `/etc/hosts` is never consulted, so the
//! answer is the DNS's own, not a search-domain or hosts-file accident.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms, human};

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

/// How many answers a detail lists before summarising the rest.
const SHOWN: usize = 3;

impl DnsConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        const RECORDS: [&str; 5] = ["A", "AAAA", "CNAME", "MX", "TXT"];
        if !RECORDS.contains(&self.record.as_str()) {
            return Err(format!(
                "`record` `{}` is not one of {}",
                self.record,
                RECORDS.join(", ")
            ));
        }
        if let Some(r) = &self.resolver {
            r.parse::<std::net::SocketAddr>().map_err(|_| {
                format!("`resolver` `{r}` must be an ip:port such as \"127.0.0.1:53\"")
            })?;
        }
        if self.name.trim().is_empty() || Name::from_utf8(fqdn(&self.name)).is_err() {
            return Err(format!("`name` `{}` is not a valid domain name", self.name));
        }
        Ok(())
    }

    fn record_type(&self) -> Result<RecordType, String> {
        match self.record.as_str() {
            "A" => Ok(RecordType::A),
            "AAAA" => Ok(RecordType::AAAA),
            "CNAME" => Ok(RecordType::CNAME),
            "MX" => Ok(RecordType::MX),
            "TXT" => Ok(RecordType::TXT),
            other => Err(format!("Record type {other} is not supported.")),
        }
    }

    fn resolver(&self, deadline: Duration) -> Result<TokioResolver, String> {
        let mut builder = match &self.resolver {
            Some(address) => {
                let address: SocketAddr = address
                    .parse()
                    .map_err(|_| format!("`resolver` `{address}` is not an ip:port."))?;
                // UDP only: that is what clients of the resolver use, and a TCP fallback would
                // hide a broken UDP path.
                let mut server = NameServerConfig::udp(address.ip());
                for connection in &mut server.connections {
                    connection.port = address.port();
                }
                Resolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio()
                .map_err(|e| format!("Cannot read the system resolver configuration: {e}."))?,
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.timeout = deadline;
        // hickory counts retries after the first try: 0 means exactly one attempt.
        options.attempts = 0;
        options.cache_size = 0;
        options.use_hosts_file = ResolveHosts::Never;
        builder
            .build()
            .map_err(|e| format!("Cannot set up the resolver: {e}."))
    }

    async fn run(&self, deadline: Duration) -> Outcome {
        let record_type = match self.record_type() {
            Ok(t) => t,
            Err(e) => return Outcome::down(e),
        };
        let resolver = match self.resolver(deadline) {
            Ok(r) => r,
            Err(e) => return Outcome::down(e),
        };
        let start = Instant::now();
        let lookup = resolver.lookup(fqdn(&self.name), record_type).await;
        let latency = elapsed_ms(start);
        let lookup = match lookup {
            Ok(l) => l,
            Err(e) => return self.failure(&e, deadline),
        };
        // A lookup through a CNAME also carries the CNAME; only the asked-for type counts.
        let answers: Vec<String> = lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == record_type)
            .map(|r| show(&r.data))
            .collect();
        if answers.is_empty() {
            return Outcome::down(format!("No {} records.", self.record)).with_latency(latency);
        }
        let found: Vec<Vec<String>> = lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == record_type)
            .map(|r| comparable(&r.data))
            .collect();
        let missing: Vec<&str> = self
            .expect
            .iter()
            .filter(|want| {
                let want = normalize(want, record_type);
                !found.iter().any(|forms| forms.contains(&want))
            })
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Outcome::down(format!(
                "Expected {}, got {}.",
                missing.join(", "),
                list(&answers)
            ))
            .with_latency(latency);
        }
        Outcome::up(
            Some(latency),
            format!("{} {} in {latency} ms", self.record, list(&answers)),
        )
    }

    /// NXDOMAIN, SERVFAIL, an empty answer and silence are different problems with different
    /// owners (the zone, the resolver, the record, the network), so each gets its own words.
    fn failure(&self, e: &NetError, deadline: Duration) -> Outcome {
        match e {
            NetError::Timeout => Outcome::down(format!("Timed out after {}.", human(deadline))),
            NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => {
                match *response_code {
                    ResponseCode::NXDomain => {
                        Outcome::down(format!("NXDOMAIN: {} does not exist.", self.shown_name()))
                    }
                    ResponseCode::ServFail => Outcome::down("SERVFAIL from the resolver."),
                    _ => Outcome::down(format!("No {} records.", self.record)),
                }
            }
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
                Outcome::down("SERVFAIL from the resolver.")
            }
            NetError::Dns(DnsError::ResponseCode(code)) => Outcome::down(format!(
                "The resolver answered {}.",
                code.to_str().to_uppercase()
            )),
            NetError::Io(io) => Outcome::down(format!("Cannot reach the resolver: {io}.")),
            NetError::NoConnections => Outcome::down("Cannot reach the resolver."),
            other => Outcome::down(format!(
                "Lookup failed: {}.",
                super::http::truncate(&other.to_string(), 120)
            )),
        }
    }

    /// The name as the user wrote it, without the root dot we add.
    fn shown_name(&self) -> &str {
        self.name.strip_suffix('.').unwrap_or(&self.name)
    }
}

/// `name` with the trailing root dot, so no search domain is ever appended.
fn fqdn(name: &str) -> String {
    let name = name.trim();
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

/// A record as a detail shows it: names without the root dot.
fn show(data: &RData) -> String {
    match data {
        RData::CNAME(target) => trim_dot(&target.to_string()),
        RData::MX(mx) => format!("{} {}", mx.preference, trim_dot(&mx.exchange.to_string())),
        other => other.to_string(),
    }
}

/// The forms an `expect` entry may take to match this record: an MX matches either
/// `"10 mail.example.com"` or just `"mail.example.com"`.
fn comparable(data: &RData) -> Vec<String> {
    match data {
        RData::A(a) => vec![IpAddr::from(a.0).to_string()],
        RData::AAAA(aaaa) => vec![IpAddr::from(aaaa.0).to_string()],
        RData::CNAME(target) => vec![trim_dot(&target.to_string()).to_lowercase()],
        RData::MX(mx) => {
            let host = trim_dot(&mx.exchange.to_string()).to_lowercase();
            vec![format!("{} {host}", mx.preference), host]
        }
        other => vec![other.to_string()],
    }
}

/// An `expect` entry in the form [`comparable`] produces: canonical IPs, lower-case names
/// without the root dot. TXT stays as written (its content is case-sensitive).
fn normalize(want: &str, record_type: RecordType) -> String {
    let want = want.trim();
    match record_type {
        RecordType::A | RecordType::AAAA => want
            .parse::<IpAddr>()
            .map_or_else(|_| want.to_owned(), |ip| ip.to_string()),
        RecordType::CNAME | RecordType::MX => trim_dot(want).to_lowercase(),
        _ => want.to_owned(),
    }
}

fn trim_dot(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_owned()
}

/// Up to [`SHOWN`] answers, then a count of the rest.
fn list(answers: &[String]) -> String {
    let shown: Vec<String> = answers
        .iter()
        .take(SHOWN)
        .map(|a| super::http::truncate(a, 60))
        .collect();
    let mut text = shown.join(", ");
    if answers.len() > SHOWN {
        text.push_str(&format!(" (+{} more)", answers.len() - SHOWN));
    }
    text
}

impl Probe for DnsConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run(deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_values_are_compared_in_canonical_form() {
        assert_eq!(
            normalize("2001:0db8::0001", RecordType::AAAA),
            "2001:db8::1"
        );
        assert_eq!(
            normalize("Mail.Example.com.", RecordType::MX),
            "mail.example.com"
        );
        assert_eq!(normalize("v=spf1 -all", RecordType::TXT), "v=spf1 -all");
    }

    #[test]
    fn long_answer_lists_are_summarised() {
        let answers: Vec<String> = (1..=5).map(|i| format!("192.0.2.{i}")).collect();
        assert_eq!(list(&answers), "192.0.2.1, 192.0.2.2, 192.0.2.3 (+2 more)");
    }

    #[test]
    fn names_must_parse() {
        let config = DnsConfig {
            name: "bad..name".to_owned(),
            record: "A".to_owned(),
            resolver: None,
            expect: Vec::new(),
        };
        assert!(config.validate().is_err());
    }
}
