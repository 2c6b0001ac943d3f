//! Slow and idle clients against a real collector on loopback: a body that trickles in never
//! holds a processing slot others need and is cut after the body timeout; gRPC streams that
//! stall the same; idle and half-open connections are closed after their timeouts, and a full
//! listener makes room by closing its longest-idle connection.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use seedwatch_loadgen::raw_codec::RawCodec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SLOW: &str = ", max_concurrent_requests: 1, connections: {body_read_timeout: 3s, min_body_rate: 1MiB}";

async fn read_all(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_holds_no_slot_and_is_cut_after_its_timeout() {
    let c = start_with(&receivers_on_port_zero(SLOW)).await;
    let body = traces(3, 1).encode_to_vec();
    let (head, _) = body.split_at(body.len() / 2);

    // Headers and half the body, then nothing: the only processing slot must stay free.
    let started = Instant::now();
    let mut slow = TcpStream::connect(c.http_addr.unwrap()).await.unwrap();
    let headers = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: seedwatch\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(headers.as_bytes()).await.unwrap();
    slow.write_all(head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let second = client()
        .post(http_url(&c, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(traces(4, 2).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200, "a complete request is served while the slow one trickles");
    assert!(started.elapsed() < Duration::from_secs(2), "at once, not after the slow one");

    let response = read_all(&mut slow).await;
    let cut_after = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("too slow"), "{response}");
    assert!(cut_after >= Duration::from_secs(2) && cut_after < Duration::from_secs(5), "{cut_after:?}");
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_protobuf\"}").await, 4.0);
    assert_eq!(
        metric(&c, "seedwatch_listener_bodies_cut_total{listener=\"otlp/http\",reason=\"too_slow\"}").await,
        1.0
    );
    assert_eq!(
        metric(
            &c,
            "seedwatch_receiver_requests_total{transport=\"http_protobuf\",signal=\"traces\",outcome=\"too_slow\"}"
        )
        .await,
        1.0
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_grpc_streams_on_one_connection_do_not_block_export() {
    let yaml = format!(
        "receivers:\n  otlp:\n    grpc: {{endpoint: '127.0.0.1:0'{SLOW}}}\n    http: {{endpoint: '127.0.0.1:0'}}\nadmin: {{endpoint: '127.0.0.1:0'}}\n"
    );
    let c = start_with(&yaml).await;
    let channel = tonic::transport::Endpoint::from_shared(grpc_url(&c)).unwrap().connect().await.unwrap();
    // Three streams on one HTTP/2 connection that open and then send nothing.
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        stalled.push(tokio::spawn(async move {
            grpc.ready().await.unwrap();
            let path =
                http::uri::PathAndQuery::from_static("/opentelemetry.proto.collector.trace.v1.TraceService/Export");
            let never = futures::stream::pending::<Bytes>();
            grpc.client_streaming(tonic::Request::new(never), path, RawCodec).await.map(|_| ())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let resp = TraceServiceClient::connect(grpc_url(&c)).await.unwrap().export(traces(5, 3)).await.unwrap();
    assert_eq!(resp.into_inner().partial_success, None);
    assert!(started.elapsed() < Duration::from_secs(2), "served at once: {:?}", started.elapsed());
    for s in stalled {
        let status = tokio::time::timeout(Duration::from_secs(10), s).await.unwrap().unwrap().unwrap_err();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    }
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"grpc\"}").await, 5.0);
    assert_eq!(
        metric(&c, "seedwatch_listener_bodies_cut_total{listener=\"otlp/grpc\",reason=\"too_slow\"}").await,
        3.0
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_open_connections_are_closed_and_a_full_listener_makes_room() {
    let connections = ", connections: {max_connections: 3, header_read_timeout: 1s, idle_timeout: 2s}";
    let c = start_with(&receivers_on_port_zero(connections)).await;
    let addr = c.http_addr.unwrap();
    // Connects and sends nothing: cut after the header timeout.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    // Sends half a request head and stops.
    let mut trickle = TcpStream::connect(addr).await.unwrap();
    trickle.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    assert_eq!(read_all(&mut silent).await, "", "closed without an answer");
    assert_eq!(read_all(&mut trickle).await, "");
    let cut = started.elapsed();
    assert!(cut >= Duration::from_millis(800) && cut < Duration::from_secs(3), "{cut:?}");
    assert_eq!(
        metric(&c, "seedwatch_listener_connections_closed_total{listener=\"otlp/http\",reason=\"header_timeout\"}")
            .await,
        2.0
    );

    // Three kept-alive connections after one request each fill the listener; a fourth makes
    // room by closing the longest-idle one, and the idle ones close by themselves later.
    let mut kept = Vec::new();
    for seed in 0..4u64 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let body = traces(1, 10 + seed).encode_to_vec();
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body).await.unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
        kept.push(s);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(read_all(&mut kept[0]).await, "", "the longest-idle connection was closed to make room");
    assert_eq!(
        metric(&c, "seedwatch_listener_connections_closed_total{listener=\"otlp/http\",reason=\"evicted\"}").await,
        1.0
    );
    for s in &mut kept[1..] {
        assert_eq!(read_all(s).await, "");
    }
    assert_eq!(
        metric(&c, "seedwatch_listener_connections_closed_total{listener=\"otlp/http\",reason=\"idle\"}").await,
        3.0
    );
    assert_eq!(metric(&c, "seedwatch_listener_connections{listener=\"otlp/http\"}").await, 0.0);
    c.shutdown().await;
}
