//! `kind = "http"`: a request whose status, body and JSON are checked.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms, human};
use crate::secret::Secret;

/// `[[component]] kind = "http"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The URL to request. Secret: it may carry credentials or a token in its query.
    pub url: Secret,
    /// HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// Request headers; values are secrets (they usually carry tokens).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Accepted status codes; any 2xx when empty.
    #[serde(default)]
    pub expect_status: Vec<u16>,
    /// A substring the body must contain.
    pub expect_body: Option<String>,
    /// JSON pointer => expected value, e.g. `{ "/status" = "ok" }`.
    #[serde(default)]
    pub expect_json: BTreeMap<String, toml::Value>,
    /// A PEM file of extra trusted CA certificates (private PKI).
    pub ca_file: Option<PathBuf>,
    /// Redirects followed before giving up (0 = report the redirect's own status).
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    /// At most this many body bytes are read; a larger body is judged on its first bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
}

fn default_method() -> String {
    "GET".to_owned()
}

const fn default_max_redirects() -> usize {
    5
}

const fn default_max_body_bytes() -> usize {
    1 << 20
}

impl HttpConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        reqwest::Method::from_bytes(self.method.as_bytes())
            .map_err(|_| format!("`method` `{}` is not an HTTP method", self.method))?;
        let url = self.url.expose();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err("`url` must start with http:// or https://".to_owned());
        }
        Ok(())
    }

    fn client(&self) -> Result<reqwest::Client, String> {
        // The common case shares one client (and its connection pool and root store).
        static SHARED: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
        if self.ca_file.is_none() {
            return SHARED.get_or_init(|| build_client(None)).clone();
        }
        build_client(self.ca_file.as_deref())
    }

    /// Sends the request and follows redirects up to `max_redirects`, all under `deadline`.
    /// Returns the final response and the time to its head.
    ///
    /// Redirects are followed here rather than by reqwest because the configured headers usually
    /// carry credentials (`X-Api-Key`, `Authorization`) meant for the configured origin only:
    /// reqwest's policy can stop a redirect but cannot drop a custom header on one hop, and it
    /// keeps custom headers across origins. Like browsers and curl do with credentials, a hop to
    /// another origin (scheme, host or port) gets none of them.
    async fn fetch(
        &self,
        client: &reqwest::Client,
        deadline: Duration,
    ) -> Result<(reqwest::Response, u64), Outcome> {
        let configured = reqwest::Url::parse(self.url.expose())
            .map_err(|e| Outcome::down(format!("`url` is not a valid URL: {e}.")))?;
        let origin = configured.origin();
        let mut method =
            reqwest::Method::from_bytes(self.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut url = configured;
        let mut followed = 0;
        let start = Instant::now();
        loop {
            let remaining = deadline.saturating_sub(start.elapsed());
            let mut request = client
                .request(method.clone(), url.clone())
                .timeout(remaining);
            if url.origin() == origin {
                for (name, value) in &self.headers {
                    request = request.header(name, value.expose());
                }
            }
            let response = request
                .send()
                .await
                .map_err(|e| Outcome::down(describe(&e, deadline)))?;
            let status = response.status().as_u16();
            let next = match status {
                301 | 302 | 303 | 307 | 308 => redirect_target(&response, &url),
                _ => None,
            };
            let Some(next) = next else {
                return Ok((response, elapsed_ms(start)));
            };
            if followed == self.max_redirects {
                if self.max_redirects == 0 {
                    // Following is off: the redirect itself is judged.
                    return Ok((response, elapsed_ms(start)));
                }
                return Err(Outcome::down("Too many redirects.").with_latency(elapsed_ms(start)));
            }
            if !matches!(next.scheme(), "http" | "https") {
                return Err(
                    Outcome::down(format!("Redirected to a {} URL.", next.scheme()))
                        .with_latency(elapsed_ms(start)),
                );
            }
            // What browsers and reqwest do: 303, and 301/302 after anything but HEAD, become GET.
            if status == 303 || (matches!(status, 301 | 302) && method != reqwest::Method::HEAD) {
                method = reqwest::Method::GET;
            }
            followed += 1;
            url = next;
        }
    }

    async fn run(&self, deadline: Duration) -> Outcome {
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => return Outcome::down(e),
        };
        // Time to the final response head: what a user waits before anything arrives.
        let (mut response, latency) = match self.fetch(&client, deadline).await {
            Ok(fetched) => fetched,
            Err(outcome) => return outcome,
        };
        let status = response.status();
        let accepted = if self.expect_status.is_empty() {
            status.is_success()
        } else {
            self.expect_status.contains(&status.as_u16())
        };
        if !accepted {
            return Outcome::down(format!("HTTP {}", status.as_u16())).with_latency(latency);
        }
        if self.expect_body.is_none() && self.expect_json.is_empty() {
            return Outcome::up(
                Some(latency),
                format!("HTTP {} in {latency} ms", status.as_u16()),
            );
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.max_body_bytes.saturating_sub(body.len());
                    body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
                    if body.len() >= self.max_body_bytes {
                        break; // judged on its first bytes; the rest is never read
                    }
                }
                Ok(None) => break,
                Err(e) => return Outcome::down(describe(&e, deadline)).with_latency(latency),
            }
        }
        let text = String::from_utf8_lossy(&body);
        if let Some(needle) = &self.expect_body
            && !text.contains(needle.as_str())
        {
            return Outcome::down(format!("Body does not contain {needle:?}."))
                .with_latency(latency);
        }
        if !self.expect_json.is_empty() {
            let json: serde_json::Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(_) => return Outcome::down("Body is not valid JSON.").with_latency(latency),
            };
            for (pointer, expected) in &self.expect_json {
                let expected = serde_json::to_value(expected).unwrap_or_default();
                match json.pointer(pointer) {
                    Some(found) if *found == expected => {}
                    Some(found) => {
                        let found = truncate(&found.to_string(), 60);
                        return Outcome::down(format!(
                            "JSON {pointer} is {found}, expected {expected}."
                        ))
                        .with_latency(latency);
                    }
                    None => {
                        return Outcome::down(format!("JSON {pointer} is missing."))
                            .with_latency(latency);
                    }
                }
            }
        }
        Outcome::up(
            Some(latency),
            format!("HTTP {} in {latency} ms", status.as_u16()),
        )
    }
}

