//! OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs` with protobuf or JSON bodies,
//! optionally gzip-compressed, answered as the OTLP/HTTP specification says: the response in
//! the request's encoding, 400 with a `google.rpc.Status` for bad input, 413 too large,
//! 415 unsupported media type or encoding, 429/503 with `Retry-After` when there is no room.

use std::io::Read;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;

use super::config::HttpConfig;
use super::signals::{Logs, Metrics, OtlpSignal, Traces};
use super::status::{INVALID_ARGUMENT, RESOURCE_EXHAUSTED, RpcStatus, UNAVAILABLE};
use crate::pipeline::Transport;
use crate::receivers::{Ingest, IngestError};
use crate::telemetry::RequestOutcome;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

#[derive(Clone)]
struct HttpState {
    ingest: Ingest,
    max_body: usize,
    max_decompressed: usize,
}

/// The OTLP/HTTP routes.
pub fn http_router(ingest: Ingest, config: &HttpConfig) -> Router {
    let state = HttpState {
        ingest,
        max_body: config.max_body_size.as_u64() as usize,
        max_decompressed: config.max_decompressed_size.as_u64() as usize,
    };
    Router::new()
        .route("/v1/traces", post(export::<Traces>))
        .route("/v1/metrics", post(export::<Metrics>))
        .route("/v1/logs", post(export::<Logs>))
        .layer(tower::limit::ConcurrencyLimitLayer::new(config.max_concurrent_requests))
        .with_state(state)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn transport(self) -> Transport {
        match self {
            Encoding::Protobuf => Transport::HttpProtobuf,
            Encoding::Json => Transport::HttpJson,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => PROTOBUF,
            Encoding::Json => JSON,
        }
    }
}

/// A refusal: status, gRPC code, message, optional Retry-After seconds.
struct Refusal {
    status: StatusCode,
    code: i32,
    message: String,
    retry_after: Option<u64>,
    outcome: RequestOutcome,
}

impl Refusal {
    fn new(status: StatusCode, code: i32, message: impl Into<String>, outcome: RequestOutcome) -> Self {
        Refusal { status, code, message: message.into(), retry_after: None, outcome }
    }

    fn into_response(self, encoding: Encoding) -> Response {
        let status = RpcStatus { code: self.code, message: self.message };
        let mut response = encode(encoding, &status, self.status);
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

fn encode<M: prost::Message + serde::Serialize>(encoding: Encoding, message: &M, status: StatusCode) -> Response {
    let body = match encoding {
        Encoding::Protobuf => message.encode_to_vec(),
        Encoding::Json => json_without_nulls(message),
    };
    (status, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

async fn export<S: OtlpSignal>(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let encoding = match content_type(&headers) {
        Ok(e) => e,
        Err(refusal) => {
            // No encoding to answer in: JSON, the one a person reading the error can read.
            state.ingest.metrics().receiver_request_unknown_http(S::SIGNAL);
            return refusal.into_response(Encoding::Json);
        }
    };
    match handle::<S>(&state, &headers, body, encoding).await {
        Ok(response) => response,
        Err(refusal) => refuse::<S>(&state, refusal, encoding, encoding.transport()),
    }
}

fn refuse<S: OtlpSignal>(state: &HttpState, refusal: Refusal, encoding: Encoding, transport: Transport) -> Response {
    if !matches!(refusal.outcome, RequestOutcome::QueueFull | RequestOutcome::ShuttingDown) {
        // Queue refusals were already counted, with their items, by `ingest`.
        state.ingest.metrics().receiver_request(transport, S::SIGNAL, refusal.outcome);
    }
    refusal.into_response(encoding)
}

async fn handle<S: OtlpSignal>(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Result<Response, Refusal> {
    let gzip = content_encoding_is_gzip(headers)?;
    if let Some(len) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        && len > state.max_body
    {
        return Err(too_large(format!("request body of {len} bytes exceeds the limit of {} bytes", state.max_body)));
    }
    let raw = to_bytes(body, state.max_body).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) {
            too_large(format!("request body exceeds the limit of {} bytes", state.max_body))
        } else {
            bad_request(format!("cannot read request body: {e}"))
        }
    })?;
    let bytes = if gzip { gunzip(&raw, state.max_decompressed)? } else { raw };
    // Protobuf takes the same path as gRPC: trace requests are validated in place and kept
    // as received, not decoded.
    let payload = match encoding {
        Encoding::Protobuf => {
            S::from_protobuf(bytes).map_err(|e| bad_request(format!("malformed OTLP protobuf: {e}")))?
        }
        Encoding::Json => {
            S::payload(serde_json::from_slice(&bytes).map_err(|e| bad_request(format!("malformed OTLP JSON: {e}")))?)
        }
    };
    match state.ingest.ingest(payload, encoding.transport()).await {
        Ok(outcome) => Ok(encode(encoding, &S::response(outcome.rejected, outcome.message), StatusCode::OK)),
        Err(err) => Err(queue_refusal(&err)),
    }
}

fn queue_refusal(err: &IngestError) -> Refusal {
    let (status, code, outcome) = match err {
        IngestError::QueueFull { .. } => (StatusCode::TOO_MANY_REQUESTS, RESOURCE_EXHAUSTED, RequestOutcome::QueueFull),
        IngestError::ShuttingDown { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE, RequestOutcome::ShuttingDown)
        }
    };
    Refusal {
        retry_after: Some(err.retry_after().as_secs().max(1)),
        ..Refusal::new(status, code, err.to_string(), outcome)
    }
}

fn bad_request(message: String) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, INVALID_ARGUMENT, message, RequestOutcome::Invalid)
}

fn too_large(message: String) -> Refusal {
    Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, INVALID_ARGUMENT, message, RequestOutcome::TooLarge)
}

fn unsupported(message: String) -> Refusal {
    Refusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, INVALID_ARGUMENT, message, RequestOutcome::Invalid)
}

fn content_type(headers: &HeaderMap) -> Result<Encoding, Refusal> {
    let raw = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        PROTOBUF => Ok(Encoding::Protobuf),
        JSON => Ok(Encoding::Json),
        _ => Err(unsupported(format!("unsupported Content-Type `{raw}`; send `{PROTOBUF}` or `{JSON}`"))),
    }
}

fn content_encoding_is_gzip(headers: &HeaderMap) -> Result<bool, Refusal> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else { return Ok(false) };
    let value = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
    match value.as_str() {
        "" | "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        other => Err(unsupported(format!("unsupported Content-Encoding `{other}`; send `gzip` or none"))),
    }
}

/// Decompresses at most `limit` bytes; more is a 413 (a gzip bomb never gets expanded).
fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, Refusal> {
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit));
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| bad_request(format!("malformed gzip body: {e}")))?;
    if out.len() > limit {
        return Err(too_large(format!("decompressed body exceeds the limit of {limit} bytes")));
    }
    Ok(Bytes::from(out))
}

/// OTLP/JSON of a response as the protobuf JSON mapping writes it: unset message fields left
/// out (not `"partialSuccess": null`) and int64 counts as strings (`"rejectedSpans": "2"`).
fn json_without_nulls<M: serde::Serialize>(message: &M) -> Vec<u8> {
    use serde_json::Value;
    // Serializing these generated types cannot fail: no maps with non-string keys.
    let mut value = serde_json::to_value(message).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
        if let Some(Value::Object(partial)) = map.get_mut("partialSuccess") {
            for (key, v) in partial.iter_mut() {
                if key.starts_with("rejected") && v.is_number() {
                    *v = Value::String(v.to_string());
                }
            }
        }
    }
    serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec())
}
