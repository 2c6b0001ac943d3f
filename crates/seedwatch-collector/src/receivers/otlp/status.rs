//! `google.rpc.Status`, the body of OTLP/HTTP error responses.

use serde::Serialize;

/// gRPC status code INVALID_ARGUMENT.
pub const INVALID_ARGUMENT: i32 = 3;
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
