use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::Value;

use super::bulk::Op;
use super::config::{ElasticsearchConfig, MappingMode};
use super::documents::{DocBuffer, DocMeta, Documents};
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
    Batch::new(Payload::Logs(req.into()), Transport::Grpc)
}

/// A written document, read back.
struct Doc {
    index: String,
    id: String,
    source: Value,
}

fn docs(config: &ElasticsearchConfig, batch: &Batch) -> Vec<Doc> {
    let mut out = DocBuffer::default();
    assert_eq!(Documents::new(config).of_batch(batch, &mut out), 0, "every record readable");
    let lines: Vec<&[u8]> = out.bytes.split(|b| *b == b'\n').collect();
    assert_eq!(lines.len(), 2 * out.docs.len() + 1, "two lines per document");
    (0..out.docs.len())
        .map(|i| {
            let action: Value = serde_json::from_slice(out.action(i)).expect("action json");
            let meta = action.as_object().and_then(|o| o.values().next()).expect("one action").clone();
            let str_of = |v: &Value| v.as_str().expect("string").to_owned();
            Doc {
                index: str_of(&meta["_index"]),
                id: str_of(&meta["_id"]),
                source: serde_json::from_slice(out.source(i)).expect("source json"),
            }
        })
        .collect()
}

fn source(doc: &Doc) -> Value {
    doc.source.clone()
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
    let answer = br#"{"errors":true,"items":[
            {"index":{"status":201}},
            {"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},
            {"index":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad"}}},
            {"index":{"status":503}}]}"#;
    let Some(Outcomes::Each(outcomes)) = bulk::outcomes(answer, Op::Index, 4) else { panic!("matches") };
    assert_eq!(outcomes[0], Outcome::Stored);
    assert!(matches!(outcomes[1], Outcome::Retry(ref why) if why.contains("busy")));
    assert!(matches!(outcomes[2], Outcome::Refused(400, _)));
    assert!(matches!(outcomes[3], Outcome::Retry(_)));
    assert!(bulk::outcomes(answer, Op::Index, 5).is_none(), "a short answer is not trusted");
    let conflict = br#"{"items":[{"create":{"status":409}}]}"#;
    assert_eq!(bulk::outcomes(conflict, Op::Create, 1), Some(Outcomes::Each(vec![Outcome::Stored])));
    let Some(Outcomes::Each(index)) = bulk::outcomes(conflict, Op::Index, 1) else { panic!("matches") };
    assert!(matches!(index[0], Outcome::Refused(409, _)));
    let fine = br#"{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":200}}]}"#;
    assert_eq!(bulk::outcomes(fine, Op::Index, 2), Some(Outcomes::AllStored));
    assert_eq!(bulk::outcomes(fine, Op::Index, 3), None, "all stored, but not all listed");
    assert_eq!(bulk::outcomes(b"<html>", Op::Index, 1), None, "unreadable");
}

#[test]
fn requests_are_split_by_count_and_bytes() {
    let metas: Vec<DocMeta> = (0..10)
        .map(|n| DocMeta { signal: Signal::Logs, start: n * 100, source: n * 100 + 40, end: n * 100 + 100 })
        .collect();
    let sizes = |c: Vec<std::ops::Range<usize>>| c.iter().map(|r| r.len()).collect::<Vec<_>>();
    assert_eq!(sizes(chunks(&metas, 4, 1 << 20)), [4, 4, 2]);
    assert_eq!(sizes(chunks(&metas, 100, 300)), [3, 3, 3, 1]);
    assert_eq!(sizes(chunks(&metas[..1], 100, 10)), [1], "an oversized document still goes alone");
    assert_eq!(chunks(&metas, 4, 1 << 20)[1], 4..8);
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

/// An LLM-call span as the loadgen and the Python SDK send them, received as bytes.
fn llm_span_batch(extra: Vec<KeyValue>) -> Batch {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
    use prost::Message;
    let mut attributes = vec![
        kv("gen_ai.request.model", s("gpt-4o")),
        kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(1200)),
        kv("gen_ai.system", s("openai")),
        kv("tool_name", s("run_fba")),
        kv("tool.retries", any_value::Value::IntValue(2)),
        kv("service.version", s("from-span")),
        kv("exception.message", s("boom")),
    ];
    attributes.extend(extra);
    let span = Span {
        trace_id: vec![0xAB; 16],
        span_id: vec![0xCD; 8],
        parent_span_id: vec![0xEF; 8],
        name: "chat gpt-4o".into(),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: T,
        end_time_unix_nano: T + 1_500_000,
        attributes,
        status: Some(Status { code: 2, message: "rate limited".into() }),
        events: vec![span::Event { time_unix_nano: T + 1, name: "retry".into(), ..Default::default() }],
        links: vec![span::Link { trace_id: vec![1; 16], span_id: vec![2; 8], ..Default::default() }],
        ..Default::default()
    };
    let resource = Resource {
        attributes: vec![kv("service.name", s("modelseed-agent")), kv("service.version", s("1.0"))],
        ..Default::default()
    };
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope { name: "modelseed.agent".into(), ..Default::default() }),
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let data = crate::pipeline::TraceData::from_protobuf(bytes::Bytes::from(req.encode_to_vec())).expect("valid");
    Batch::new(Payload::Traces(data), Transport::Grpc)
}

