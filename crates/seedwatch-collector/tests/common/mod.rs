//! Shared helpers for the collector's integration tests: start a real collector on loopback
//! port 0, build OTLP requests, read `/metrics`.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use seedwatch_collector::app::RunningCollector;
use seedwatch_collector::config::Settings;

/// A collector on loopback port 0 with `extra` YAML appended to the base config.
pub async fn start(extra: &str) -> RunningCollector {
    start_with(&format!("{}{extra}", receivers_on_port_zero(""))).await
}

/// The receivers and admin sections on port 0; `http_extra` is added to the HTTP receiver.
pub fn receivers_on_port_zero(http_extra: &str) -> String {
    format!(
        "receivers:\n  otlp:\n    grpc: {{endpoint: '127.0.0.1:0'}}\n    http: {{endpoint: '127.0.0.1:0'{http_extra}}}\nadmin: {{endpoint: '127.0.0.1:0'}}\n"
    )
}

/// A collector from a whole YAML config.
pub async fn start_with(yaml: &str) -> RunningCollector {
    let settings = Settings::parse(yaml, "test.yaml", &|_| None).unwrap_or_else(|e| panic!("{e}"));
    RunningCollector::start(settings).await.unwrap()
}

pub fn http_url(c: &RunningCollector, path: &str) -> String {
    format!("http://{}{path}", c.http_addr.unwrap())
}

pub fn admin_url(c: &RunningCollector, path: &str) -> String {
    format!("http://{}{path}", c.admin_addr)
}

pub fn grpc_url(c: &RunningCollector) -> String {
    format!("http://{}", c.grpc_addr.unwrap())
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource { attributes: vec![string_attr("service.name", "modelseed-agent")], ..Default::default() })
}

/// A trace request with `n` valid spans; `seed` makes ids unique across requests.
pub fn traces(n: usize, seed: u64) -> ExportTraceServiceRequest {
    let spans = (0..n as u64)
        .map(|i| {
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&(seed + 1).to_be_bytes());
            let mut span_id = [0u8; 8];
            span_id.copy_from_slice(&(i + 1).to_be_bytes());
            Span {
                trace_id: trace_id.to_vec(),
                span_id: span_id.to_vec(),
                name: "execute_tool run_metabolic_fba".into(),
                start_time_unix_nano: 1_700_000_000_000_000_000,
                end_time_unix_nano: 1_700_000_001_000_000_000,
                attributes: vec![string_attr("gen_ai.tool.name", "run_metabolic_fba")],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// A metrics request with one gauge of `n` points.
pub fn metrics(n: usize) -> ExportMetricsServiceRequest {
    let points = (0..n)
        .map(|i| NumberDataPoint {
            time_unix_nano: 1_700_000_000_000_000_000,
            value: Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i as i64)),
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "process.memory.usage".into(),
                    data: Some(metric::Data::Gauge(Gauge { data_points: points })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A logs request with `n` records.
pub fn logs(n: usize) -> ExportLogsServiceRequest {
    let records = (0..n)
        .map(|i| LogRecord {
            time_unix_nano: 1_700_000_000_000_000_000,
            severity_text: "INFO".into(),
            body: Some(AnyValue { value: Some(any_value::Value::StringValue(format!("step {i}"))) }),
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// The value of one sample on `/metrics`, e.g. `seedwatch_receiver_accepted_spans_total{transport="grpc"}`.
pub async fn metric(c: &RunningCollector, sample: &str) -> f64 {
    let body = client().get(admin_url(c, "/metrics")).send().await.unwrap().text().await.unwrap();
    sample_value(&body, sample).unwrap_or_else(|| panic!("no sample `{sample}` in:\n{body}"))
}

pub fn sample_value(exposition: &str, sample: &str) -> Option<f64> {
    exposition.lines().find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok())
}

/// `google.rpc.Status` as OTLP/HTTP error bodies carry it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// Waits until `/health/ready` answers 200.
pub async fn wait_ready(c: &RunningCollector) {
    for _ in 0..100 {
        if client().get(admin_url(c, "/health/ready")).send().await.unwrap().status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("collector never became ready");
}

/// A FIFO in `dir` and a thread holding its read end: it opens the FIFO (which lets the
/// writer's open complete), then reads nothing until `go` is sent, then reads to the end. Until
/// then a writer blocks once the pipe buffer (64 KiB) is full: a real, slow exporter target.
pub fn slow_fifo(
    dir: &tempfile::TempDir,
) -> (std::path::PathBuf, std::sync::mpsc::Sender<()>, std::thread::JoinHandle<String>) {
    use std::io::Read;
    let fifo = dir.path().join("slow.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut file = std::fs::File::open(&path).unwrap();
        let mut all = String::new();
        if go_rx.recv().is_ok() {
            file.read_to_string(&mut all).unwrap();
        }
        all
    });
    (fifo, go_tx, reader)
}

/// Polls `/metrics` until `sample` reads `want` (5s at most); returns the last reading.
pub async fn wait_for_metric(c: &RunningCollector, sample: &str, want: f64) -> f64 {
    let mut value = 0.0;
    for _ in 0..100 {
        let body = client().get(admin_url(c, "/metrics")).send().await.unwrap().text().await.unwrap();
        value = sample_value(&body, sample).unwrap_or(0.0);
        if value == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    value
}

/// Posts an encoded request to `path` over OTLP/HTTP protobuf; the answer, whatever it is.
pub async fn post_protobuf(c: &RunningCollector, path: &str, body: Vec<u8>) -> reqwest::Response {
    client().post(http_url(c, path)).header("content-type", "application/x-protobuf").body(body).send().await.unwrap()
}

/// Posts `n` spans (ids from `seed`) over OTLP/HTTP protobuf and expects 200.
pub async fn post_traces(c: &RunningCollector, n: usize, seed: u64) {
    use prost::Message;
    let resp = post_protobuf(c, "/v1/traces", traces(n, seed).encode_to_vec()).await;
    assert_eq!(resp.status(), 200);
}
