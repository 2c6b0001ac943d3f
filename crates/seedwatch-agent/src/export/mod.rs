//! The OTLP pipelines: exporters built from [`settings::SignalTarget`]s, wrapped so that every
//! span and log record is either exported or counted as dropped ([`gate`]).

pub mod gate;
pub mod settings;

use std::collections::HashMap;

use opentelemetry_otlp::tonic_types::metadata::MetadataMap;
use opentelemetry_otlp::{Compression, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{BatchConfigBuilder as LogBatchConfig, BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

use crate::InitError;
use gate::{CountingLogs, CountingMetrics, CountingSpans, GatedLogs, GatedSpans};
use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
use settings::{EnvSettings, Protocol, SignalTarget, TlsFiles};

fn otlp_protocol(p: Protocol) -> opentelemetry_otlp::Protocol {
    match p {
        Protocol::Grpc => opentelemetry_otlp::Protocol::Grpc,
        Protocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
    }
}

fn metadata(target: &SignalTarget, signal: &'static str) -> Result<MetadataMap, InitError> {
    let mut headers = http::HeaderMap::new();
    for (k, v) in &target.headers {
        let name = http::HeaderName::try_from(k.as_str()).map_err(|_| InitError::Header {
            signal,
            name: k.clone(),
            reason: "not a valid header name",
        })?;
        let value = http::HeaderValue::try_from(v.as_str()).map_err(|_| InitError::Header {
            signal,
            name: k.clone(),
            reason: "value is not a valid header value",
        })?;
        headers.insert(name, value);
    }
    Ok(MetadataMap::from_headers(headers))
}

fn http_headers(target: &SignalTarget) -> HashMap<String, String> {
    target.headers.iter().cloned().collect()
}

fn build_error(signal: &'static str) -> impl Fn(opentelemetry_otlp::ExporterBuildError) -> InitError {
    move |e| InitError::Exporter { signal, reason: e.to_string() }
}

fn read(file: &str, signal: &'static str) -> Result<Vec<u8>, InitError> {
    std::fs::read(file).map_err(|e| InitError::Exporter { signal, reason: format!("cannot read {file}: {e}") })
}

/// The gRPC settings every signal's exporter shares.
fn grpc<B: WithExportConfig + WithTonicConfig>(b: B, t: &SignalTarget, signal: &'static str) -> Result<B, InitError> {
    let mut b = b
        .with_endpoint(&t.endpoint)
        .with_timeout(t.timeout)
        .with_metadata(metadata(t, signal)?)
        .with_compression(Compression::Gzip);
    if t.endpoint.starts_with("https://") {
        let mut tls = ClientTlsConfig::new();
        tls = match &t.tls.certificate {
            Some(file) => tls.ca_certificate(Certificate::from_pem(read(file, signal)?)),
            None => tls.with_webpki_roots(),
        };
        if let (Some(cert), Some(key)) = (&t.tls.client_certificate, &t.tls.client_key) {
            tls = tls.identity(Identity::from_pem(read(cert, signal)?, read(key, signal)?));
        }
        b = b.with_tls_config(tls);
    }
    Ok(b)
}

/// The OTLP/HTTP settings every signal's exporter shares; with TLS files, our own client.
fn http<B: WithExportConfig + WithHttpConfig>(b: B, t: &SignalTarget, signal: &'static str) -> Result<B, InitError> {
    let b = b
        .with_endpoint(&t.endpoint)
        .with_protocol(otlp_protocol(t.protocol))
        .with_timeout(t.timeout)
        .with_headers(http_headers(t));
    if t.tls == TlsFiles::default() {
        return Ok(b);
    }
    let failed = |e: reqwest::Error| InitError::Exporter { signal, reason: format!("TLS files: {e}") };
    let mut builder = reqwest::blocking::Client::builder().timeout(t.timeout);
    if let Some(file) = &t.tls.certificate {
        builder = builder.tls_certs_only(reqwest::Certificate::from_pem_bundle(&read(file, signal)?).map_err(failed)?);
    }
    if let (Some(cert), Some(key)) = (&t.tls.client_certificate, &t.tls.client_key) {
        let mut pem = read(cert, signal)?;
        pem.extend(read(key, signal)?);
        builder = builder.identity(reqwest::Identity::from_pem(&pem).map_err(failed)?);
    }
    // Built on a thread of its own: a blocking client cannot be built inside a runtime.
    let client = std::thread::spawn(move || builder.build())
        .join()
        .map_err(|_| InitError::Exporter { signal, reason: "building the HTTP client panicked".into() })?
        .map_err(failed)?;
    Ok(b.with_http_client(client))
}

/// Builds the three providers. gRPC exporters must be built inside a Tokio runtime; the caller
/// enters its own dedicated one first.
pub(crate) fn tracer_provider(s: &EnvSettings, resource: Resource) -> Result<SdkTracerProvider, InitError> {
    let (t, builder) = (&s.traces, opentelemetry_otlp::SpanExporter::builder);
    let exporter = match t.protocol {
        Protocol::Grpc => grpc(builder().with_tonic(), t, "traces")?.build(),
        _ => http(builder().with_http(), t, "traces")?.build(),
    }
    .map_err(build_error("traces"))?;
    let config = BatchConfigBuilder::default().with_max_queue_size(s.span_queue).build();
    let batch = BatchSpanProcessor::builder(CountingSpans(exporter)).with_batch_config(config).build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_span_processor(GatedSpans { inner: batch, limit: s.span_queue as u64 })
        .build())
}

/// See [`tracer_provider`].
pub(crate) fn meter_provider(s: &EnvSettings, resource: Resource) -> Result<SdkMeterProvider, InitError> {
    let (t, builder) = (&s.metrics, opentelemetry_otlp::MetricExporter::builder);
    let exporter = match t.protocol {
        Protocol::Grpc => grpc(builder().with_tonic(), t, "metrics")?.with_temporality(Temporality::Cumulative).build(),
        _ => http(builder().with_http(), t, "metrics")?.with_temporality(Temporality::Cumulative).build(),
    }
    .map_err(build_error("metrics"))?;
    let reader = PeriodicReader::builder(CountingMetrics(exporter)).with_interval(s.metric_interval).build();
    Ok(SdkMeterProvider::builder().with_resource(resource).with_reader(reader).build())
}

/// See [`tracer_provider`].
pub(crate) fn logger_provider(s: &EnvSettings, resource: Resource) -> Result<SdkLoggerProvider, InitError> {
    let (t, builder) = (&s.logs, opentelemetry_otlp::LogExporter::builder);
    let exporter = match t.protocol {
        Protocol::Grpc => grpc(builder().with_tonic(), t, "logs")?.build(),
        _ => http(builder().with_http(), t, "logs")?.build(),
    }
    .map_err(build_error("logs"))?;
    let config = LogBatchConfig::default().with_max_queue_size(s.log_queue).build();
    let batch = BatchLogProcessor::builder(CountingLogs(exporter)).with_batch_config(config).build();
    Ok(SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(GatedLogs { inner: batch, limit: s.log_queue as u64 })
        .build())
}
