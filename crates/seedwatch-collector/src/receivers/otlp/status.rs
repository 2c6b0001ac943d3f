//! `google.rpc.Status`, the body of OTLP/HTTP error responses.

use std::time::Duration;

use serde::Serialize;
use tonic_types::{ErrorDetails, StatusExt};

/// gRPC status code INVALID_ARGUMENT.
pub const INVALID_ARGUMENT: i32 = 3;
/// gRPC status code DEADLINE_EXCEEDED.
pub const DEADLINE_EXCEEDED: i32 = 4;
/// gRPC status code RESOURCE_EXHAUSTED.
pub const RESOURCE_EXHAUSTED: i32 = 8;
/// gRPC status code UNAVAILABLE.
pub const UNAVAILABLE: i32 = 14;

/// `google.rpc.Status` without details (OTLP clients read `message`).
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct RpcStatus {
    /// A gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// A developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// gRPC UNAVAILABLE with RetryInfo: every OTLP client retries it, after the suggested delay.
pub fn retryable_status(message: impl Into<String>, retry_after: Duration) -> tonic::Status {
    tonic::Status::with_error_details(
        tonic::Code::Unavailable,
        message,
        ErrorDetails::with_retry_info(Some(retry_after)),
    )
}

/// gRPC status code PERMISSION_DENIED.
pub const PERMISSION_DENIED: i32 = 7;
/// gRPC status code UNAUTHENTICATED.
pub const UNAUTHENTICATED: i32 = 16;

/// An OTLP/HTTP error body: `google.rpc.Status` as protobuf, or as JSON when `json`; with
/// its content type.
pub fn status_body(code: i32, message: impl Into<String>, json: bool) -> (&'static str, Vec<u8>) {
    let status = RpcStatus { code, message: message.into() };
    if json {
        ("application/json", serde_json::to_vec(&status).unwrap_or_default())
    } else {
        ("application/x-protobuf", prost::Message::encode_to_vec(&status))
    }
}
