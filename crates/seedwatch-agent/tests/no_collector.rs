//! With no collector listening, instrumented work goes on without errors or blocking, memory
//! stays bounded by the buffer size, and what could not be exported is counted as dropped.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use seedwatch_agent::{Builder, JsonLogs, ToolCall, Workflow};
use serde_json::json;

#[test]
fn everything_is_dropped_and_counted_when_nobody_listens() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let queue = 64;
    let guard = Builder::new()
        .env(move |name| match name {
            "OTEL_BSP_MAX_QUEUE_SIZE" | "OTEL_BLRP_MAX_QUEUE_SIZE" => Some(queue.to_string()),
            "OTEL_EXPORTER_OTLP_TIMEOUT" => Some("500".into()),
            _ => None,
        })
        .endpoint(format!("http://127.0.0.1:{port}"))
        .metric_interval(Duration::from_secs(3600))
        .json_logs(JsonLogs::Off)
        .install()
        .unwrap();
    let workflows = 200;
    for i in 0..workflows {
        let workflow = Workflow::start(format!("wf-{i}"), "model_analysis");
        let _entered = workflow.enter();
        ToolCall::start("run_metabolic_fba").succeed(json!({"objective": 0.5}));
        tracing::info!("done");
        drop(_entered);
        workflow.succeed();
    }
    let during = seedwatch_agent::telemetry_stats();
    assert!(during.spans_in_flight <= queue, "the buffer is bounded: {during:?}");
    let stats = guard.shutdown();
    let spans = workflows * 2;
    assert_eq!(stats.spans_exported, 0);
    assert_eq!(stats.spans_dropped, spans, "every span is accounted for: {stats:?}");
    assert_eq!(stats.logs_exported, 0);
    assert_eq!(stats.logs_dropped, workflows * 2, "one log line and one audit record each: {stats:?}");
    assert!(stats.metric_exports_failed >= 1, "{stats:?}");
    assert_eq!(stats.spans_in_flight + stats.logs_in_flight, 0);
}
