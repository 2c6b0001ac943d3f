//! Credentials at the OTLP doors of a real collector: basic auth with bcrypt hashes over HTTP
//! and gRPC, a credentials file replaced while running (new tokens in force, old ones out, a
//! broken file reported and ignored), and a listener that opts out of auth.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use common::{admin_url, client, grpc_url, http_url, metric, start_with, traces, wait_for_metric};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;

/// A collector on port 0 with this `security` section; its admin port opts out of auth, so
/// `/metrics` answers the helpers without a credential.
async fn start(security: &str) -> seedwatch_collector::app::RunningCollector {
    start_with(&format!(
        "receivers:\n  otlp:\n    grpc: {{endpoint: '127.0.0.1:0'}}\n    http: {{endpoint: '127.0.0.1:0'}}\n\
         admin: {{endpoint: '127.0.0.1:0', auth: false}}\nsecurity: {security}\n"
    ))
    .await
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

async fn post(c: &seedwatch_collector::app::RunningCollector, authorization: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .post(http_url(c, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(traces(3, fastrand::u64(..)).encode_to_vec());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn basic_auth_with_a_bcrypt_hash_guards_http_and_grpc() {
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    let c = start(&format!(
        "{{auth: {{credentials: {{basic: [{{name: pipeline, username: etl, password_hash: '{hash}', roles: [write]}}]}}}}}}"
    ))
    .await;
    assert_eq!(post(&c, Some(&basic("etl", "correct horse"))).await.status(), 200);
    let refused = post(&c, Some(&basic("etl", "wrong horse"))).await;
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("Basic") && challenge.contains("Bearer"), "{challenge}");
    assert_eq!(post(&c, None).await.status(), 401);

    let mut grpc = TraceServiceClient::connect(grpc_url(&c)).await.unwrap();
    let mut request = tonic::Request::new(traces(2, 7));
    request.metadata_mut().insert("authorization", basic("etl", "correct horse").parse().unwrap());
    grpc.export(request).await.unwrap();
    let status = grpc.export(tonic::Request::new(traces(2, 8))).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);

    assert_eq!(metric(&c, r#"seedwatch_receiver_accepted_spans_total{transport="http_protobuf"}"#).await, 3.0);
    assert_eq!(metric(&c, r#"seedwatch_receiver_accepted_spans_total{transport="grpc"}"#).await, 2.0);
    assert_eq!(
        metric(&c, r#"seedwatch_receiver_auth_failures_total{receiver="otlp/http",reason="invalid"}"#).await,
        1.0
    );
    assert_eq!(
        metric(&c, r#"seedwatch_receiver_auth_failures_total{receiver="otlp/http",reason="missing"}"#).await,
        1.0
    );
    assert_eq!(
        metric(&c, r#"seedwatch_receiver_auth_failures_total{receiver="otlp/grpc",reason="missing"}"#).await,
        1.0
    );
    // The admin port opted out: it answers without a credential.
    assert_eq!(client().get(admin_url(&c, "/health/detailed")).send().await.unwrap().status(), 200);
    c.shutdown().await;
}

#[tokio::test]
async fn a_replaced_credentials_file_is_in_force_without_a_restart_and_a_broken_one_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials.yaml");
    let write = |token: &str| {
        std::fs::write(&file, format!("tokens: [{{name: agent, token: {token}, roles: [write]}}]\n")).unwrap();
    };
    write("first-token-0123456789");
    let c = start(&format!("{{auth: {{credentials_file: '{}'}}, reload_interval: 100ms}}", file.display())).await;
    assert_eq!(post(&c, Some("Bearer first-token-0123456789")).await.status(), 200);

    write("second-token-0123456789");
    let applied = r#"seedwatch_security_reloads_total{file="credentials",outcome="applied"}"#;
    assert_eq!(wait_for_metric(&c, applied, 1.0).await, 1.0);
    assert_eq!(post(&c, Some("Bearer first-token-0123456789")).await.status(), 401);
    assert_eq!(post(&c, Some("Bearer second-token-0123456789")).await.status(), 200);

    std::fs::write(&file, "tokens: [{name: agent, token: short, roles: [write]}]\n").unwrap();
    let failed = r#"seedwatch_security_reloads_total{file="credentials",outcome="failed"}"#;
    assert_eq!(wait_for_metric(&c, failed, 1.0).await, 1.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Reported once, not on every look at the unchanged file.
    assert_eq!(metric(&c, failed).await, 1.0);
    assert_eq!(post(&c, Some("Bearer second-token-0123456789")).await.status(), 200);
    c.shutdown().await;
}

#[tokio::test]
async fn a_body_counted_by_the_byte_limit_still_gets_the_slow_body_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The byte limit wraps the request body once more; a body cut for being slow must still be
    // answered 408, not taken for a malformed request.
    let c = start_with(
        "receivers:\n  otlp:\n    grpc: {endpoint: '127.0.0.1:0'}\n    \
         http: {endpoint: '127.0.0.1:0', connections: {body_read_timeout: 2s, min_body_rate: 1MiB}}\n\
         admin: {endpoint: '127.0.0.1:0'}\nsecurity: {rate_limits: {per_address: {bytes_per_second: 100MiB}}}\n",
    )
    .await;
    let body = traces(3, 1).encode_to_vec();
    let mut slow = tokio::net::TcpStream::connect(c.http_addr.unwrap()).await.unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: seedwatch\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body[..body.len() / 2]).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    c.shutdown().await;
}
