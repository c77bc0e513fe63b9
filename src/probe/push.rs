//! `kind = "push"`: APNs and FCM credentials parse and look right, and the outbox is not growing.
//!
//! Nothing is sent to Apple or Google: a status page must not spend push quota or need network
//! access to them. The keys are parsed with the same crypto provider the TLS stack uses, so a key
//! that parses here is one the push worker can sign with. The outbox backlog is sampled every run;
//! whether it "grew across the whole window" needs history, so [`crate::state`] decides that.

use std::path::Path;
use std::time::Duration;

use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;

use super::{BoxFuture, Health, Outcome, Probe};
use crate::duration::Duration as ConfigDuration;
use crate::secret::{EnvString, Secret};

/// `[[component]] kind = "push"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// APNs `.p8` key file (PKCS#8, P-256).
    pub apns_key_file: Option<EnvString>,
    /// APNs key id: 10 characters, A-Z and 0-9.
    pub apns_key_id: Option<String>,
    /// Apple team id: 10 characters, A-Z and 0-9.
    pub apns_team_id: Option<String>,
    /// FCM service-account JSON file.
    pub fcm_service_account_file: Option<EnvString>,
    /// SQL count of unsent pushes.
    pub outbox: Option<String>,
    /// Where `outbox` runs; `[snapshot] dsn` when unset.
    pub dsn: Option<Secret>,
    /// A backlog that grew across every sample in this window => degraded.
    #[serde(default = "default_growth_window")]
    pub outbox_growth_window: ConfigDuration,
}

const fn default_growth_window() -> ConfigDuration {
    ConfigDuration::from_secs(300)
}

fn is_apple_id(id: &str) -> bool {
    id.len() == 10
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Checks the APNs key file and ids; `Ok` carries a short description.
fn check_apns(file: &Path, key_id: Option<&str>, team_id: Option<&str>) -> Result<String, String> {
    let pem = std::fs::read(file).map_err(|_| "APNs key file cannot be read.".to_owned())?;
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|_| "APNs key file is not a PEM private key.".to_owned())?;
    if !matches!(key, PrivateKeyDer::Pkcs8(_)) {
        return Err("APNs key is not PKCS#8.".to_owned());
    }
    rustls::crypto::aws_lc_rs::sign::any_ecdsa_type(&key)
        .map_err(|_| "APNs key is not a P-256 ECDSA key.".to_owned())?;
    match key_id {
        Some(id) if is_apple_id(id) => {}
        _ => return Err("APNs key id must be 10 characters A-Z/0-9.".to_owned()),
    }
    match team_id {
        Some(id) if is_apple_id(id) => {}
        _ => return Err("APNs team id must be 10 characters A-Z/0-9.".to_owned()),
    }
    Ok("APNs".to_owned())
}

/// Checks an FCM service-account file: the JSON fields and its RSA private key.
fn check_fcm(file: &Path) -> Result<String, String> {
    #[derive(Deserialize)]
    struct ServiceAccount {
        #[serde(rename = "type")]
        kind: String,
        project_id: String,
        client_email: String,
        private_key: String,
    }
    let text = std::fs::read_to_string(file)
        .map_err(|_| "FCM service account cannot be read.".to_owned())?;
    let account: ServiceAccount = serde_json::from_str(&text)
        .map_err(|_| "FCM service account is not a service-account JSON.".to_owned())?;
    if account.kind != "service_account"
        || account.project_id.is_empty()
        || !account.client_email.contains('@')
    {
        return Err("FCM service account lacks type/project_id/client_email.".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(account.private_key.as_bytes())
        .map_err(|_| "FCM private_key is not a PEM private key.".to_owned())?;
    rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|_| "FCM private_key cannot sign.".to_owned())?;
    Ok("FCM".to_owned())
}

impl PushConfig {
    async fn run(&self) -> Outcome {
        let mut enabled = Vec::new();
        let mut problems = Vec::new();
        if let Some(file) = &self.apns_key_file {
            match check_apns(
                Path::new(file.as_str()),
                self.apns_key_id.as_deref(),
                self.apns_team_id.as_deref(),
            ) {
                Ok(name) => enabled.push(name),
                Err(e) => problems.push(e),
            }
        }
        if let Some(file) = &self.fcm_service_account_file {
            match check_fcm(Path::new(file.as_str())) {
                Ok(name) => enabled.push(name),
                Err(e) => problems.push(e),
            }
        }
        let mut backlog = None;
        if let (Some(query), Some(dsn)) = (&self.outbox, &self.dsn) {
            match super::postgres::connect(dsn).await {
                Ok(client) => match client.simple_query(query).await {
                    Ok(rows) => {
                        backlog = rows.iter().find_map(|m| match m {
                            tokio_postgres::SimpleQueryMessage::Row(r) => {
                                r.get(0)?.trim().parse::<i64>().ok()
                            }
                            _ => None,
                        });
                        if backlog.is_none() {
                            problems.push("The outbox query did not return a count.".to_owned());
                        }
                    }
                    Err(e) => problems.push(format!(
                        "Outbox query failed: {}.",
                        super::postgres::pg_error(&e)
                    )),
                },
                Err(e) => problems.push(format!("Outbox: {e}")),
            }
        }
        let mut outcome = if !problems.is_empty() {
            Outcome::down(problems.join(" "))
        } else if enabled.is_empty() {
            Outcome::degraded("No push providers enabled.")
        } else {
            let mut detail = format!("{} configured", enabled.join(" and "));
            if let Some(n) = backlog {
                detail.push_str(&format!("; outbox {n}"));
            }
            Outcome::up(None, format!("{detail}."))
        };
        if outcome.health == Health::Down && enabled.is_empty() && problems.is_empty() {
            outcome.health = Health::Degraded;
        }
        outcome.sample = backlog;
        outcome
    }
}

impl Probe for PushConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_ids_are_ten_uppercase_alphanumerics() {
        assert!(is_apple_id("ABC123DEFG"));
        assert!(!is_apple_id("abc123defg"));
        assert!(!is_apple_id("ABC123"));
    }
}
