use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::Value;

use super::config::{ElasticsearchConfig, MappingMode};
use super::documents::{Doc, Documents};
use super::*;
use crate::pipeline::{Batch, Payload, Transport};

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

fn config(mapping: &str) -> ElasticsearchConfig {
    let yaml = format!("endpoint: http://es:9200\nmapping: {mapping}\n");
    serde_norway::from_str(&yaml).expect("config")
}

/// 2026-11-24T10:00:00Z
const T: u64 = 1_795_514_400_000_000_000;

/// A record as the Python SDK's logging handler sends the guide's structured log.
fn guide_log(scope: &str, extra: Vec<KeyValue>) -> Batch {
    let mut attributes = vec![
        kv("code.file.path", s("/app/modelseed/tools/fba.py")),
        kv("code.function.name", s("run_fba")),
        kv("code.line.number", any_value::Value::IntValue(42)),
        kv("thread.name", s("MainThread")),
        kv("thread.id", any_value::Value::IntValue(140_000)),
        kv("tool_name", s("run_metabolic_fba")),
        kv("workflow_id", s("wf-1")),
    ];
    attributes.extend(extra);
    let record = LogRecord {
        time_unix_nano: T,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(AnyValue { value: Some(s("FBA finished")) }),
        attributes,
        trace_id: vec![0xAB; 16],
        span_id: vec![0xCD; 8],
        ..Default::default()
    };
    let resource = Resource {
        attributes: vec![kv("service.name", s("modelseed-agent")), kv("process.pid", any_value::Value::IntValue(77))],
        ..Default::default()
    };
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: scope.into(), ..Default::default() }),
                log_records: vec![record],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Batch::new(Payload::Logs(req), Transport::Grpc)
}

fn docs(config: &ElasticsearchConfig, batch: &Batch) -> Vec<Doc> {
    let mut out = Vec::new();
    Documents::new(config).of_batch(batch, &mut out);
    out
}

fn source(doc: &Doc) -> Value {
    serde_json::from_slice(&doc.source).expect("json")
}

#[test]
fn ecs_keeps_every_field_of_the_guides_structured_log() {
    let doc = &docs(&config("ecs"), &guide_log("modelseed", vec![]))[0];
    assert_eq!(doc.index, "modelseed-logs-2026.11.24");
    let v = source(doc);
    assert_eq!(v["@timestamp"], "2026-11-24T10:00:00Z");
    assert_eq!(v["log"]["level"], "INFO");
    assert_eq!(v["log"]["logger"], "modelseed");
    assert_eq!(v["message"], "FBA finished");
    assert_eq!(v["log"]["origin"]["file"]["name"], "fba.py", "module");
    assert_eq!(v["log"]["origin"]["function"], "run_fba");
    assert_eq!(v["log"]["origin"]["file"]["line"], 42);
    assert_eq!(v["process"]["thread"]["name"], "MainThread");
    assert_eq!(v["process"]["pid"], 77);
    assert_eq!(v["labels"]["tool_name"], "run_metabolic_fba");
    assert_eq!(v["labels"]["workflow_id"], "wf-1");
    assert_eq!(v["trace"]["id"], "ab".repeat(16));
    assert_eq!(v["span"]["id"], "cd".repeat(8));
    assert_eq!(v["service"]["name"], "modelseed-agent");
}

#[test]
fn raw_keeps_the_otel_names() {
    let doc = &docs(&config("raw"), &guide_log("modelseed", vec![]))[0];
    let v = source(doc);
    assert_eq!(v["severity_text"], "INFO");
    assert_eq!(v["body"], "FBA finished");
    assert_eq!(v["attributes"]["tool_name"], "run_metabolic_fba");
    assert_eq!(v["attributes"]["code.function.name"], "run_fba");
    assert_eq!(v["resource"]["attributes"]["service.name"], "modelseed-agent");
    assert_eq!(v["scope"]["name"], "modelseed");
    assert_eq!(v["trace_id"], "ab".repeat(16));
}