#[test]
fn ecs_spans_nest_fields_and_never_repeat_a_key() {
    let extra = vec![
        // Lands on the same label as `tool_name`: the later one wins, once.
        kv("tool.name", s("later")),
        kv("tags", any_value::Value::ArrayValue(Default::default())),
    ];
    let doc = &docs(&config("ecs"), &llm_span_batch(extra))[0];
    assert_eq!(doc.index, "modelseed-traces-2026.11.24");
    assert_eq!(doc.id, format!("{}{}", "ab".repeat(16), "cd".repeat(8)));
    let v = source(doc);
    assert_eq!(v["@timestamp"], "2026-11-24T10:00:00Z");
    assert_eq!(v["event"]["end"], "2026-11-24T10:00:00.0015Z");
    assert_eq!(v["event"]["duration"], 1_500_000);
    assert_eq!(v["event"]["outcome"], "failure");
    assert_eq!(v["span"]["name"], "chat gpt-4o");
    assert_eq!(v["span"]["kind"], "client");
    assert_eq!(v["parent"]["id"], "ef".repeat(8));
    assert_eq!(v["trace"]["id"], "ab".repeat(16));
    assert_eq!(v["gen_ai"]["request"]["model"], "gpt-4o");
    assert_eq!(v["gen_ai"]["usage"]["input_tokens"], 1200);
    assert_eq!(v["gen_ai"]["system"], "openai");
    assert_eq!(v["service"]["name"], "modelseed-agent");
    assert_eq!(v["service"]["version"], "from-span", "span attributes come after the resource's");
    assert_eq!(v["error"]["message"], "boom", "the exception's message comes after the status's");
    assert_eq!(v["labels"]["tool_name"], "later");
    assert_eq!(v["labels"]["tags"], "[]", "arrays are text in labels");
    assert_eq!(v["labels"]["otel_scope_name"], "modelseed.agent");
    assert_eq!(v["numeric_labels"]["tool_retries"], 2);
    assert!(v.get("log").is_none(), "a tracer is not a logger");
    // Parsing with serde_json keeps the last of duplicate keys silently; Elasticsearch refuses
    // them, so check the text itself.
    let mut out = DocBuffer::default();
    Documents::new(&config("ecs")).of_batch(&llm_span_batch(vec![kv("tool.name", s("x"))]), &mut out);
    let text = String::from_utf8(out.source(0).to_vec()).expect("utf8");
    assert_eq!(text.matches("\"tool_name\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"service\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"version\"").count(), 1, "{text}");
}

#[test]
fn raw_spans_keep_events_links_and_status() {
    let v = source(&docs(&config("raw"), &llm_span_batch(vec![]))[0]);
    assert_eq!(v["name"], "chat gpt-4o");
    assert_eq!(v["kind"], "SPAN_KIND_CLIENT");
    assert_eq!(v["status"]["code"], "STATUS_CODE_ERROR");
    assert_eq!(v["status"]["message"], "rate limited");
    assert_eq!(v["attributes"]["gen_ai.request.model"], "gpt-4o");
    assert_eq!(v["attributes"]["service.version"], "from-span");
    assert_eq!(v["resource"]["attributes"]["service.version"], "1.0");
    assert_eq!(v["events"][0]["name"], "retry");
    assert_eq!(v["events"][0]["@timestamp"], "2026-11-24T10:00:00.000000001Z");
    assert_eq!(v["links"][0]["trace_id"], "01".repeat(16));
    assert_eq!(v["scope"]["name"], "modelseed.agent");
    assert_eq!(v["parent_span_id"], "ef".repeat(8));
    assert_eq!(v["duration"], 1_500_000);
}
