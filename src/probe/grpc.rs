//! `kind = "grpc"`: the standard health check, `grpc.health.v1.Health/Check`, that gRPC servers
//! expose for load balancers and Kubernetes. SERVING is up; NOT_SERVING, an unknown service or
//! a server without the health service is down, each said plainly. Connection set-up (TCP,
//! TLS, HTTP/2) is timed apart from the call itself.
//!
//! The client is `tonic` with `tonic-health`'s generated types (prost), rustls on aws-lc-rs:
//! a hand-written HTTP/2 + protobuf client would be smaller but would have to get gRPC framing,
//! trailers and status codes right on its own.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::{BoxFuture, Outcome, Probe, elapsed_ms};
use crate::secret::EnvString;

/// `[[component]] kind = "grpc"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcConfig {
    /// `host:port` of the gRPC server.
    pub address: EnvString,
    /// The service whose health is asked (`package.Service`); empty asks about the server as a
    /// whole, as the protocol defines.
    #[serde(default)]
    pub service: String,
    /// Connect with TLS (HTTP/2 over TLS, ALPN `h2`); plaintext HTTP/2 when false (default).
    #[serde(default)]
    pub tls: bool,
    /// A PEM file of extra trusted CA certificates (private PKI); implies `tls`.
    pub ca_file: Option<PathBuf>,
}

impl GrpcConfig {
    /// `address` must be `host:port`: the scheme comes from `tls`, never from the address.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let address = self.address.as_str();
        if address.contains("://") {
            return Err(format!(
                "`address` `{address}` must be host:port without a scheme\n= help: write address = \"api.internal:50051\" and tls = true for TLS"
            ));
        }
        super::tcp::TcpConfig {
            address: self.address.clone(),
        }
        .validate()
    }

    fn uses_tls(&self) -> bool {
        self.tls || self.ca_file.is_some()
    }

    /// The endpoint to dial: scheme, TLS roots and the connect timeout.
    fn endpoint(&self, deadline: Duration) -> Result<Endpoint, String> {
        let address = self.address.as_str();
        let scheme = if self.uses_tls() { "https" } else { "http" };
        let endpoint = Endpoint::from_shared(format!("{scheme}://{address}"))
            .map_err(|e| format!("`{address}` is not a valid address: {e}."))?
            .connect_timeout(deadline);
        if !self.uses_tls() {
            return Ok(endpoint);
        }
        let mut tls = ClientTlsConfig::new().with_webpki_roots();
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("Cannot read ca_file {}: {e}.", path.display()))?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint
            .tls_config(tls)
            .map_err(|e| format!("Cannot set up TLS: {}.", chain(&e)))
    }

    async fn run(&self, deadline: Duration) -> Outcome {
        let endpoint = match self.endpoint(deadline) {
            Ok(e) => e,
            Err(e) => return Outcome::down(e),
        };
        let start = Instant::now();
        let channel = match endpoint.connect().await {
            Ok(c) => c,
            Err(e) => return Outcome::down(format!("Cannot connect: {}.", chain(&e))),
        };
        let connect_ms = elapsed_ms(start);
        let start = Instant::now();
        let request = HealthCheckRequest {
            service: self.service.clone(),
        };
        let answer = HealthClient::new(channel).check(request).await;
        let ms = elapsed_ms(start);
        let what = self.what();
        match answer {
            Ok(response) => judge(response.into_inner().status, &what, ms, connect_ms),
            Err(status) => refused(&status, &what).with_latency(ms),
        }
    }

    /// "the server" or "service `x`", for details.
    fn what(&self) -> String {
        if self.service.is_empty() {
            "The server".to_owned()
        } else {
            format!(
                "Service {:?}",
                super::http::truncate(self.service.as_str(), 60)
            )
        }
    }
}

/// The outcome for a health answer's status code.
fn judge(status: i32, what: &str, ms: u64, connect_ms: u64) -> Outcome {
    match ServingStatus::try_from(status) {
        Ok(ServingStatus::Serving) => Outcome::up(
            Some(ms),
            format!("{what} is SERVING ({ms} ms, connect {connect_ms} ms)"),
        ),
        Ok(ServingStatus::NotServing) => {
            Outcome::down(format!("{what} is NOT_SERVING.")).with_latency(ms)
        }
        Ok(ServingStatus::ServiceUnknown) => Outcome::down(format!(
            "{what} is unknown to the server (SERVICE_UNKNOWN)."
        ))
        .with_latency(ms),
        Ok(ServingStatus::Unknown) | Err(_) => Outcome::down(format!(
            "{what} reports status {status} (UNKNOWN): the server does not know its health."
        ))
        .with_latency(ms),
    }
}

/// The outcome when the call itself failed with a gRPC status.
fn refused(status: &tonic::Status, what: &str) -> Outcome {
    let message = super::http::truncate(status.message(), 120);
    match status.code() {
        // The health protocol answers NOT_FOUND for a service it does not know.
        tonic::Code::NotFound => Outcome::down(format!(
            "{what} is unknown to the server's health service (NOT_FOUND)."
        )),
        tonic::Code::Unimplemented => {
            Outcome::down("The server does not implement grpc.health.v1.Health (UNIMPLEMENTED).")
        }
        code => Outcome::down(format!(
            "Health check failed: {code:?}{}{message}.",
            if message.is_empty() { "" } else { ": " }
        )),
    }
}

/// An error and its causes on one line: tonic's top-level "transport error" says nothing alone.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text.trim_end_matches('.').to_owned()
}

impl Probe for GrpcConfig {
    fn check(&self, deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run(deadline))
    }
}
