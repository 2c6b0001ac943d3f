//! Elastic Common Schema field names. Well-known OpenTelemetry attributes become their ECS
//! fields (`log.level`, `log.origin.*`, `process.*`, `service.*`, `host.name`, `error.*`);
//! `gen_ai.*` attributes keep their names (ECS adopted them); everything else goes to
//! `labels.*` (text, booleans) or `numeric_labels.*` (numbers) with dots turned into `_`, as
//! Elastic APM does, so no attribute can clash with another's mapping.

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use serde_json::{Map, Value};

use super::json::{any, id_hex, set_path, timestamp};

/// OpenTelemetry attribute → ECS field (several spellings where semantic conventions renamed).
const FIELDS: &[(&str, &str)] = &[
    ("service.name", "service.name"),
    ("service.version", "service.version"),
    ("service.instance.id", "service.node.name"),
    ("deployment.environment.name", "service.environment"),
    ("deployment.environment", "service.environment"),
    ("host.name", "host.name"),
    ("process.pid", "process.pid"),
    ("thread.id", "process.thread.id"),
    ("thread.name", "process.thread.name"),
    ("code.function.name", "log.origin.function"),
    ("code.function", "log.origin.function"),
    ("code.line.number", "log.origin.file.line"),
    ("code.lineno", "log.origin.file.line"),
    ("code.file.path", "log.origin.file.name"),
    ("code.filepath", "log.origin.file.name"),
    ("exception.type", "error.type"),
    ("exception.message", "error.message"),
    ("exception.stacktrace", "error.stack_trace"),
    ("error.type", "error.type"),
    ("event.name", "event.action"),
    ("client.address", "client.ip"),
    ("user.id", "user.id"),
];

/// Puts attributes where ECS wants them.
fn place(doc: &mut Map<String, Value>, kvs: &[KeyValue]) {
    for kv in kvs {
        let value = any(kv.value.as_ref());
        if let Some((_, field)) = FIELDS.iter().find(|(k, _)| *k == kv.key) {
            let value = match (*field, value) {
                // The guide's `module`: the file name, not the whole path.
                ("log.origin.file.name", Value::String(p)) => {
                    Value::String(p.rsplit(['/', '\\']).next().unwrap_or(&p).to_owned())
                }
                (_, v) => v,
            };
            set_path(doc, field, value);
        } else if kv.key.starts_with("gen_ai.") {
            set_path(doc, &kv.key, value);
        } else {
            let label = kv.key.replace('.', "_");
            let group = if value.is_number() { "numeric_labels" } else { "labels" };
            let value = match value {
                Value::Array(_) | Value::Object(_) => Value::String(value.to_string()),
                v => v,
            };
            ensure_object(doc, group);
            if let Some(Value::Object(labels)) = doc.get_mut(group) {
                labels.insert(label, value);
            }
        }
    }
}

fn ensure_object(doc: &mut Map<String, Value>, key: &str) {
    if !doc.get(key).is_some_and(Value::is_object) {
        doc.insert(key.into(), Value::Object(Map::new()));
    }
}

fn base(time: u64, resource: Option<&Resource>, scope: Option<&InstrumentationScope>) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), Value::String(timestamp(time)));
    ensure_object(&mut doc, "labels");
    ensure_object(&mut doc, "numeric_labels");
    if let Some(r) = resource {
        place(&mut doc, &r.attributes);
    }
    if let Some(s) = scope.filter(|s| !s.name.is_empty()) {
        set_path(&mut doc, "log.logger", Value::String(s.name.clone()));
    }
    doc
}

fn ids(doc: &mut Map<String, Value>, trace_id: &[u8], span_id: &[u8]) {
    if let Some(t) = id_hex(trace_id) {
        set_path(doc, "trace.id", Value::String(t));
    }
    if let Some(s) = id_hex(span_id) {
        set_path(doc, "span.id", Value::String(s));
    }
}

fn drop_empty(doc: &mut Map<String, Value>) {
    for key in ["labels", "numeric_labels"] {
        if doc.get(key).is_some_and(|v| v.as_object().is_some_and(Map::is_empty)) {
            doc.remove(key);
        }
    }
}

/// The level name of a severity number, for records that carry no text.
fn level(number: i32) -> &'static str {
    match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "UNSPECIFIED",
    }
}

/// A log record.
pub(super) fn log(
    resource: Option<&Resource>,
    scope: Option<&InstrumentationScope>,
    record: &LogRecord,
    time: u64,
) -> Map<String, Value> {
    let mut doc = base(time, resource, scope);
    let message = match any(record.body.as_ref()) {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    };
    doc.insert("message".into(), Value::String(message));
    let text = if record.severity_text.is_empty() { level(record.severity_number) } else { &record.severity_text };
    set_path(&mut doc, "log.level", Value::String(text.to_owned()));
    if !record.event_name.is_empty() {
        set_path(&mut doc, "event.action", Value::String(record.event_name.clone()));
    }
    ids(&mut doc, &record.trace_id, &record.span_id);
    place(&mut doc, &record.attributes);
    drop_empty(&mut doc);
    doc
}

/// A span.
pub(super) fn span(resource: Option<&Resource>, scope: Option<&InstrumentationScope>, s: &Span) -> Map<String, Value> {
    let mut doc = base(s.start_time_unix_nano, resource, scope);
    if let Some(Value::Object(log)) = doc.get_mut("log") {
        // The tracer's name is not a logger.
        log.remove("logger");
    }
    if doc.get("log").is_some_and(|v| v.as_object().is_some_and(Map::is_empty)) {
        doc.remove("log");
    }
    ids(&mut doc, &s.trace_id, &s.span_id);
    if let Some(p) = id_hex(&s.parent_span_id) {
        set_path(&mut doc, "parent.id", Value::String(p));
    }
    set_path(&mut doc, "span.name", Value::String(s.name.clone()));
    let kind = span::SpanKind::try_from(s.kind).unwrap_or(span::SpanKind::Unspecified);
    let kind = kind.as_str_name().trim_start_matches("SPAN_KIND_").to_ascii_lowercase();
    set_path(&mut doc, "span.kind", Value::String(kind));
    set_path(&mut doc, "event.duration", Value::from(s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano)));
    set_path(&mut doc, "event.end", Value::String(timestamp(s.end_time_unix_nano)));
    let (code, message) = s.status.as_ref().map_or((0, ""), |st| (st.code, st.message.as_str()));
    let outcome = match status::StatusCode::try_from(code).unwrap_or(status::StatusCode::Unset) {
        status::StatusCode::Ok => "success",
        status::StatusCode::Error => "failure",
        status::StatusCode::Unset => "unknown",
    };
    set_path(&mut doc, "event.outcome", Value::String(outcome.into()));
    if !message.is_empty() {
        set_path(&mut doc, "error.message", Value::String(message.into()));
    }
    if let Some(scope) = scope.filter(|s| !s.name.is_empty()) {
        set_path(&mut doc, "labels.otel_scope_name", Value::String(scope.name.clone()));
    }
    place(&mut doc, &s.attributes);
    drop_empty(&mut doc);
    doc
}
