//! Per-agent health through a running collector: an agent that sends, falls silent and comes
//! back is healthy, then down within `down_after`, then healthy again — on `/api/v1/agents`, on
//! `/metrics`, and as state-change log records written by an exporter.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use prost::Message;
use seedwatch_collector::agents::AgentPage;

async fn send_traces(c: &seedwatch_collector::app::RunningCollector, seed: u64) {
    let resp = client()
        .post(http_url(c, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(traces(3, seed).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn agents(c: &seedwatch_collector::app::RunningCollector) -> AgentPage {
    client().get(admin_url(c, "/api/v1/agents")).send().await.unwrap().json().await.unwrap()
}

/// Polls until the only agent is in `state`; returns how long that took.
async fn wait_for_state(c: &seedwatch_collector::app::RunningCollector, state: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let report = agents(c).await;
        let now = report.agents.first().map(|a| a.state.as_str().to_owned());
        if now.as_deref() == Some(state) {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "agent not {state} after {limit:?}: {report:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_silent_agent_goes_down_within_the_window_and_recovers_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("logs.jsonl");
    let c = start(&format!(
        "processors:\n  agent_metrics: {{health: {{down_after: 2s}}}}\nexporters:\n  file: {{path: '{}', signals: [logs]}}\n",
        out.display()
    ))
    .await;
    wait_ready(&c).await;

    send_traces(&c, 1).await;
    wait_for_state(&c, "healthy", Duration::from_secs(5)).await;
    let report = agents(&c).await;
    assert_eq!((report.agents[0].service.as_str(), report.agents[0].instance.as_str()), ("modelseed-agent", "unknown"));
    assert!(report.agents[0].tool_call_rate > 0.0, "{report:?}");

    // Silence: down after 2 s (ticks are 1 s apart, so within 2-4 s).
    let took = wait_for_state(&c, "down", Duration::from_secs(6)).await;
    assert!(took >= Duration::from_millis(1000), "down too early: {took:?}");
    assert_eq!(metric(&c, "modelseed_agent_up{service=\"modelseed-agent\",instance=\"unknown\"}").await, 0.0);
    assert_eq!(
        metric(&c, "modelseed_agent_health_state{service=\"modelseed-agent\",instance=\"unknown\",state=\"down\"}")
            .await,
        1.0
    );

    send_traces(&c, 2).await;
    wait_for_state(&c, "healthy", Duration::from_secs(3)).await;
    assert_eq!(metric(&c, "modelseed_agent_up{service=\"modelseed-agent\",instance=\"unknown\"}").await, 1.0);
    let detailed: serde_json::Value =
        client().get(admin_url(&c, "/health/detailed")).send().await.unwrap().json().await.unwrap();
    assert_eq!(detailed["agents"]["healthy"], 1, "{detailed}");

    c.shutdown().await;
    let written = std::fs::read_to_string(&out).unwrap();
    let changes: Vec<&str> = written.lines().filter(|l| l.contains("seedwatch.agent.health_changed")).collect();
    assert_eq!(changes.len(), 2, "healthy→down and down→healthy: {written}");
    assert!(changes[0].contains("\"down\"") && changes[1].contains("\"healthy\""), "{changes:?}");
}
