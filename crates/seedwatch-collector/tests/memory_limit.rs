//! The memory limiter against a real collector: data held by a slow exporter is counted in
//! bytes; past the soft limit receivers refuse with the retryable answers (HTTP 503 +
//! Retry-After, gRPC UNAVAILABLE + RetryInfo), decompression never runs past the limit, and
//! every accepted span is delivered once the exporter catches up.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use tonic_types::StatusExt;

/// `n` spans, each carrying `padding` bytes of attribute.
fn padded(n: usize, seed: u64, padding: usize) -> ExportTraceServiceRequest {
    let mut req = traces(n, seed);
    for span in req.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans) {
        span.attributes.push(KeyValue {
            key: "padding".into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue("x".repeat(padding))) }),
            ..Default::default()
        });
    }
    req
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_soft_limit_receivers_refuse_retryably_and_nothing_accepted_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, go_tx, reader) = slow_fifo(&dir);
    let c = start(&format!(
        // The test process holds more than the collector: only its accounting is tested here.
        "limits: {{memory: {{limit: 64MiB, soft_limit_ratio: 0.5, watch_resident: false}}}}\n\
         pipeline: {{queue_capacity: 10000000, queue_max_bytes: 1GiB, retry_after: 3s}}\n\
         exporters:\n  file/slow:\n    path: '{}'\n",
        fifo.display()
    ))
    .await;
    wait_ready(&c).await;

    // 1 MiB requests until refused: the slow exporter holds them all.
    let mut accepted = 0u64;
    let mut refused = None;
    for seed in 0..200u64 {
        let resp = post_protobuf(&c, "/v1/traces", padded(100, seed, 10_000).encode_to_vec()).await;
        match resp.status().as_u16() {
            200 => accepted += 100,
            503 => {
                refused = Some(resp);
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let refused = refused.expect("the memory limit refused");
    assert_eq!(refused.headers()["retry-after"], "3");
    let status = RpcStatus::decode(refused.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, 14, "UNAVAILABLE");
    assert!(status.message.contains("soft memory limit"), "{}", status.message);
    let accounted = metric(&c, "seedwatch_memory_accounted_bytes").await;
    assert!((32.0 * 1048576.0..=64.0 * 1048576.0).contains(&accounted), "{accounted}");
    assert!(accepted >= 3000, "about 32 MiB was taken before refusing: {accepted} spans");

    let err = TraceServiceClient::connect(grpc_url(&c)).await.unwrap().export(traces(10, 9_999)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert_eq!(err.get_error_details().retry_info().cloned().unwrap().retry_delay, Some(Duration::from_secs(3)));
    assert!(metric(&c, "seedwatch_memory_refusals_total").await >= 2.0);
    let health: serde_json::Value =
        client().get(admin_url(&c, "/health/detailed")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(health["reasons"].to_string().contains("refusing new data"), "{health}");
    assert!(health["memory"]["refusing"].is_string(), "{health}");
    assert_eq!(health["listeners"]["otlp/http"]["max_connections"], 4096, "{health}");
    assert_eq!(
        metric(
            &c,
            "seedwatch_receiver_requests_total{transport=\"grpc\",signal=\"traces\",outcome=\"memory_limited\"}"
        )
        .await,
        1.0
    );

    go_tx.send(()).unwrap();
    let sent =
        wait_for_metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"file/slow\"}", accepted as f64).await;
    assert_eq!(sent, accepted as f64);
    assert_eq!(wait_for_metric(&c, "seedwatch_memory_accounted_bytes", 0.0).await, 0.0, "all given back");
    assert_eq!(c.shutdown().await, seedwatch_collector::pipeline::DrainOutcome::Drained);
    let written = reader.join().unwrap();
    let mut ids = std::collections::HashSet::new();
    for line in written.lines() {
        let req: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
        for span in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            assert!(ids.insert((span.trace_id.clone(), span.span_id.clone())), "span exported twice");
        }
    }
    assert_eq!(ids.len() as u64, accepted, "every accepted span exported once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_is_refused_before_it_passes_the_memory_limit() {
    let c = start_with(&format!(
        "{}limits: {{memory: {{limit: 64MiB, watch_resident: false}}}}\n",
        receivers_on_port_zero(", max_decompressed_size: 256MiB")
    ))
    .await;
    // 200 MiB of zeros inside a small gzip body: decompression stops at the memory limit.
    let bomb = gzip(&vec![0u8; 200 << 20]);
    assert!(bomb.len() < 4 << 20, "{}", bomb.len());
    let resp = client()
        .post(http_url(&c, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    let status = RpcStatus::decode(resp.bytes().await.unwrap()).unwrap();
    assert!(status.message.contains("past its memory limit"), "{}", status.message);
    assert_eq!(metric(&c, "seedwatch_memory_accounted_bytes").await, 0.0, "given back");
    // A normal request is served right after.
    post_traces(&c, 5, 1).await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_full_in_bytes_refuses_like_one_full_in_items() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, go_tx, reader) = slow_fifo(&dir);
    let c = start(&format!(
        "pipeline: {{queue_max_bytes: 4MiB, enqueue_timeout: 0s}}\nexporters:\n  file/slow:\n    path: '{}'\n    queue_max_bytes: 4MiB\n",
        fifo.display()
    ))
    .await;
    let mut statuses = Vec::new();
    for seed in 0..30u64 {
        let resp = post_protobuf(&c, "/v1/traces", padded(10, seed, 50_000).encode_to_vec()).await;
        statuses.push(resp.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(metric(&c, "seedwatch_queue_bytes{queue=\"traces\"}").await <= 4.0 * 1048576.0);
    assert_eq!(metric(&c, "seedwatch_queue_capacity_bytes{queue=\"exporter/file/slow\"}").await, 4.0 * 1048576.0);
    go_tx.send(()).unwrap();
    c.shutdown().await;
    reader.join().unwrap();
}
