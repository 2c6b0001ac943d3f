//! Config of the OTLP receiver.

use bytesize::ByteSize;
use serde::Deserialize;

use crate::config::{Problem, Validate, check_endpoint};
use crate::listener::{ConnectionLimits, ConnectionsConfig};

/// The OTLP receiver: gRPC and HTTP servers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpReceiverConfig {
    /// OTLP over gRPC.
    #[serde(default)]
    pub grpc: GrpcConfig,
    /// OTLP over HTTP (protobuf and JSON).
    #[serde(default)]
    pub http: HttpConfig,
}

/// OTLP/gRPC server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcConfig {
    /// Serve OTLP/gRPC at all.
    #[serde(default = "crate::config::default_true")]
    pub enabled: bool,
    /// Listen address, `host:port`.
    #[serde(default = "default_grpc_endpoint")]
    pub endpoint: String,
    /// Largest request message accepted, after decompression.
    #[serde(default = "default_max_message_size")]
    pub max_message_size: ByteSize,
    /// Requests processed (decoded and queued) at once, once read; more wait. Reading is
    /// bounded by the connection limits and the memory limiter instead.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
    /// Connection limits and timeouts (defaults: [`ConnectionLimits::otlp_grpc`]).
    #[serde(default)]
    pub connections: ConnectionsConfig,
    /// Serve TLS here when `security.tls` is configured (default); `false`: plain text.
    #[serde(default = "crate::config::default_true")]
    pub tls: bool,
    /// Demand a credential with the `write` role when `security.auth` has any (default).
    #[serde(default = "crate::config::default_true")]
    pub auth: bool,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            enabled: true,
            endpoint: default_grpc_endpoint(),
            max_message_size: default_max_message_size(),
            max_concurrent_requests: default_max_concurrent_requests(),
            connections: ConnectionsConfig::default(),
            tls: true,
            auth: true,
        }
    }
}

impl GrpcConfig {
    /// The connection limits in force.
    pub fn limits(&self) -> ConnectionLimits {
        self.connections.resolve(ConnectionLimits::otlp_grpc())
    }
}

/// OTLP/HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Serve OTLP/HTTP at all.
    #[serde(default = "crate::config::default_true")]
    pub enabled: bool,
    /// Listen address, `host:port`.
    #[serde(default = "default_http_endpoint")]
    pub endpoint: String,
    /// Largest request body accepted as sent (compressed or not); larger gets 413.
    #[serde(default = "default_max_message_size")]
    pub max_body_size: ByteSize,
    /// Largest body accepted after gzip decompression; larger gets 413 (gzip-bomb guard).
    #[serde(default = "default_max_decompressed_size")]
    pub max_decompressed_size: ByteSize,
    /// Requests processed (decompressed, decoded and queued) at once, once read; more wait.
    /// Reading is bounded by the connection limits and the memory limiter instead.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
    /// Connection limits and timeouts (defaults: [`ConnectionLimits::otlp_http`]).
    #[serde(default)]
    pub connections: ConnectionsConfig,
    /// Serve TLS here when `security.tls` is configured (default); `false`: plain text.
    #[serde(default = "crate::config::default_true")]
    pub tls: bool,
    /// Demand a credential with the `write` role when `security.auth` has any (default).
    #[serde(default = "crate::config::default_true")]
    pub auth: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            endpoint: default_http_endpoint(),
            max_body_size: default_max_message_size(),
            max_decompressed_size: default_max_decompressed_size(),
            max_concurrent_requests: default_max_concurrent_requests(),
            connections: ConnectionsConfig::default(),
            tls: true,
            auth: true,
        }
    }
}

impl HttpConfig {
    /// The connection limits in force.
    pub fn limits(&self) -> ConnectionLimits {
        self.connections.resolve(ConnectionLimits::otlp_http())
    }
}

fn default_grpc_endpoint() -> String {
    "127.0.0.1:4317".to_owned()
}
fn default_http_endpoint() -> String {
    "127.0.0.1:4318".to_owned()
}
fn default_max_message_size() -> ByteSize {
    ByteSize::mib(4)
}
fn default_max_concurrent_requests() -> usize {
    64
}
fn default_max_decompressed_size() -> ByteSize {
    ByteSize::mib(32)
}

/// Upper bound on any size setting, so a typo cannot disable the memory guard.
const MAX_SIZE: ByteSize = ByteSize::gib(1);

fn check_size(size: ByteSize, path: &str, problems: &mut Vec<Problem>) {
    if size.as_u64() == 0 || size > MAX_SIZE {
        problems.push(Problem::found_expected(path, size, "a size between 1 B and 1 GiB, such as `4MiB`"));
    }
}

fn check_concurrency(n: usize, path: &str, problems: &mut Vec<Problem>) {
    if n == 0 || n > 10_000 {
        problems.push(Problem::found_expected(path, n, "a number of requests between 1 and 10000"));
    }
}

impl Validate for OtlpReceiverConfig {
    fn validate(&self, problems: &mut Vec<Problem>) {
        if self.grpc.enabled {
            check_concurrency(self.grpc.max_concurrent_requests, "grpc.max_concurrent_requests", problems);
            check_endpoint(&self.grpc.endpoint, "grpc.endpoint", problems);
            check_size(self.grpc.max_message_size, "grpc.max_message_size", problems);
            self.grpc.connections.validate(ConnectionLimits::otlp_grpc(), "grpc.connections", problems);
        }
        if self.http.enabled {
            check_concurrency(self.http.max_concurrent_requests, "http.max_concurrent_requests", problems);
            check_endpoint(&self.http.endpoint, "http.endpoint", problems);
            check_size(self.http.max_body_size, "http.max_body_size", problems);
            check_size(self.http.max_decompressed_size, "http.max_decompressed_size", problems);
            self.http.connections.validate(ConnectionLimits::otlp_http(), "http.connections", problems);
            if self.http.max_decompressed_size < self.http.max_body_size {
                problems.push(Problem::found_expected(
                    "http.max_decompressed_size",
                    self.http.max_decompressed_size,
                    format!("at least `max_body_size` ({})", self.http.max_body_size),
                ));
            }
        }
        if !self.grpc.enabled && !self.http.enabled {
            problems.push(Problem::new(
                "",
                "both `grpc` and `http` are disabled; enable at least one so telemetry can arrive",
            ));
        }
    }
}
