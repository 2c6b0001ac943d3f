//! OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs` with protobuf or JSON bodies,
//! optionally gzip-compressed, answered as the OTLP/HTTP specification says: the response in
//! the request's encoding, 400 with a `google.rpc.Status` for bad input, 408 for a body that
//! arrives too slowly, 413 too large, 415 unsupported media type or encoding, 429/503 with
//! `Retry-After` when there is no room (queues full, memory limit reached).
//!
//! A request is read whole before it takes one of the `max_concurrent_requests` processing
//! slots, so a slow client never holds a slot; the body, its decompression and its decoding
//! are reserved against the memory limiter as they grow.

use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

use super::config::HttpConfig;
use super::signals::{Logs, Metrics, OtlpSignal, Traces};
use super::status::{DEADLINE_EXCEEDED, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, RpcStatus, UNAVAILABLE};
use crate::limits::{MemoryRefusal, Reservation};
use crate::listener::{BodyError, InFlight};
use crate::pipeline::{Transport, accepted_bytes};
use crate::receivers::{Ingest, IngestError};
use crate::security::Principal;
use crate::telemetry::RequestOutcome;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

#[derive(Clone)]
struct HttpState {
    ingest: Ingest,
    max_body: usize,
    max_decompressed: usize,
    /// Processing slots, taken once the body is read.
    slots: Arc<Semaphore>,
}

