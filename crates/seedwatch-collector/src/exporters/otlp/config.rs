//! Config of the `otlp` exporter.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{Problem, Validate, check_http_url};

/// OTLP wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    /// OTLP/gRPC.
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`/v1/traces`, `/v1/metrics`, `/v1/logs`).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

/// Request compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// As is.
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// Where and how to forward.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// `http://host:4317` (gRPC) or `http://host:4318` (HTTP; the signal paths are appended).
    pub endpoint: String,
    /// `grpc` or `http/protobuf`.
    #[serde(default = "default_protocol")]
    pub protocol: Protocol,
    /// Sent with every request (auth: `authorization: Bearer ...`, API keys).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `none` or `gzip`.
    #[serde(default)]
    pub compression: Compression,
    /// Per request.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_protocol() -> Protocol {
    Protocol::Grpc
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Validate for OtlpConfig {
    fn validate(&self, problems: &mut Vec<Problem>) {
        check_http_url(
            &self.endpoint,
            "endpoint",
            "a URL such as `http://jaeger:4317` (gRPC) or `http://jaeger:4318` (HTTP)",
            problems,
        );
        for (name, value) in &self.headers {
            let ok =
                http::HeaderName::from_bytes(name.as_bytes()).is_ok() && http::HeaderValue::from_str(value).is_ok();
            if !ok {
                problems.push(Problem::new(format!("headers.{name}"), "not a valid HTTP header name and value"));
            }
        }
        if self.timeout.is_zero() {
            problems.push(Problem::new("timeout", "must be longer than 0s, e.g. 10s"));
        }
    }
}
