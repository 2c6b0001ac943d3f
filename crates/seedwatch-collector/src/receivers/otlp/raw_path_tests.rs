//! Protobuf trace requests stay the received bytes on every transport: a receiver that
//! decodes them with prost makes the derivation re-encode them, which once cost the HTTP path
//! half its throughput without any other test noticing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use prometheus_client::registry::Registry;
use prost::Message;
use seedwatch_loadgen::traffic::{Dialect, TrafficConfig, request};
use tower::ServiceExt;

use super::config::HttpConfig;
use super::http::http_router;
use crate::pipeline::{Batch, Payload, PipelineConfig, QueueSet, bounded};
use crate::receivers::Ingest;
use crate::telemetry::SelfMetrics;

#[tokio::test]
async fn http_protobuf_traces_are_queued_as_received_bytes() {
    let (traces, mut traces_rx) = bounded::<Batch>("traces", 1000);
    let (metrics, _m) = bounded::<Batch>("metrics", 1000);
    let (logs, _l) = bounded::<Batch>("logs", 1000);
    let self_metrics = Arc::new(SelfMetrics::register(&mut Registry::default(), QueueSet::default()));
    let memory = crate::limits::MemoryLimiter::unlimited();
    let ingest = Ingest::new(traces, metrics, logs, self_metrics, &PipelineConfig::default(), &[], memory);
    let cfg = TrafficConfig { dialect: Dialect::Mixed, services: 2, error_rate: 0.1, traces_per_request: 2 };
    let body = request(&cfg, 3).encode_to_vec();
    let req = Request::post("/v1/traces")
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(Body::from(body.clone()))
        .expect("request");
    let resp = http_router(ingest, &HttpConfig::default()).oneshot(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    let batch = traces_rx.recv().await.expect("queued");
    let Payload::Traces(data) = batch.payload() else { panic!("traces") };
    assert!(data.is_raw_only(), "the HTTP receiver decoded the request");
    assert_eq!(&data.encoded()[..], &body[..]);
}
