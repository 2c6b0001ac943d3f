//! Graceful shutdown: readiness drops at once, queued data drains to the exporters, and a
//! deadline bounds the wait.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use prost::Message;
use seedwatch_collector::pipeline::DrainOutcome;

async fn send_spans(c: &seedwatch_collector::app::RunningCollector, requests: u64) -> u64 {
    let mut accepted = 0;
    for seed in 0..requests {
        let resp = client()
            .post(http_url(c, "/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(traces(10, seed).encode_to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        accepted += 10;
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_refuses_readiness_and_drains_everything_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, go, reader) = slow_fifo(&dir);
    let c = start(&format!("exporters:\n  file: {{path: '{}'}}\n", fifo.display())).await;
    wait_ready(&c).await;
    // More than the 64 KiB pipe buffer holds, so the exporter is blocked when shutdown starts.
    let accepted = send_spans(&c, 60).await;
    let admin = admin_url(&c, "/health/ready");
    let token = c.shutdown_token();
    token.cancel();
    let mut saw_not_ready = false;
    for _ in 0..50 {
        let resp = client().get(&admin).send().await.unwrap();
        if resp.status() == 503 {
            assert!(resp.text().await.unwrap().contains("shutting down"));
            saw_not_ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_not_ready, "readiness turned 503 while draining");
    go.send(()).unwrap();
    assert_eq!(c.wait().await, DrainOutcome::Drained);
    let written = reader.join().unwrap();
    let spans: usize = written
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(spans as u64, accepted, "everything accepted before the signal was exported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_deadline_bounds_the_wait_and_reports_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, go, reader) = slow_fifo(&dir);
    let c = start(&format!("exporters:\n  file: {{path: '{}'}}\nservice: {{shutdown_timeout: 1s}}\n", fifo.display()))
        .await;
    wait_ready(&c).await;
    send_spans(&c, 60).await;
    let started = std::time::Instant::now();
    let outcome = c.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5), "the deadline bounds shutdown");
    match outcome {
        DrainOutcome::DeadlineExceeded { items_left } => assert!(items_left > 0),
        other => panic!("expected the deadline to pass, got {other:?}"),
    }
    drop(go);
    let _ = reader.join();
}