pub(crate) fn build_client(ca_file: Option<&std::path::Path>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        // `fetch` follows redirects itself, deciding per hop which headers go along.
        .redirect(reqwest::redirect::Policy::none())
        // A Referer would carry the configured URL, query token included, to wherever a
        // redirect points.
        .referer(false)
        .user_agent(concat!(
            "upstate/",
            env!("CARGO_PKG_VERSION"),
            " (status probe)"
        ));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("Cannot read ca_file {}: {e}.", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| format!("ca_file {} holds no PEM certificate.", path.display()))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| format!("Cannot build the HTTP client: {e}."))
}

/// A short reason for a failed request. Only the error's kind and its sources are printed,
/// never the error itself: reqwest keeps the URL in it, and the URL may hold secrets.
pub(crate) fn describe(e: &reqwest::Error, deadline: Duration) -> String {
    if e.is_timeout() {
        return format!("Timed out after {}.", human(deadline));
    }
    let cause = crate::text::causes(e)
        .last()
        .map(ToString::to_string)
        .unwrap_or_default();
    let head = if e.is_connect() {
        "Connection failed"
    } else if e.is_body() || e.is_decode() {
        "Reading the body failed"
    } else {
        "Request failed"
    };
    if cause.is_empty() {
        format!("{head}.")
    } else {
        format!("{head}: {}.", truncate(&cause, 120))
    }
}

/// The `Location` of a redirect, resolved against the URL that answered; `None` when it is
/// missing or unreadable (the redirect is then judged as the final answer, as reqwest does).
fn redirect_target(response: &reqwest::Response, from: &reqwest::Url) -> Option<reqwest::Url> {
    let location = response.headers().get(reqwest::header::LOCATION)?;
    from.join(location.to_str().ok()?).ok()
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

impl Probe for HttpConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run(deadline))
    }
}
