//! OTLP/gRPC receiver against a real collector on loopback, with tonic's generated clients
//! and a raw-bytes client for malformed messages.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use seedwatch_loadgen::raw_codec::RawCodec;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Status};

#[tokio::test]
async fn exports_all_signals_plain_and_gzip_with_exact_counts() {
    let c = start("").await;
    let mut traces_client = TraceServiceClient::connect(grpc_url(&c)).await.unwrap();
    let resp = traces_client.export(traces(10, 1)).await.unwrap().into_inner();
    assert_eq!(resp.partial_success, None);
    let mut gz = TraceServiceClient::connect(grpc_url(&c)).await.unwrap().send_compressed(CompressionEncoding::Gzip);
    gz.export(traces(5, 2)).await.unwrap();
    MetricsServiceClient::connect(grpc_url(&c)).await.unwrap().export(metrics(6)).await.unwrap();
    LogsServiceClient::connect(grpc_url(&c))
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip)
        .export(logs(4))
        .await
        .unwrap();
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"grpc\"}").await, 15.0);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_metric_points_total{transport=\"grpc\"}").await, 6.0);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_log_records_total{transport=\"grpc\"}").await, 4.0);
    c.shutdown().await;
}

#[tokio::test]
async fn partial_success_over_grpc() {
    let c = start("").await;
    let mut req = traces(4, 3);
    req.resource_spans[0].scope_spans[0].spans[0].trace_id.clear();
    let resp = TraceServiceClient::connect(grpc_url(&c)).await.unwrap().export(req).await.unwrap().into_inner();
    assert_eq!(resp.partial_success.unwrap().rejected_spans, 1);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"grpc\"}").await, 3.0);
    assert_eq!(metric(&c, "seedwatch_receiver_refused_spans_total{transport=\"grpc\"}").await, 1.0);
    c.shutdown().await;
}

async fn raw_export(
    c: &seedwatch_collector::app::RunningCollector,
    path: &str,
    body: Vec<u8>,
) -> Result<Bytes, Status> {
    let channel = tonic::transport::Endpoint::from_shared(grpc_url(c)).unwrap().connect().await.unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_maybe_shared(path.to_owned().into_bytes()).unwrap();
    grpc.unary(tonic::Request::new(Bytes::from(body)), path, RawCodec).await.map(|r| r.into_inner())
}

const TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[tokio::test]
async fn malformed_and_oversized_messages_are_refused_and_the_server_keeps_serving() {
    let c = start_with(
        "receivers:\n  otlp:\n    grpc: {endpoint: '127.0.0.1:0', max_message_size: 64KiB}\n    http: {endpoint: '127.0.0.1:0'}\nadmin: {endpoint: '127.0.0.1:0'}\n",
    )
    .await;
    let good = traces(3, 4).encode_to_vec();
    let err = raw_export(&c, TRACE_EXPORT, good[..good.len() - 3].to_vec()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("malformed OTLP protobuf"));
    let garbage: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 251) as u8 | 0x80).collect();
    assert_eq!(raw_export(&c, TRACE_EXPORT, garbage).await.unwrap_err().code(), Code::InvalidArgument);
    let err = raw_export(&c, TRACE_EXPORT, vec![0u8; 100 * 1024]).await.unwrap_err();
    assert!(matches!(err.code(), Code::ResourceExhausted | Code::OutOfRange), "{err:?}");
    let err =
        raw_export(&c, "/opentelemetry.proto.collector.trace.v1.TraceService/Nope", good.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"grpc\"}").await, 0.0);

    // Empty message: valid, nothing accepted. Then a good one still works.
    let resp = raw_export(&c, TRACE_EXPORT, Vec::new()).await.unwrap();
    assert!(resp.is_empty(), "empty response message");
    raw_export(&c, TRACE_EXPORT, good).await.unwrap();
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"grpc\"}").await, 3.0);
    assert_eq!(
        metric(&c, "seedwatch_receiver_requests_total{transport=\"grpc\",signal=\"traces\",outcome=\"invalid\"}").await,
        2.0
    );
    c.shutdown().await;
}
