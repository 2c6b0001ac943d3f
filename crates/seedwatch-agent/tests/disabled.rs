//! `OTEL_SDK_DISABLED=true`: instrumentation keeps working as a no-op, nothing is exported,
//! and the JSON log lines are still written.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use seedwatch_agent::{Builder, JsonLogs, ToolCall, Workflow};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_sdk_exports_nothing_but_still_logs() {
    let capture = common::start().await;
    let json_logs = common::SharedBuf::default();
    let endpoint = capture.endpoint();
    let guard = Builder::new()
        .env(move |name| match name {
            "OTEL_SDK_DISABLED" => Some("true".into()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
            _ => None,
        })
        .metric_interval(Duration::from_millis(50))
        .json_logs(JsonLogs::Writer(Box::new(json_logs.clone())))
        .install()
        .unwrap();
    let workflow = Workflow::start("wf-1", "model_analysis");
    ToolCall::start_in("run_metabolic_fba", workflow.context()).succeed(json!({}));
    tracing::info!("still logged");
    workflow.succeed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = tokio::task::spawn_blocking(move || guard.shutdown()).await.unwrap();
    assert_eq!(stats, seedwatch_agent::TelemetryStats::default());
    assert!(capture.raw().is_empty(), "nothing may be exported");
    let text = json_logs.text();
    assert!(text.contains("still logged") && text.contains("audit.tool_execution"), "{text}");
}
