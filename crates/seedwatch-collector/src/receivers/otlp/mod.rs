//! The OTLP receiver: gRPC (tonic) and HTTP (axum) servers for traces, metrics and logs,
//! answering exactly as the OTLP specification says.

mod codec;
mod config;
mod grpc;
mod http;
mod signals;
mod status;

#[cfg(test)]
mod raw_path_tests;

pub use config::{GrpcConfig, HttpConfig, OtlpReceiverConfig};
pub use grpc::grpc_routes;
pub use http::http_router;
pub use status::{PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAUTHENTICATED, retryable_status, status_body};
