//! Seed corpora: real requests of every signal (the load generator's agent traffic in each
//! dialect, the OTLP specification's own examples), the shipped configs and pricing file.

use std::io::Write;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use seedwatch_loadgen::traffic::{Dialect, TrafficConfig, request_ending_before};

/// The OTLP specification's examples (upper-case hex ids, 64-bit integers as numbers), when
/// the shared test data is next to the repository.
fn spec_example(name: &str) -> Option<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/otlp-spec-examples");
    std::fs::read(format!("{dir}/{name}")).ok()
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn trace_requests() -> Vec<ExportTraceServiceRequest> {
    let dialects = [Dialect::GenAi, Dialect::OpenLlmetry, Dialect::OpenInference, Dialect::OpenLit, Dialect::Mixed];
    dialects
        .iter()
        .enumerate()
        .map(|(n, &dialect)| {
            let cfg = TrafficConfig { dialect, services: 2, error_rate: 0.3, traces_per_request: 1 };
            request_ending_before(&cfg, n as u64, now_nanos())
        })
        .collect()
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn agent() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", "modelseed-agent"), kv("service.instance.id", "agent-1")],
        ..Default::default()
    })
}

fn metrics_request() -> ExportMetricsServiceRequest {
    let point = |value: f64, attributes: Vec<KeyValue>| NumberDataPoint {
        attributes,
        time_unix_nano: now_nanos(),
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    };
    let metrics = vec![
        Metric {
            name: "process.memory.usage".into(),
            data: Some(metric::Data::Gauge(Gauge { data_points: vec![point(1e9, vec![])] })),
            ..Default::default()
        },
        Metric {
            name: "seedwatch.health.status".into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: vec![point(2.0, vec![kv("seedwatch.health.check", "database")])],
            })),
            ..Default::default()
        },
        Metric {
            name: "process.cpu.utilization".into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![point(0.2, vec![kv("cpu.mode", "user")])],
                ..Default::default()
            })),
            ..Default::default()
        },
        Metric {
            name: "gen_ai.client.operation.duration".into(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    count: 3,
                    bucket_counts: vec![1, 2],
                    explicit_bounds: vec![1.0],
                    ..Default::default()
                }],
                ..Default::default()
            })),
            ..Default::default()
        },
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: agent(),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn logs_request() -> ExportLogsServiceRequest {
    let record = LogRecord {
        time_unix_nano: now_nanos(),
        severity_text: "INFO".into(),
        body: Some(AnyValue { value: Some(any_value::Value::StringValue("tool run_metabolic_fba finished".into())) }),
        attributes: vec![kv("tool_name", "run_metabolic_fba"), kv("event.name", "audit.tool_execution")],
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: agent(),
            scope_logs: vec![ScopeLogs { log_records: vec![record], ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// Protobuf trace requests.
pub fn traces() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = trace_requests().iter().map(Message::encode_to_vec).collect();
    out.extend(json_of::<ExportTraceServiceRequest>("trace.json").map(|r| r.encode_to_vec()));
    out
}

/// Protobuf metrics requests.
pub fn metrics() -> Vec<Vec<u8>> {
    let mut out = vec![metrics_request().encode_to_vec()];
    out.extend(json_of::<ExportMetricsServiceRequest>("metrics.json").map(|r| r.encode_to_vec()));
    out
}

/// Protobuf log requests.
pub fn logs() -> Vec<Vec<u8>> {
    let mut out = vec![logs_request().encode_to_vec()];
    out.extend(json_of::<ExportLogsServiceRequest>("logs.json").map(|r| r.encode_to_vec()));
    out
}

fn json_of<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_slice(&spec_example(name)?).ok()
}

fn prefixed(which: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![which];
    out.extend_from_slice(body);
    out
}

/// OTLP/JSON of each signal, behind the byte that picks the signal.
pub fn json() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (which, name) in [(0u8, "trace.json"), (1, "metrics.json"), (2, "logs.json")] {
        out.extend(spec_example(name).map(|body| prefixed(which, &body)));
    }
    for request in trace_requests() {
        out.push(prefixed(0, &serde_json::to_vec(&request).unwrap_or_default()));
    }
    out.push(prefixed(1, &serde_json::to_vec(&metrics_request()).unwrap_or_default()));
    out.push(prefixed(2, &serde_json::to_vec(&logs_request()).unwrap_or_default()));
    out
}

/// Receiver inputs: the byte that picks path, content type and gzip, then the body.
pub fn http() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for body in traces() {
        out.push(prefixed(0, &body));
    }
    out.extend(metrics().iter().map(|b| prefixed(1, b)));
    out.extend(logs().iter().map(|b| prefixed(2, b)));
    for body in json() {
        // The JSON seeds' own first byte is the signal (0, 1, 2): keep it, add the JSON bit.
        out.push(prefixed(body[0] | 4, &body[1..]));
    }
    out.extend(gzip());
    out
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Gzip bodies behind the byte that picks the path (and the gzip bit).
pub fn gzip() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    out.extend(traces().iter().map(|b| prefixed(8, &gzipped(b))));
    out.extend(metrics().iter().map(|b| prefixed(9, &gzipped(b))));
    out.extend(logs().iter().map(|b| prefixed(10, &gzipped(b))));
    // A small bomb: a megabyte of zeros in a kilobyte.
    out.push(prefixed(8, &gzipped(&vec![0u8; 1 << 20])));
    out
}

/// Configs: the shipped default, and small ones touching every section.
pub fn config() -> Vec<Vec<u8>> {
    vec![
        seedwatch_collector::config::EMBEDDED_DEFAULT.as_bytes().to_vec(),
        b"receivers:\n  otlp:\n    grpc: {endpoint: '127.0.0.1:0', connections: {idle_timeout: 5s}}\n    http: {max_body_size: 1MiB}\nlimits: {max_string_bytes: 64, memory: {limit: 512MiB}}\npipeline: {queue_capacity: 10, queue_max_bytes: 2MiB}\n".to_vec(),
        b"processors:\n  agent_metrics:\n    budgets:\n      limits: {d: {limit_usd: 5, period: 1h, scope: {resource: {tenant: '${SET}'}}}}\nexporters:\n  otlp/x: {endpoint: 'http://127.0.0.1:1', signals: [traces]}\n  file: {path: /dev/null}\n".to_vec(),
    ]
}

/// Pricing files: the shipped one.
pub fn pricing() -> Vec<Vec<u8>> {
    vec![seedwatch_semconv::pricing::EMBEDDED_PRICING.as_bytes().to_vec()]
}

/// An `Authorization` header line, then a credentials file.
pub fn credentials() -> Vec<Vec<u8>> {
    let file = "tokens:\n  - {name: a, token: 'sha256:0000000000000000000000000000000000000000000000000000000000000000', tenant: acme, roles: [write]}\n\
                basic:\n  - {name: g, username: g, password_hash: '$2y$04$abcdefghijklmnopqrstuu5Ww1Zj8yBgJ1nQ2dY3cC1wQeYpZpYyW', roles: [read]}\n\
                clients:\n  - {name: c, subject_alt_name: agent.example, roles: [write]}\n";
    vec![
        format!("Bearer token-for-fuzzing-0001\n{file}").into_bytes(),
        format!("Basic dTpw\n{file}").into_bytes(),
        b"bearer  x\ntokens: []\n".to_vec(),
    ]
}
