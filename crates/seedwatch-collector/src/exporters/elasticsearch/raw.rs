//! Raw OpenTelemetry field names: the record as received, attributes kept under their own
//! names in `attributes` and `resource.attributes` (the OTel Collector's `raw` mode).

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use serde_json::{Map, Value, json};

use super::json::{any, attributes, id_hex, timestamp};

fn common(doc: &mut Map<String, Value>, resource: Option<&Resource>, scope: Option<&InstrumentationScope>) {
    if let Some(r) = resource {
        doc.insert("resource".into(), json!({ "attributes": attributes(&r.attributes) }));
    }
    if let Some(s) = scope {
        doc.insert("scope".into(), json!({ "name": s.name, "version": s.version }));
    }
}

fn ids(doc: &mut Map<String, Value>, trace_id: &[u8], span_id: &[u8]) {
    if let Some(t) = id_hex(trace_id) {
        doc.insert("trace_id".into(), Value::String(t));
    }
    if let Some(s) = id_hex(span_id) {
        doc.insert("span_id".into(), Value::String(s));
    }
}

/// A log record.
pub(super) fn log(
    resource: Option<&Resource>,
    scope: Option<&InstrumentationScope>,
    record: &LogRecord,
    time: u64,
) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), Value::String(timestamp(time)));
    if record.observed_time_unix_nano > 0 {
        doc.insert("observed_timestamp".into(), Value::String(timestamp(record.observed_time_unix_nano)));
    }
    doc.insert("severity_text".into(), Value::String(record.severity_text.clone()));
    doc.insert("severity_number".into(), Value::from(record.severity_number));
    doc.insert("body".into(), any(record.body.as_ref()));
    if !record.event_name.is_empty() {
        doc.insert("event_name".into(), Value::String(record.event_name.clone()));
    }
    ids(&mut doc, &record.trace_id, &record.span_id);
    doc.insert("attributes".into(), Value::Object(attributes(&record.attributes)));
    common(&mut doc, resource, scope);
    doc
}

/// A span.
pub(super) fn span(resource: Option<&Resource>, scope: Option<&InstrumentationScope>, s: &Span) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), Value::String(timestamp(s.start_time_unix_nano)));
    ids(&mut doc, &s.trace_id, &s.span_id);
    if let Some(p) = id_hex(&s.parent_span_id) {
        doc.insert("parent_span_id".into(), Value::String(p));
    }
    doc.insert("name".into(), Value::String(s.name.clone()));
    let kind = span::SpanKind::try_from(s.kind).unwrap_or(span::SpanKind::Unspecified);
    doc.insert("kind".into(), Value::String(kind.as_str_name().into()));
    doc.insert("end_timestamp".into(), Value::String(timestamp(s.end_time_unix_nano)));
    doc.insert("duration".into(), Value::from(s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano)));
    let (code, message) = s.status.as_ref().map_or((0, ""), |st| (st.code, st.message.as_str()));
    let code = status::StatusCode::try_from(code).unwrap_or(status::StatusCode::Unset);
    doc.insert("status".into(), json!({ "code": code.as_str_name(), "message": message }));
    doc.insert("attributes".into(), Value::Object(attributes(&s.attributes)));
    let events: Vec<Value> = s
        .events
        .iter()
        .map(|e| json!({ "name": e.name, "@timestamp": timestamp(e.time_unix_nano), "attributes": attributes(&e.attributes) }))
        .collect();
    if !events.is_empty() {
        doc.insert("events".into(), Value::Array(events));
    }
    let links: Vec<Value> = s
        .links
        .iter()
        .map(|l| json!({ "trace_id": hex::encode(&l.trace_id), "span_id": hex::encode(&l.span_id) }))
        .collect();
    if !links.is_empty() {
        doc.insert("links".into(), Value::Array(links));
    }
    common(&mut doc, resource, scope);
    doc
}
