//! The `otlp` exporter against a scripted fake OTLP/HTTP backend (named as such: it fails on
//! purpose, which the real peers in the end-to-end tests cannot): retryable answers are
//! retried until delivered, permanent ones are counted and not retried, and a backend that is
//! down does not make the collector unready.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

#[derive(Clone)]
struct Fake {
    /// Answers to give, in order; then 200.
    script: Arc<Mutex<Vec<StatusCode>>>,
    /// Spans in every request, whatever the answer.
    requests: Arc<Mutex<Vec<usize>>>,
    /// The `authorization` header of the last request.
    auth: Arc<Mutex<Option<String>>>,
}

async fn traces(State(fake): State<Fake>, headers: axum::http::HeaderMap, body: Bytes) -> StatusCode {
    *fake.auth.lock().unwrap() = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let spans = ExportTraceServiceRequest::decode(body)
        .map(|r| r.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum())
        .unwrap_or(0);
    fake.requests.lock().unwrap().push(spans);
    let mut script = fake.script.lock().unwrap();
    if script.is_empty() { StatusCode::OK } else { script.remove(0) }
}

async fn fake_backend(script: Vec<StatusCode>) -> (String, Fake) {
    let fake = Fake { script: Arc::new(Mutex::new(script)), requests: Arc::default(), auth: Arc::default() };
    let app = Router::new().route("/v1/traces", post(traces)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, fake)
}

async fn forwarder(url: &str) -> seedwatch_collector::app::RunningCollector {
    let c = start(&format!(
        "exporters:\n  otlp/fake:\n    endpoint: '{url}'\n    protocol: http/protobuf\n    headers: {{authorization: 'Bearer t0ken'}}\n    retry: {{initial_interval: 10ms, max_interval: 50ms, max_elapsed_time: 5s}}\n"
    ))
    .await;
    wait_ready(&c).await;
    c
}

#[tokio::test]
async fn retryable_answers_are_retried_until_the_batch_is_delivered_once() {
    let (url, fake) = fake_backend(vec![StatusCode::SERVICE_UNAVAILABLE, StatusCode::TOO_MANY_REQUESTS]).await;
    let c = forwarder(&url).await;
    post_traces(&c, 5, 7).await;
    let sent = wait_for_metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"otlp/fake\"}", 5.0).await;
    assert_eq!(sent, 5.0);
    assert_eq!(*fake.requests.lock().unwrap(), [5, 5, 5], "two refusals, then delivered once");
    assert_eq!(fake.auth.lock().unwrap().as_deref(), Some("Bearer t0ken"));
    c.shutdown().await;
}

#[tokio::test]
async fn permanent_answers_are_counted_and_not_retried() {
    let (url, fake) = fake_backend(vec![StatusCode::BAD_REQUEST]).await;
    let c = forwarder(&url).await;
    post_traces(&c, 3, 7).await;
    let failed = wait_for_metric(&c, "seedwatch_exporter_send_failed_spans_total{exporter=\"otlp/fake\"}", 3.0).await;
    assert_eq!(failed, 3.0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*fake.requests.lock().unwrap(), [3], "a 400 is not retried");
    c.shutdown().await;
}

#[tokio::test]
async fn a_backend_that_is_down_leaves_the_collector_ready_and_gets_the_data_when_it_returns() {
    // Reserve a port, then free it: nothing listens there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let c = forwarder(&format!("http://127.0.0.1:{port}")).await;
    let ready = client().get(admin_url(&c, "/health/ready")).send().await.unwrap().status();
    assert_eq!(ready, 200, "a down backend is not a reason to stop taking data");
    post_traces(&c, 4, 7).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The backend comes up on that port.
    let fake = Fake { script: Arc::default(), requests: Arc::default(), auth: Arc::default() };
    let app = Router::new().route("/v1/traces", post(traces)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sent = wait_for_metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"otlp/fake\"}", 4.0).await;
    assert_eq!(sent, 4.0);
    assert_eq!(*fake.requests.lock().unwrap(), [4]);
    c.shutdown().await;
}
