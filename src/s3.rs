//! The S3 client shared by the history store, the publish target and the storage probe: the
//! `[s3]` settings, `s3://bucket/prefix` locations, the client made from them, and error text
//! fit to print. A leaf module, so config can parse a location without depending on any stage;
//! making a client (which reads the `AWS_*` environment) happens only where one is used.

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use serde::Deserialize;

use crate::secret::{EnvString, Secret, redact_url, scrub};

/// `[s3]`: settings for any `s3://` store or target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// Any S3-compatible endpoint; omit for AWS.
    pub endpoint: Option<EnvString>,
    #[serde(default = "default_region")]
    pub region: EnvString,
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
}

fn default_region() -> EnvString {
    EnvString::from("us-east-1")
}

/// `s3://bucket/prefix`, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket, addressed path-style (`endpoint/bucket/key`).
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]`. Credentials in the URL are refused: they belong in `[s3]`
    /// (as secrets) or the AWS environment, not in a string that ends up in error messages.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let shown = redact_url(raw);
        let Some(rest) = raw.strip_prefix("s3://") else {
            return Err(format!("`{shown}` is not an s3://bucket/prefix URL"));
        };
        if rest.contains(['?', '#', '@']) {
            return Err(format!(
                "`{shown}`: write s3://bucket/prefix only; credentials go in [s3] or the AWS_* environment"
            ));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = !bucket.is_empty()
            && bucket
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !bucket_ok {
            return Err(format!("`{shown}` does not start with a bucket name"));
        }
        let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
        if parts.iter().any(|p| *p == "." || *p == "..") {
            return Err(format!(
                "`{shown}`: `.` and `..` are not allowed in the prefix"
            ));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: parts.join("/"),
        })
    }

    /// `s3://bucket/prefix`, for messages.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// The object path of `key` (a `/`-separated path relative to the prefix).
    pub fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(key)
        } else if key.is_empty() {
            Path::from(self.prefix.as_str())
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// `location` relative to the prefix, or `None` when it lies outside it.
    pub fn relative(&self, location: &Path) -> Option<String> {
        let full = location.as_ref();
        if self.prefix.is_empty() {
            return Some(full.to_owned());
        }
        full.strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .map(str::to_owned)
    }
}

/// Retries for 5xx, throttling (`SlowDown`) and dropped connections: a few, with exponential
/// backoff, bounded in time, so a dead endpoint fails the run in seconds rather than the
/// library's default three minutes.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 4,
        retry_timeout: Duration::from_secs(60),
    }
}

/// A client for `bucket` from `[s3]`, falling back to the standard `AWS_*` environment for
/// anything `[s3]` leaves out. Path-style requests, so any S3-compatible server works without
/// wildcard DNS. No network I/O happens here.
pub fn client(settings: Option<&S3Config>, bucket: &str) -> Result<AmazonS3, String> {
    // Credentials from the environment are secrets too: register them so `scrub` removes them
    // from any text that leaves the process.
    for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(value) = std::env::var(var) {
            let _ = Secret::new(value);
        }
    }
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_virtual_hosted_style_request(false)
        .with_retry(retry_config())
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(120)),
        );
    if let Some(s3) = settings {
        builder = builder.with_region(s3.region.as_str());
        if let Some(endpoint) = &s3.endpoint {
            builder = builder.with_endpoint(endpoint.as_str());
        }
        if let Some(id) = &s3.access_key_id {
            builder = builder.with_access_key_id(id.expose());
        }
        if let Some(key) = &s3.secret_access_key {
            builder = builder.with_secret_access_key(key.expose());
        }
    }
    if builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_some_and(|e| e.starts_with("http://"))
    {
        builder = builder.with_allow_http(true);
    }
    builder.build().map_err(|e| error_text(&e))
}

/// A library error as text fit to print: with its causes (the top level alone often says only
/// "error sending request"), every registered secret removed.
pub fn error_text(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    for cause in crate::text::causes(e) {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
    }
    scrub(&text)
}
