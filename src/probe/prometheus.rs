//! `kind = "prometheus"`: an instant PromQL query against the Prometheus HTTP API
//! (`/api/v1/query`); the first sample's number is the component's value, judged by the
//! thresholds. CPU, memory, cache hit rate, queue backlog and error rate are already scraped by
//! most teams, so the page can show them without a new agent.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::Secret;

/// `[[component]] kind = "prometheus"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// The server's base URL, e.g. `http://prometheus:9090` (basic auth in the URL is allowed).
    /// Never printed.
    pub url: Secret,
    /// An instant query whose first sample is the value, e.g.
    /// `sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))`.
    pub query: String,
}

impl PrometheusConfig {
    /// An http(s) URL and a query.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.expose();
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(
                "`url` must start with http:// or https://\n= help: write url = \"http://prometheus:9090\""
                    .to_owned(),
            );
        }
        if self.query.trim().is_empty() {
            return Err(
                "`query` is empty\n= help: write the PromQL expression whose value is shown"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// The parts of `/api/v1/query`'s answer the probe reads.
#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: serde_json::Value,
}

/// The first sample's value: `vector` → `result[0].value[1]`, `scalar` → `result[1]`.
fn first_value(data: &Data) -> Result<f64, String> {
    let text = match data.result_type.as_str() {
        "vector" => data.result.pointer("/0/value/1"),
        "scalar" => data.result.pointer("/1"),
        other => {
            return Err(format!(
                "The query returns a {other}; an instant vector or scalar is needed."
            ));
        }
    };
    let Some(text) = text else {
        return Err("The query returned no series.".to_owned());
    };
    text.as_str()
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("The query's value {text} is not a finite number."))
}

impl Probe for PrometheusConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let client = match super::http::build_client(None) {
                Ok(c) => c,
                Err(e) => return Outcome::down(e),
            };
            let endpoint = format!("{}/api/v1/query", self.url.expose().trim_end_matches('/'));
            let mut endpoint = match reqwest::Url::parse(&endpoint) {
                Ok(u) => u,
                Err(e) => return Outcome::down(format!("Invalid URL: {e}.")),
            };
            endpoint
                .query_pairs_mut()
                .append_pair("query", self.query.as_str());
            let start = Instant::now();
            let response = match client.get(endpoint).send().await {
                Ok(r) => r,
                Err(e) => return Outcome::down(super::http::describe(&e, deadline)),
            };
            let status = response.status();
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) => return Outcome::down(super::http::describe(&e, deadline)),
            };
            let ms = elapsed_ms(start);
            let answer: Answer = match serde_json::from_slice(&body) {
                Ok(a) => a,
                Err(_) => {
                    return Outcome::down(format!(
                        "HTTP {}: not a Prometheus API answer.",
                        status.as_u16()
                    ))
                    .with_latency(ms);
                }
            };
            if answer.status != "success" {
                return Outcome::down(format!(
                    "The query failed: {}.",
                    super::http::truncate(
                        answer.error.as_deref().unwrap_or("no reason given"),
                        120
                    )
                ))
                .with_latency(ms);
            }
            let Some(data) = answer.data else {
                return Outcome::down("The answer holds no data.").with_latency(ms);
            };
            match first_value(&data) {
                Ok(value) => Outcome::up(
                    Some(ms),
                    format!(
                        "Query value {} in {ms} ms",
                        super::thresholds::number(value)
                    ),
                )
                .with_value(value),
                Err(e) => Outcome::down(e).with_latency(ms),
            }
        })
    }
}
