//! OTLP/HTTP receiver against a real collector on loopback: the specification's own JSON
//! examples, protobuf and gzip, and every kind of bad input.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::io::Write;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use reqwest::StatusCode;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/otlp-spec-examples");

fn spec_example(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SPEC}/{name}")).unwrap_or_else(|e| panic!("{SPEC}/{name}: {e}"))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

async fn post(url: &str, ctype: &str, body: Vec<u8>, gzipped: bool) -> reqwest::Response {
    let mut req = client().post(url).header("content-type", ctype).body(body);
    if gzipped {
        req = req.header("content-encoding", "gzip");
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn accepts_every_otlp_spec_json_example_with_exact_counts() {
    let c = start("").await;
    for (file, path) in [("trace.json", "/v1/traces"), ("metrics.json", "/v1/metrics"), ("logs.json", "/v1/logs")] {
        let resp = post(&http_url(&c, path), "application/json", spec_example(file), false).await;
        assert_eq!(resp.status(), StatusCode::OK, "{file}");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body, serde_json::json!({}), "{file}: full success has no partialSuccess");
    }
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_json\"}").await, 1.0);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_metric_points_total{transport=\"http_json\"}").await, 3.0);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_log_records_total{transport=\"http_json\"}").await, 1.0);
    c.shutdown().await;
}

#[tokio::test]
async fn json_accepts_lower_case_ids_and_64_bit_ints_as_strings() {
    let c = start("").await;
    let body = String::from_utf8(spec_example("trace.json"))
        .unwrap()
        .replace("5B8EFFF798038103D269B633813FC60C", "5b8efff798038103d269b633813fc60c")
        .replace("1544712660000000000", "\"1544712660000000000\"")
        .replace("\"kind\": 2", "\"kind\": 2, \"someFutureField\": {\"x\": 1}");
    let resp = post(&http_url(&c, "/v1/traces"), "application/json; charset=utf-8", body.into_bytes(), false).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", resp.text().await.unwrap());
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_json\"}").await, 1.0);
    c.shutdown().await;
}

#[tokio::test]
async fn protobuf_and_gzip_with_protobuf_responses() {
    let c = start("").await;
    let resp = post(&http_url(&c, "/v1/traces"), "application/x-protobuf", traces(7, 1).encode_to_vec(), false).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/x-protobuf");
    let decoded = ExportTraceServiceResponse::decode(resp.bytes().await.unwrap()).unwrap();
    assert_eq!(decoded.partial_success, None);
    let resp = post(&http_url(&c, "/v1/logs"), "application/x-protobuf", gzip(&logs(5).encode_to_vec()), true).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp =
        post(&http_url(&c, "/v1/metrics"), "application/x-protobuf", gzip(&metrics(4).encode_to_vec()), true).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_protobuf\"}").await, 7.0);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_log_records_total{transport=\"http_protobuf\"}").await, 5.0);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_metric_points_total{transport=\"http_protobuf\"}").await, 4.0);
    c.shutdown().await;
}

#[tokio::test]
async fn invalid_spans_get_partial_success_and_the_rest_is_accepted() {
    let c = start("").await;
    let mut req = traces(5, 2);
    req.resource_spans[0].scope_spans[0].spans[1].trace_id = vec![1, 2, 3];
    req.resource_spans[0].scope_spans[0].spans[3].span_id = vec![0; 8];
    let resp = post(&http_url(&c, "/v1/traces"), "application/x-protobuf", req.encode_to_vec(), false).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let decoded = ExportTraceServiceResponse::decode(resp.bytes().await.unwrap()).unwrap();
    let partial = decoded.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 2);
    assert!(partial.error_message.contains("trace_id must be 16 bytes"), "{}", partial.error_message);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_protobuf\"}").await, 3.0);
    assert_eq!(metric(&c, "seedwatch_receiver_refused_spans_total{transport=\"http_protobuf\"}").await, 2.0);

    let json = serde_json::to_vec(&req).unwrap();
    let resp = post(&http_url(&c, "/v1/traces"), "application/json", json, false).await;
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["partialSuccess"]["rejectedSpans"], "2", "int64 as a string in OTLP/JSON: {body}");
    c.shutdown().await;
}

