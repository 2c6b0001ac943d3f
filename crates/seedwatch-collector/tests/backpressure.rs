//! A slow exporter fills the queues; receivers then answer the OTLP retryable status, and once
//! the exporter catches up every accepted span has been exported exactly once.
//!
//! The slowness is real: the `file` exporter writes into a FIFO that the test does not read
//! until the pipeline is full, so the exporter blocks on a full pipe buffer.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic_types::StatusExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queues_refuse_retryably_and_nothing_accepted_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, go_tx, reader) = slow_fifo(&dir);

    let c = start(&format!(
        "pipeline: {{queue_capacity: 100, enqueue_timeout: 0s, retry_after: 2s}}\nexporters:\n  file/slow:\n    path: '{}'\n    queue_capacity: 50\n",
        fifo.display()
    ))
    .await;
    wait_ready(&c).await;

    let mut accepted = 0u64;
    let mut refused = None;
    for seed in 0..5000u64 {
        let resp = post_protobuf(&c, "/v1/traces", traces(10, seed).encode_to_vec()).await;
        match resp.status().as_u16() {
            200 => accepted += 10,
            429 => {
                refused = Some(resp);
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let refused = refused.expect("the pipeline filled up and refused");
    assert_eq!(refused.headers()["retry-after"], "2");
    assert_eq!(refused.headers()["content-type"], "application/x-protobuf");
    let status = RpcStatus::decode(refused.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, 8, "RESOURCE_EXHAUSTED in the google.rpc.Status body");
    assert!(status.message.contains("queue is full"), "{}", status.message);

    let err = TraceServiceClient::connect(grpc_url(&c)).await.unwrap().export(traces(10, 99_999)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let retry = err.get_error_details().retry_info().cloned().expect("RetryInfo detail");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(2)));

    let health: serde_json::Value = client().get(admin_url(&c, "/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(health["reasons"].to_string().contains("queue traces is 100% full"), "{health}");
    assert_eq!(
        metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_protobuf\"}").await,
        accepted as f64
    );
    assert!(metric(&c, "seedwatch_receiver_refused_spans_total{transport=\"http_protobuf\"}").await >= 10.0);
    assert_eq!(metric(&c, "seedwatch_receiver_refused_spans_total{transport=\"grpc\"}").await, 10.0);

    // Let the exporter catch up, then drain and compare.
    go_tx.send(()).unwrap();
    for _ in 0..200 {
        if metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"file/slow\"}").await == accepted as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"file/slow\"}").await, accepted as f64);
    assert_eq!(metric(&c, "seedwatch_exporter_send_failed_spans_total{exporter=\"file/slow\"}").await, 0.0);
    assert_eq!(c.shutdown().await, seedwatch_collector::pipeline::DrainOutcome::Drained);

    let written = reader.join().unwrap();
    let mut exported = 0u64;
    let mut ids = std::collections::HashSet::new();
    for line in written.lines() {
        let req: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
        for span in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            exported += 1;
            assert!(ids.insert((span.trace_id.clone(), span.span_id.clone())), "span exported twice");
        }
    }
    assert!(accepted >= 100, "the queues held {accepted} spans before refusing");
    assert_eq!(exported, accepted, "every accepted span exported exactly once, none silently dropped");
}