#[test]
fn records_are_routed_by_kind_and_ids_are_stable() {
    let cfg = config("ecs");
    let audit = docs(&cfg, &guide_log("modelseed.security", vec![]));
    assert!(audit[0].index.starts_with("modelseed-audit-"), "{}", audit[0].index);
    let event = docs(&cfg, &guide_log("app", vec![kv("event.name", s("security.api_key_usage"))]));
    assert!(event[0].index.starts_with("modelseed-audit-"));
    let alert = docs(&cfg, &guide_log("seedwatch.alerting", vec![kv("event.name", s("seedwatch.alert"))]));
    assert!(alert[0].index.starts_with("modelseed-alerts-"));
    let summary = guide_log(
        "seedwatch.workflow",
        vec![
            kv("event.name", s("seedwatch.workflow.summary")),
            kv("workflow.id", s("wf-1")),
            kv("workflow.cost_usd", any_value::Value::DoubleValue(0.25)),
            kv("workflow.tokens.input", any_value::Value::IntValue(1200)),
        ],
    );
    let wf = &docs(&cfg, &summary)[0];
    assert!(wf.index.starts_with("modelseed-workflows-"));
    assert_eq!(wf.id, format!("wf-{}", "ab".repeat(16)), "one document per workflow");
    let v = source(wf);
    assert_eq!(v["workflow"]["cost_usd"], 0.25);
    assert_eq!(v["workflow"]["tokens"]["input"], 1200);
    assert_eq!(v["trace"]["id"], "ab".repeat(16));

    let again = docs(&cfg, &guide_log("modelseed", vec![]));
    let first = docs(&cfg, &guide_log("modelseed", vec![]));
    assert_eq!(again[0].id, first[0].id, "the same record gets the same id, so a replay overwrites");
    let other = docs(&cfg, &guide_log("modelseed", vec![kv("n", any_value::Value::IntValue(2))]));
    assert_ne!(other[0].id, first[0].id);
    let uid = docs(&cfg, &guide_log("modelseed", vec![kv("log.record.uid", s("01J-UID"))]));
    assert_eq!(uid[0].id, "01J-UID");
}

#[test]
fn bulk_items_are_classified_by_status() {
    let answer: bulk::Response = serde_json::from_str(
        r#"{"errors":true,"items":[
            {"index":{"status":201}},
            {"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},
            {"index":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad"}}},
            {"index":{"status":503}}]}"#,
    )
    .expect("answer");
    let outcomes = bulk::outcomes(&answer, Op::Index, 4).expect("matches");
    assert_eq!(outcomes[0], Outcome::Stored);
    assert!(matches!(outcomes[1], Outcome::Retry(ref why) if why.contains("busy")));
    assert!(matches!(outcomes[2], Outcome::Refused(400, _)));
    assert!(matches!(outcomes[3], Outcome::Retry(_)));
    assert!(bulk::outcomes(&answer, Op::Index, 5).is_none(), "a short answer is not trusted");
    let conflict: bulk::Response = serde_json::from_str(r#"{"items":[{"create":{"status":409}}]}"#).expect("answer");
    assert_eq!(bulk::outcomes(&conflict, Op::Create, 1).expect("matches")[0], Outcome::Stored);
    assert!(matches!(bulk::outcomes(&conflict, Op::Index, 1).expect("matches")[0], Outcome::Refused(409, _)));
}

#[test]
fn requests_are_split_by_count_and_bytes() {
    let doc = |n: usize| Doc { signal: Signal::Logs, index: "i".into(), id: n.to_string(), source: vec![b'x'; 100] };
    let sizes = |c: &[Vec<Doc>]| c.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(sizes(&chunks((0..10).map(doc).collect(), 4, 1 << 20)), [4, 4, 2]);
    let per = bulk::size(&doc(0));
    assert_eq!(sizes(&chunks((0..10).map(doc).collect(), 100, per * 3)), [3, 3, 3, 1]);
    assert_eq!(sizes(&chunks(vec![doc(0)], 100, 10)), [1], "an oversized document still goes alone");
}

#[test]
fn mapping_modes_parse_and_bad_names_are_refused() {
    assert_eq!(config("raw").mapping, MappingMode::Raw);
    let bad: ElasticsearchConfig =
        serde_norway::from_str("endpoint: http://es:9200\nindices: {logs: Modelseed-Logs}\n").expect("parses");
    let mut problems = Vec::new();
    crate::config::Validate::validate(&bad, &mut problems);
    assert_eq!(problems.len(), 1, "{problems:?}");
}