/// The OTLP/HTTP routes.
pub fn http_router(ingest: Ingest, config: &HttpConfig) -> Router {
    let state = HttpState {
        ingest,
        max_body: config.max_body_size.as_u64() as usize,
        max_decompressed: config.max_decompressed_size.as_u64() as usize,
        slots: Arc::new(Semaphore::new(config.max_concurrent_requests)),
    };
    Router::new()
        .route("/v1/traces", post(export::<Traces>))
        .route("/v1/metrics", post(export::<Metrics>))
        .route("/v1/logs", post(export::<Logs>))
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

async fn export<S: OtlpSignal>(
    State(state): State<HttpState>,
    in_flight: Option<Extension<InFlight>>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let encoding = match content_type(&headers) {
        Ok(e) => e,
        Err(refusal) => {
            // No encoding to answer in: JSON, the one a person reading the error can read.
            state.ingest.metrics().receiver_request_unknown_http(S::SIGNAL);
            return refusal.into_response(Encoding::Json);
        }
    };
    // Served by the listener, the body reserves as it is read; else (tests) from here on.
    let in_flight = in_flight.map_or_else(|| Arc::new(state.ingest.memory().empty()), |Extension(f)| f.0);
    let tenant = principal.as_ref().and_then(|Extension(p)| p.tenant.as_deref());
    match handle::<S>(&state, &headers, body, encoding, &in_flight, tenant).await {
        Ok(response) => response,
        Err(refusal) => refuse::<S>(&state, refusal, encoding, encoding.transport()),
    }
}

fn refuse<S: OtlpSignal>(state: &HttpState, refusal: Refusal, encoding: Encoding, transport: Transport) -> Response {
    if !matches!(
        refusal.outcome,
        RequestOutcome::QueueFull | RequestOutcome::ShuttingDown | RequestOutcome::MemoryLimited
    ) {
        // Retryable refusals were already counted, with their items, by `ingest`.
        state.ingest.metrics().receiver_request(transport, S::SIGNAL, refusal.outcome);
    }
    refusal.into_response(encoding)
}

async fn handle<S: OtlpSignal>(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
    in_flight: &Reservation,
    tenant: Option<&str>,
) -> Result<Response, Refusal> {
    let transport = encoding.transport();
    let memory_refusal = |refusal| retryable(&state.ingest.memory_limited(transport, S::SIGNAL, refusal));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if let Err(refused) = state.ingest.admit(transport, S::SIGNAL) {
        // Read and drop the body first, so that an HTTP/1.1 client (which sends it all before
        // reading the answer) gets the retryable answer rather than a broken connection.
        discard_body(body, state.max_body, in_flight).await;
        return Err(retryable(&refused));
    }
    let gzip = content_encoding_is_gzip(headers)?;
    if let Some(len) = declared
        && len > state.max_body
    {
        return Err(too_large(format!("request body of {len} bytes exceeds the limit of {} bytes", state.max_body)));
    }
    let raw = read_body(body, state.max_body, declared).await.map_err(|e| match e {
        ReadError::TooLarge => too_large(format!("request body exceeds the limit of {} bytes", state.max_body)),
        ReadError::Body(BodyError::Memory { refusal, .. }) => memory_refusal(refusal),
        ReadError::Body(e @ BodyError::TooSlow { .. }) => too_slow(e.to_string()),
        ReadError::Body(e) => bad_request(e.to_string()),
        ReadError::Other(e) => bad_request(format!("cannot read request body: {e}")),
    })?;
    // Read whole: only now take a processing slot, so slow senders never hold one.
    let _slot = state.slots.acquire().await.map_err(|_| bad_request("the receiver is closing".to_owned()))?;
    let bytes = if gzip {
        let wire = raw.len() as u64;
        let out = gunzip(&raw, state.max_decompressed, in_flight).map_err(|e| match e {
            GunzipError::Memory(refusal) => memory_refusal(refusal),
            GunzipError::Refused(refusal) => refusal,
        })?;
        drop(raw);
        in_flight.release(wire);
        out
    } else {
        raw
    };
    let wire = bytes.len() as u64;
    // Stamping a tenant decodes what would otherwise be kept as received.
    let held = accepted_bytes(S::SIGNAL, wire, encoding == Encoding::Protobuf && tenant.is_none());
    in_flight.grow(held).map_err(memory_refusal)?;
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
    in_flight.release(wire);
    match state.ingest.ingest(payload, transport, in_flight.split(held), tenant).await {
        Ok(outcome) => Ok(encode(encoding, &S::response(outcome.rejected, outcome.message), StatusCode::OK)),
        Err(err) => Err(retryable(&err)),
    }
}

/// Why a body could not be read.
enum ReadError {
    TooLarge,
    Body(BodyError),
    Other(axum::Error),
}

/// Reads and drops at most `max` bytes of a refused request's body, giving back what each
/// chunk reserved as it goes; stops at the first error.
async fn discard_body(mut body: Body, max: usize, in_flight: &Reservation) {
    let mut read = 0;
    while read <= max
        && let Some(Ok(frame)) = body.frame().await
    {
        if let Ok(data) = frame.into_data() {
            read += data.len();
            in_flight.release(data.len() as u64);
        }
    }
}

/// Reads the whole body into one buffer (sized from `Content-Length` when given), at most
/// `max` bytes.
async fn read_body(mut body: Body, max: usize, declared: Option<usize>) -> Result<Bytes, ReadError> {
    let mut out = Vec::with_capacity(declared.unwrap_or(0).min(max));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            // A body wrapped again (the rate limiter counts its bytes) nests axum errors.
            let mut error = e.into_inner();
            loop {
                match error.downcast::<axum::Error>() {
                    Ok(nested) => error = nested.into_inner(),
                    Err(other) => {
                        error = other;
                        break;
                    }
                }
            }
            match error.downcast::<BodyError>() {
                Ok(body_error) => ReadError::Body(*body_error),
                Err(other) => ReadError::Other(axum::Error::new(other)),
            }
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max {
                return Err(ReadError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// The retryable answer to a refused request: 429 when a queue is full, 503 when the
/// collector is out of memory or shutting down, both with `Retry-After`.
fn retryable(err: &IngestError) -> Refusal {
    let (status, code) = match err {
        IngestError::QueueFull { .. } => (StatusCode::TOO_MANY_REQUESTS, RESOURCE_EXHAUSTED),
        IngestError::ShuttingDown { .. } | IngestError::MemoryLimited { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
        }
    };
    Refusal {
        retry_after: Some(err.retry_after().as_secs().max(1)),
        ..Refusal::new(status, code, err.to_string(), err.outcome())
    }
}

fn too_slow(message: String) -> Refusal {
    Refusal::new(StatusCode::REQUEST_TIMEOUT, DEADLINE_EXCEEDED, message, RequestOutcome::TooSlow)
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

/// Why a body could not be decompressed.
enum GunzipError {
    /// Growing the output would pass the memory limit.
    Memory(MemoryRefusal),
    /// Malformed, or larger than allowed.
    Refused(Refusal),
}

/// Decompresses at most `limit` bytes, reserving the output in `memory` before it grows; more
/// is a 413 (a gzip bomb never gets expanded past the limit, nor past the memory limit).
fn gunzip(compressed: &[u8], limit: usize, memory: &Reservation) -> Result<Bytes, GunzipError> {
    const CHUNK: usize = 64 * 1024;
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed);
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = decoder
            .read(&mut chunk)
            .map_err(|e| GunzipError::Refused(bad_request(format!("malformed gzip body: {e}"))))?;
        if n == 0 {
            return Ok(Bytes::from(out));
        }
        if out.len() + n > limit {
            let message = format!("decompressed body exceeds the limit of {limit} bytes");
            return Err(GunzipError::Refused(too_large(message)));
        }
        if out.len() + n > out.capacity() {
            // Grow by doubling; while the buffer moves, the old and the new one both exist.
            let (old, target) =
                (out.capacity(), (out.capacity() * 2).clamp(CHUNK, limit.max(CHUNK)).max(out.len() + n));
            memory.grow(target as u64).map_err(GunzipError::Memory)?;
            out.reserve_exact(target - out.len());
            memory.release(old as u64);
        }
        out.extend_from_slice(&chunk[..n]);
    }
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
