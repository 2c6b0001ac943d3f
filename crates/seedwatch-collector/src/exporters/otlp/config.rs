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
    /// TLS for an `https://` endpoint (public CAs are trusted without `ca_file`).
    #[serde(default)]
    pub tls: ClientTls,
}

/// Client TLS: the CA that signs the server's certificate, and our own certificate when the
/// server asks for one (mutual TLS). Every file is PEM; empty: not used.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTls {
    /// CA certificates to trust instead of the public ones.
    #[serde(default)]
    pub ca_file: String,
    /// Our certificate chain.
    #[serde(default)]
    pub cert_file: String,
    /// Its private key.
    #[serde(default)]
    pub key_file: String,
}

/// PEM blocks of `kind` (`CERTIFICATE`, or a private key) in a file, or why not.
fn check_pem(file: &str, key: bool) -> Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    if key {
        PrivateKeyDer::from_pem_slice(&bytes).map(|_| ()).map_err(|e| format!("{file}: no usable private key: {e}"))
    } else {
        match CertificateDer::pem_slice_iter(&bytes).collect::<Result<Vec<_>, _>>() {
            Ok(certs) if !certs.is_empty() => Ok(()),
            Ok(_) => Err(format!("{file}: no `CERTIFICATE` PEM block")),
            Err(e) => Err(format!("{file}: not valid PEM: {e}")),
        }
    }
}

impl ClientTls {
    fn validate(&self, endpoint: &str, problems: &mut Vec<Problem>) {
        let any = !(self.ca_file.is_empty() && self.cert_file.is_empty() && self.key_file.is_empty());
        if any && !endpoint.starts_with("https://") {
            problems.push(Problem::found_expected("endpoint", endpoint, "an `https://` URL when `tls` is set"));
        }
        if self.cert_file.is_empty() != self.key_file.is_empty() {
            problems
                .push(Problem::new("tls", "set both `cert_file` and `key_file` for a client certificate, or neither"));
        }
        for (key, file, is_key) in [
            ("tls.ca_file", &self.ca_file, false),
            ("tls.cert_file", &self.cert_file, false),
            ("tls.key_file", &self.key_file, true),
        ] {
            if !file.is_empty()
                && let Err(message) = check_pem(file, is_key)
            {
                problems.push(Problem::new(key, message));
            }
        }
    }
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
        self.tls.validate(&self.endpoint, problems);
    }
}
