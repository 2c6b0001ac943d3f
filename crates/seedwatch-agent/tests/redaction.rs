//! No secret from a list of realistic samples appears in any exported record: spans, log
//! records, audit and security events, metrics, or the JSON log lines, whichever API it was
//! handed to.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use seedwatch_agent::{Builder, JsonLogs, LlmCall, SecurityAuditor, ToolCall, Workflow};
use serde_json::json;

/// Typed tool inputs, serialised off the calling thread and redacted like JSON ones.
#[derive(serde::Serialize)]
struct TypedInputs {
    model_id: &'static str,
    note: String,
    args: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Sample {
    name: String,
    secret: String,
    text: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sample_secret_is_exported() {
    let samples: Vec<Sample> = serde_json::from_str(include_str!("fixtures/secret_samples.json")).unwrap();
    let capture = common::start().await;
    let json_logs = common::SharedBuf::default();
    let guard = Builder::new()
        .env(|_| None)
        .endpoint(capture.endpoint())
        .metric_interval(Duration::from_secs(3600))
        .json_logs(JsonLogs::Writer(Box::new(json_logs.clone())))
        .log_filter("info")
        .install()
        .unwrap();

    for (i, s) in samples.iter().enumerate() {
        let workflow = Workflow::start(format!("wf-{i}"), "model_analysis");
        let _entered = workflow.enter();
        // Tool inputs and outputs, free text and under innocent keys.
        ToolCall::start("run_metabolic_fba")
            .with_inputs(json!({"note": s.text, "args": [s.text], "config": {"connection": s.text}}))
            .succeed(json!({"log": s.text}));
        ToolCall::start("run_metabolic_fba")
            .with_inputs(TypedInputs { model_id: "iML1515", note: s.text.clone(), args: vec![s.text.clone()] })
            .succeed(vec![s.text.clone()]);
        // A tool error message.
        ToolCall::start("gapfill_model").fail("AuthError", format!("upstream said: {}", s.text));
        // Log messages and fields.
        tracing::info!(detail = %s.text, "calling the model store with {}", s.text);
        tracing::warn!(request = ?s.text, "retrying");
        // Security events.
        let auditor = SecurityAuditor::new();
        auditor.sensitive_operation("rotate_credentials", "ops", Some(&json!({"old": s.text})), None);
        auditor.access_attempt("ops", &s.text, "read", false, None);
        // LLM and step failures.
        LlmCall::start("openai", "gpt-4o").fail("auth_error", &s.text);
        workflow.step("load_model").fail("io", &s.text);
        drop(_entered);
        workflow.fail("step_failed", &s.text);
    }
    let stats = tokio::task::spawn_blocking(move || guard.shutdown()).await.unwrap();
    assert_eq!(stats.dropped(), 0);

    let bodies = capture.raw();
    assert!(bodies.len() >= 3, "traces, logs and metrics were exported");
    let exported: Vec<u8> = bodies.concat();
    let lines = json_logs.text();
    assert!(lines.lines().count() >= samples.len() * 6);
    for s in &samples {
        assert!(
            !exported.windows(s.secret.len()).any(|w| w == s.secret.as_bytes()),
            "{}: the secret was exported over OTLP",
            s.name
        );
        assert!(!lines.contains(&s.secret), "{}: the secret was written to the JSON log", s.name);
    }
    // The context survived: redaction replaced secrets, not whole records.
    assert!(lines.contains("[REDACTED]") && lines.contains("calling the model store with"));
    assert!(lines.contains(r#"\"model_id\":\"iML1515\""#), "typed inputs were serialised into the audit record");
}