/// Sends a bad request and checks the status, that the body is a `google.rpc.Status` in the
/// request's encoding with a message, and that nothing was accepted.
async fn expect_refusal(
    c: &seedwatch_collector::app::RunningCollector,
    resp: reqwest::Response,
    status: StatusCode,
    needle: &str,
) {
    assert_eq!(resp.status(), status);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
    let body = resp.bytes().await.unwrap();
    let message = if ctype == "application/json" {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(v["code"].as_i64().is_some(), "{v}");
        v["message"].as_str().unwrap().to_owned()
    } else {
        assert_eq!(ctype, "application/x-protobuf");
        RpcStatus::decode(body).unwrap().message
    };
    assert!(message.contains(needle), "message `{message}` should mention `{needle}`");
    assert_eq!(metric(c, "seedwatch_receiver_accepted_spans_total{transport=\"http_protobuf\"}").await, 0.0);
    assert_eq!(metric(c, "seedwatch_receiver_accepted_spans_total{transport=\"http_json\"}").await, 0.0);
}

#[tokio::test]
async fn bad_input_gets_the_spec_status_and_changes_nothing() {
    let c = start_with(&receivers_on_port_zero(", max_body_size: 64KiB, max_decompressed_size: 256KiB")).await;
    let url = http_url(&c, "/v1/traces");
    let good = traces(3, 3).encode_to_vec();

    let truncated = good[..good.len() - 5].to_vec();
    expect_refusal(
        &c,
        post(&url, "application/x-protobuf", truncated, false).await,
        StatusCode::BAD_REQUEST,
        "malformed OTLP protobuf",
    )
    .await;
    let garbage: Vec<u8> = (0..200u32).map(|i| (i * 7919 % 251) as u8 | 0x80).collect();
    expect_refusal(
        &c,
        post(&url, "application/x-protobuf", garbage, false).await,
        StatusCode::BAD_REQUEST,
        "malformed OTLP protobuf",
    )
    .await;
    expect_refusal(
        &c,
        post(&url, "application/json", b"{\"resourceSpans\": [".to_vec(), false).await,
        StatusCode::BAD_REQUEST,
        "malformed OTLP JSON",
    )
    .await;
    expect_refusal(
        &c,
        post(&url, "application/json", b"[1,2]".to_vec(), false).await,
        StatusCode::BAD_REQUEST,
        "malformed OTLP JSON",
    )
    .await;
    expect_refusal(
        &c,
        post(&url, "text/plain", good.clone(), false).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Content-Type",
    )
    .await;
    let resp = client()
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "br")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    expect_refusal(&c, resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Encoding").await;
    expect_refusal(
        &c,
        post(&url, "application/x-protobuf", vec![0u8; 65 * 1024], false).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "limit",
    )
    .await;
    // A gzip bomb: 50 MiB of zeros in a ~50 KiB body, far past the 256 KiB decompressed cap.
    let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024, "bomb body {} bytes", bomb.len());
    expect_refusal(
        &c,
        post(&url, "application/x-protobuf", bomb, true).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "decompressed",
    )
    .await;
    expect_refusal(
        &c,
        post(&url, "application/x-protobuf", b"not gzip".to_vec(), true).await,
        StatusCode::BAD_REQUEST,
        "gzip",
    )
    .await;
    let wrong_signal = logs(2).encode_to_vec();
    let resp = post(&http_url(&c, "/v1/metrics"), "application/json", wrong_signal, false).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // An empty request is valid OTLP and accepted with nothing in it.
    let resp = post(&url, "application/x-protobuf", Vec::new(), false).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = post(&url, "application/json", b"{}".to_vec(), false).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_protobuf\"}").await, 0.0);

    // Still serving.
    let resp = post(&url, "application/x-protobuf", good, false).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_protobuf\"}").await, 3.0);
    assert!(
        metric(
            &c,
            "seedwatch_receiver_requests_total{transport=\"http_protobuf\",signal=\"traces\",outcome=\"invalid\"}"
        )
        .await
            >= 2.0
    );
    assert_eq!(
        metric(&c, "seedwatch_receiver_requests_total{transport=\"http\",signal=\"traces\",outcome=\"invalid\"}").await,
        1.0
    );
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    c.shutdown().await;
}
