//! Sending one encoded export request over OTLP/gRPC or OTLP/HTTP, with the OTLP
//! specification's rules for what is worth retrying.

use std::str::FromStr;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataValue};

use super::config::{ClientTls, Compression, OtlpConfig, Protocol};
use crate::exporters::ExportError;
use crate::pipeline::Signal;

/// gRPC status codes the OTLP specification calls retryable.
const RETRYABLE_GRPC: [tonic::Code; 7] = [
    tonic::Code::Cancelled,
    tonic::Code::DeadlineExceeded,
    tonic::Code::ResourceExhausted,
    tonic::Code::Aborted,
    tonic::Code::OutOfRange,
    tonic::Code::Unavailable,
    tonic::Code::DataLoss,
];

/// Sends already-encoded request bytes; the response is not decoded.
struct EncodedRequest;
struct PassEncoder;
struct IgnoreDecoder;

impl Codec for EncodedRequest {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = PassEncoder;
    type Decoder = IgnoreDecoder;
    fn encoder(&mut self) -> PassEncoder {
        PassEncoder
    }
    fn decoder(&mut self) -> IgnoreDecoder {
        IgnoreDecoder
    }
}

impl Encoder for PassEncoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for IgnoreDecoder {
    type Item = ();
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

fn grpc_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

fn http_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/v1/traces",
        Signal::Metrics => "/v1/metrics",
        Signal::Logs => "/v1/logs",
    }
}

fn read(file: &str) -> Result<Vec<u8>, ExportError> {
    std::fs::read(file).map_err(|e| ExportError::Permanent(format!("cannot read {file}: {e}")))
}

/// tonic's client TLS: our CA if given, else the public roots; our certificate if given.
fn grpc_tls(tls: &ClientTls) -> Result<tonic::transport::ClientTlsConfig, ExportError> {
    let mut config = tonic::transport::ClientTlsConfig::new();
    config = match tls.ca_file.as_str() {
        "" => config.with_webpki_roots(),
        file => config.ca_certificate(tonic::transport::Certificate::from_pem(read(file)?)),
    };
    if !tls.cert_file.is_empty() {
        config = config.identity(tonic::transport::Identity::from_pem(read(&tls.cert_file)?, read(&tls.key_file)?));
    }
    Ok(config)
}

/// A connection to the backend.
pub(super) enum Client {
    Grpc(tonic::client::Grpc<tonic::transport::Channel>),
    Http(reqwest::Client),
}

impl Client {
    /// Builds the client; the gRPC channel connects on first use and reconnects by itself, so
    /// a backend that is down shows as failed sends (retried), not as an exporter that cannot
    /// start (which would make the collector unready).
    pub(super) fn new(cfg: &OtlpConfig) -> Result<Client, ExportError> {
        match cfg.protocol {
            Protocol::Grpc => {
                let mut endpoint = tonic::transport::Endpoint::from_shared(cfg.endpoint.clone())
                    .map_err(|e| ExportError::Permanent(format!("endpoint {}: {e}", cfg.endpoint)))?
                    .timeout(cfg.timeout)
                    .connect_timeout(cfg.timeout);
                if cfg.endpoint.starts_with("https://") {
                    endpoint = endpoint.tls_config(grpc_tls(&cfg.tls)?).map_err(|e| {
                        ExportError::Permanent(format!("endpoint {}: cannot set up TLS: {e}", cfg.endpoint))
                    })?;
                }
                let channel = endpoint.connect_lazy();
                let mut grpc = tonic::client::Grpc::new(channel);
                if cfg.compression == Compression::Gzip {
                    grpc = grpc.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                }
                Ok(Client::Grpc(grpc))
            }
            Protocol::HttpProtobuf => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut headers = reqwest::header::HeaderMap::new();
                for (k, v) in &cfg.headers {
                    if let (Ok(k), Ok(v)) =
                        (reqwest::header::HeaderName::from_str(k), reqwest::header::HeaderValue::from_str(v))
                    {
                        headers.insert(k, v);
                    }
                }
                let mut builder = reqwest::Client::builder().timeout(cfg.timeout).default_headers(headers);
                if !cfg.tls.ca_file.is_empty() {
                    let ca = reqwest::Certificate::from_pem_bundle(&read(&cfg.tls.ca_file)?)
                        .map_err(|e| ExportError::Permanent(format!("tls.ca_file {}: {e}", cfg.tls.ca_file)))?;
                    builder = builder.tls_certs_only(ca);
                }
                if !cfg.tls.cert_file.is_empty() {
                    let mut pem = read(&cfg.tls.cert_file)?;
                    pem.extend(read(&cfg.tls.key_file)?);
                    let identity = reqwest::Identity::from_pem(&pem)
                        .map_err(|e| ExportError::Permanent(format!("tls.cert_file/key_file: {e}")))?;
                    builder = builder.identity(identity);
                }
                let client = builder
                    .build()
                    .map_err(|e| ExportError::Permanent(format!("cannot build the HTTP client: {e}")))?;
                Ok(Client::Http(client))
            }
        }
    }

    /// Sends one export request.
    pub(super) async fn send(&mut self, cfg: &OtlpConfig, signal: Signal, body: Bytes) -> Result<(), ExportError> {
        match self {
            Client::Grpc(grpc) => {
                grpc.ready().await.map_err(|e| ExportError::Retryable(format!("{}: {e}", cfg.endpoint)))?;
                let mut request = tonic::Request::new(body);
                for (k, v) in &cfg.headers {
                    if let (Ok(k), Ok(v)) = (MetadataKey::from_bytes(k.as_bytes()), MetadataValue::try_from(v.as_str()))
                    {
                        request.metadata_mut().insert(k, v);
                    }
                }
                match grpc.unary(request, PathAndQuery::from_static(grpc_path(signal)), EncodedRequest).await {
                    Ok(_) => Ok(()),
                    Err(status) if RETRYABLE_GRPC.contains(&status.code()) => {
                        Err(ExportError::Retryable(format!("{}: {status}", cfg.endpoint)))
                    }
                    Err(status) => Err(ExportError::Permanent(format!("{}: {status}", cfg.endpoint))),
                }
            }
            Client::Http(client) => {
                let url = format!("{}{}", cfg.endpoint.trim_end_matches('/'), http_path(signal));
                let mut req = client.post(&url).header("content-type", "application/x-protobuf");
                let body = match cfg.compression {
                    Compression::None => body,
                    Compression::Gzip => {
                        req = req.header("content-encoding", "gzip");
                        crate::exporters::gzip(&body)
                            .map(Bytes::from)
                            .map_err(|e| ExportError::Permanent(format!("cannot gzip: {e}")))?
                    }
                };
                let resp =
                    req.body(body).send().await.map_err(|e| ExportError::Retryable(format!("POST {url}: {e}")))?;
                let status = resp.status();
                if status.is_success() {
                    return Ok(());
                }
                let why = format!("POST {url}: {status}");
                // OTLP/HTTP: 429, 502, 503 and 504 are retryable; other failures are not.
                match status.as_u16() {
                    429 | 502 | 503 | 504 => Err(ExportError::Retryable(why)),
                    _ => Err(ExportError::Permanent(why)),
                }
            }
        }
    }
}
