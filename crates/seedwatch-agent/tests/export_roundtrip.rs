//! Everything the crate records reaches an OTLP/HTTP backend in the shape the GenAI
//! conventions and the seedwatch collector expect. One test per file: `init` is per process.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use seedwatch_agent::{ApiKeyRef, Builder, JsonLogs, LlmCall, SecurityAuditor, ToolCall, Usage, Workflow};
use seedwatch_semconv::pricing::PricingTable;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
#[error("solver gave up")]
struct SolverError;

#[seedwatch_agent::tool(name = "find_minimal_media")]
async fn minimal_media(fail: bool) -> Result<u32, SolverError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    if fail { Err(SolverError) } else { Ok(4) }
}

#[seedwatch_agent::tool]
fn count_reactions(n: usize) -> usize {
    n * 2
}

#[seedwatch_agent::timed("model_analysis")]
fn analyse() -> u32 {
    7
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Any> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn string<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr(attrs, key)? {
        Any::StringValue(s) => Some(s),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_metrics_and_logs_reach_the_backend_in_shape() {
    let capture = common::start().await;
    let json_logs = common::SharedBuf::default();
    let guard = Builder::new()
        .env(|_| None)
        .endpoint(capture.endpoint())
        .service_name("test-agent")
        .metric_interval(Duration::from_secs(3600))
        .json_logs(JsonLogs::Writer(Box::new(json_logs.clone())))
        .log_filter("info")
        .install()
        .unwrap();

    let workflow = Workflow::start("wf-1", "model_analysis");
    let cost = workflow
        .run(async {
            tracing::info!(objective = 0.87, "inside workflow");
            let fba =
                ToolCall::start("run_metabolic_fba").with_call_id("call-1").with_inputs(json!({"model": "iML1515"}));
            fba.run(async { tracing::info!("inside tool") }).await;
            fba.succeed(json!({"objective": 0.87}));
            let failed: Result<u32, std::io::Error> =
                seedwatch_agent::tool("gapfill_model", json!({"media": "glucose"}), async {
                    Err(std::io::Error::other("no solution"))
                })
                .await;
            assert!(failed.is_err());
            assert_eq!(minimal_media(false).await.unwrap(), 4);
            assert!(minimal_media(true).await.is_err());
            assert_eq!(count_reactions(3), 6);
            assert_eq!(analyse(), 7);
            let mut llm = LlmCall::start("openai", "gpt-4o");
            llm.response_model("gpt-4o-2024-08-06");
            llm.record_usage(Usage { input: 1000, output: 500, cache_read: 200, ..Usage::default() });
            llm.succeed()
        })
        .await;
    drop(workflow.step("load_model"));
    SecurityAuditor::new().api_key_usage(
        &ApiKeyRef::fingerprint("sk-proj-test-key-0123456789abcdefghij"),
        "openai",
        true,
        Some([10, 0, 0, 7].into()),
    );
    workflow.succeed();
    drop(Workflow::start("wf-2", "gapfilling"));
    let stats = tokio::task::spawn_blocking(move || guard.shutdown()).await.unwrap();

    // Cost comes from the same table the collector prices with.
    let price = PricingTable::embedded().unwrap().lookup("openai", "gpt-4o-2024-08-06").unwrap();
    let expected = price.cost(&Usage { input: 1000, output: 500, cache_read: 200, ..Usage::default() });
    assert_eq!(cost, Some(expected));

    // Traces.
    let traces = capture.traces();
    let resource = traces[0].resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(string(&resource.attributes, "service.name"), Some("test-agent"));
    assert!(attr(&resource.attributes, "process.pid").is_some());
    let spans: HashMap<String, _> = traces
        .iter()
        .flat_map(|t| &t.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    let root = &spans["invoke_workflow model_analysis"];
    assert!(root.parent_span_id.is_empty());
    assert_eq!(string(&root.attributes, "gen_ai.operation.name"), Some("invoke_workflow"));
    assert_eq!(string(&root.attributes, "gen_ai.workflow.name"), Some("model_analysis"));
    assert_eq!(string(&root.attributes, "seedwatch.workflow.id"), Some("wf-1"));
    for name in [
        "execute_tool run_metabolic_fba",
        "execute_tool gapfill_model",
        "execute_tool find_minimal_media",
        "chat gpt-4o",
        "load_model",
        "execute_tool count_reactions",
    ] {
        let span = spans.get(name).unwrap_or_else(|| panic!("no span {name}: {:?}", spans.keys()));
        assert_eq!(span.parent_span_id, root.span_id, "{name} is not a child of the workflow");
        assert_eq!(span.trace_id, root.trace_id);
    }
    let fba = &spans["execute_tool run_metabolic_fba"];
    assert_eq!(string(&fba.attributes, "gen_ai.tool.name"), Some("run_metabolic_fba"));
    assert_eq!(string(&fba.attributes, "gen_ai.tool.call.id"), Some("call-1"));
    let gapfill = &spans["execute_tool gapfill_model"];
    assert_eq!(gapfill.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert_eq!(string(&gapfill.attributes, "error.type"), Some("Error"));
    let media = &spans["execute_tool find_minimal_media"];
    assert_eq!(media.status.as_ref().map(|s| s.code), Some(StatusCode::Error as i32), "the last call failed");
    assert_eq!(string(&media.attributes, "error.type"), Some("SolverError"));
    let chat = &spans["chat gpt-4o"];
    assert_eq!(chat.kind, SpanKind::Client as i32);
    assert_eq!(string(&chat.attributes, "gen_ai.provider.name"), Some("openai"));
    assert_eq!(string(&chat.attributes, "gen_ai.response.model"), Some("gpt-4o-2024-08-06"));
    assert_eq!(attr(&chat.attributes, "gen_ai.usage.input_tokens"), Some(&Any::IntValue(1000)));
    assert_eq!(attr(&chat.attributes, "gen_ai.usage.cache_read.input_tokens"), Some(&Any::IntValue(200)));
    assert_eq!(attr(&chat.attributes, "seedwatch.llm.cost_usd"), Some(&Any::DoubleValue(expected)));
    assert!(spans.contains_key("model_analysis"), "the #[timed] span");
    let abandoned = &spans["invoke_workflow gapfilling"];
    assert_eq!(abandoned.status.as_ref().map(|s| s.code), Some(StatusCode::Error as i32));
    assert_eq!(string(&abandoned.attributes, "error.type"), Some("abandoned"));
    assert_eq!(stats.spans_dropped, 0);
    assert_eq!(stats.spans_exported as usize, spans.len() + 1, "find_minimal_media ran twice");

    // Logs: audit and security events on their loggers, application logs with trace context.
    let mut records = Vec::new();
    for req in capture.logs() {
        for rl in req.resource_logs {
            for sl in rl.scope_logs {
                let scope = sl.scope.map(|s| s.name).unwrap_or_default();
                for r in sl.log_records {
                    records.push((scope.clone(), r));
                }
            }
        }
    }
    let audits: Vec<_> =
        records.iter().filter(|(s, r)| s == "seedwatch.audit" && r.event_name == "audit.tool_execution").collect();
    assert_eq!(audits.len(), 5, "one audit record per tool execution");
    let fba_audit =
        audits.iter().find(|(_, r)| string(&r.attributes, "tool_name") == Some("run_metabolic_fba")).unwrap();
    assert_eq!(string(&fba_audit.1.attributes, "inputs"), Some(r#"{"model":"iML1515"}"#));
    assert_eq!(string(&fba_audit.1.attributes, "outputs"), Some(r#"{"objective":0.87}"#));
    assert_eq!(attr(&fba_audit.1.attributes, "success"), Some(&Any::BoolValue(true)));
    assert_eq!(fba_audit.1.span_id, fba.span_id, "the audit record points at the tool's span");
    // Made on the deferred worker, dated and placed where the call ended.
    assert_eq!(fba_audit.1.time_unix_nano, fba.end_time_unix_nano, "dated when the call ended");
    assert_eq!(string(&fba_audit.1.attributes, "thread.name"), std::thread::current().name(), "the caller's thread");
    assert_eq!(string(&fba_audit.1.attributes, "workflow_id"), Some("wf-1"), "the caller's scope");
    let security =
        records.iter().find(|(s, r)| s == "modelseed.security" && r.event_name == "security.api_key_usage").unwrap();
    assert!(string(&security.1.attributes, "api_key_id").unwrap().starts_with("sha256:"));
    assert_eq!(string(&security.1.attributes, "client.address"), Some("10.0.0.7"));
    let inside_tool = records
        .iter()
        .find(|(_, r)| matches!(r.body.as_ref().and_then(|b| b.value.as_ref()), Some(Any::StringValue(s)) if s == "inside tool"))
        .unwrap();
    assert_eq!(string(&inside_tool.1.attributes, "tool_name"), Some("run_metabolic_fba"));
    assert_eq!(string(&inside_tool.1.attributes, "workflow_id"), Some("wf-1"));
    assert_eq!(inside_tool.1.trace_id, root.trace_id);
    assert!(attr(&inside_tool.1.attributes, "code.line.number").is_some());
    assert_eq!(stats.logs_dropped, 0);

    // Metrics.
    let mut metrics: HashMap<String, Vec<f64>> = HashMap::new();
    for req in capture.metrics() {
        for rm in req.resource_metrics {
            for sm in rm.scope_metrics {
                for m in sm.metrics {
                    let values: Vec<f64> = match m.data {
                        Some(Data::Sum(s)) => s.data_points.iter().filter_map(|p| p.value).map(number).collect(),
                        Some(Data::Gauge(g)) => g.data_points.iter().filter_map(|p| p.value).map(number).collect(),
                        Some(Data::Histogram(h)) => h.data_points.iter().map(|p| p.count as f64).collect(),
                        _ => Vec::new(),
                    };
                    metrics.entry(m.name).or_default().extend(values);
                }
            }
        }
    }
    let total = |name: &str| {
        metrics.get(name).map(|v| v.iter().sum::<f64>()).unwrap_or_else(|| panic!("no {name}: {:?}", metrics.keys()))
    };
    assert_eq!(total("modelseed.tool.executions"), 5.0);
    assert_eq!(total("modelseed.tool.errors"), 2.0);
    assert_eq!(total("modelseed.tool.duration"), 5.0);
    assert_eq!(total("modelseed.llm.requests"), 1.0);
    assert_eq!(total("gen_ai.client.token.usage"), 2.0, "an input and an output point");
    assert_eq!(total("gen_ai.client.operation.duration"), 1.0);
    assert!((total("modelseed.llm.cost") - expected).abs() < 1e-12);
    assert_eq!(total("modelseed.active_analyses"), 0.0, "the workflow ended");
    assert_eq!(total("modelseed.workflow.duration"), 2.0, "the abandoned one counts too");
    assert_eq!(total("modelseed.operation.duration"), 1.0);
    assert!(total("process.memory.usage") > 1e6);
    assert!(metrics.contains_key("process.cpu.utilization") && metrics.contains_key("system.memory.utilization"));

    // JSON lines on the log writer.
    let text = json_logs.text();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let line = lines.iter().find(|l| l["message"] == "inside tool").unwrap();
    assert_eq!(line["tool_name"], "run_metabolic_fba");
    assert_eq!(line["workflow_id"], "wf-1");
    assert_eq!(line["trace_id"].as_str().unwrap(), hex(&root.trace_id));
    let audit_lines: Vec<_> = lines
        .iter()
        .filter(|l| l["logger"] == "seedwatch.audit" && l["event.name"] == "audit.tool_execution")
        .collect();
    assert_eq!(audit_lines.len(), 5);
    let fba_line = audit_lines.iter().find(|l| l["tool_name"] == "run_metabolic_fba").unwrap();
    assert_eq!(fba_line["thread"].as_str(), std::thread::current().name());
    assert_eq!(fba_line["workflow_id"], "wf-1");
    assert_eq!(fba_line["span_id"].as_str().unwrap(), hex(&fba.span_id));
}

fn number(v: Number) -> f64 {
    match v {
        Number::AsDouble(d) => d,
        Number::AsInt(i) => i as f64,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
