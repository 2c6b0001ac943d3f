//! Raw OpenTelemetry field names: the record as received, attributes kept under their own
//! names in `attributes` and `resource.attributes` (the OTel Collector's `raw` mode).

use crate::otlp_wire::{FullLog, FullSpan, Origin};

use super::json::{any, hex, int, is_id, object, string, timestamp};

/// Writes `,"name":` (every raw document starts with `@timestamp`, so members after it
/// always take a comma).
fn key(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn id(out: &mut Vec<u8>, name: &str, id: &[u8]) {
    if is_id(id) {
        key(out, name);
        out.push(b'"');
        hex(out, id);
        out.push(b'"');
    }
}

fn common(out: &mut Vec<u8>, origin: &Origin<'_>) {
    if let Some(resource) = &origin.resource {
        key(out, "resource");
        out.extend_from_slice(b"{\"attributes\":");
        object(out, resource.attributes());
        out.push(b'}');
    }
    let scope = &origin.scope;
    if !scope.name.is_empty() || !scope.version.is_empty() {
        key(out, "scope");
        out.extend_from_slice(b"{\"name\":");
        string(out, scope.name);
        out.extend_from_slice(b",\"version\":");
        string(out, scope.version);
        out.push(b'}');
    }
}

fn start(out: &mut Vec<u8>, time: u64) {
    out.extend_from_slice(b"{\"@timestamp\":");
    timestamp(out, time);
}

/// A log record.
pub(super) fn log(out: &mut Vec<u8>, origin: &Origin<'_>, record: &FullLog<'_>, time: u64) {
    start(out, time);
    if record.observed_time_unix_nano > 0 {
        key(out, "observed_timestamp");
        timestamp(out, record.observed_time_unix_nano);
    }
    key(out, "severity_text");
    string(out, record.severity_text);
    key(out, "severity_number");
    int(out, record.severity_number);
    key(out, "body");
    any(out, record.body);
    if !record.event_name.is_empty() {
        key(out, "event_name");
        string(out, record.event_name);
    }
    id(out, "trace_id", record.trace_id);
    id(out, "span_id", record.span_id);
    key(out, "attributes");
    object(out, record.attributes());
    common(out, origin);
    out.push(b'}');
}

/// `SpanKind` names as OTLP spells them.
fn kind(kind: i32) -> &'static str {
    match kind {
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

/// A span.
pub(super) fn span(out: &mut Vec<u8>, origin: &Origin<'_>, s: &FullSpan<'_>) {
    start(out, s.start_time_unix_nano);
    id(out, "trace_id", s.trace_id);
    id(out, "span_id", s.span_id);
    id(out, "parent_span_id", s.parent_span_id);
    key(out, "name");
    string(out, s.name);
    key(out, "kind");
    string(out, kind(s.kind).as_bytes());
    key(out, "end_timestamp");
    timestamp(out, s.end_time_unix_nano);
    key(out, "duration");
    int(out, s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano));
    let code = match s.status_code {
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => "STATUS_CODE_UNSET",
    };
    key(out, "status");
    out.extend_from_slice(b"{\"code\":");
    string(out, code.as_bytes());
    out.extend_from_slice(b",\"message\":");
    string(out, s.status_message);
    out.push(b'}');
    key(out, "attributes");
    object(out, s.attributes());
    let mut events = s.events().peekable();
    if events.peek().is_some() {
        key(out, "events");
        out.push(b'[');
        for (n, e) in events.enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"name\":");
            string(out, e.name);
            out.extend_from_slice(b",\"@timestamp\":");
            timestamp(out, e.time_unix_nano);
            out.extend_from_slice(b",\"attributes\":");
            object(out, e.attributes());
            out.push(b'}');
        }
        out.push(b']');
    }
    let mut links = s.links().peekable();
    if links.peek().is_some() {
        key(out, "links");
        out.push(b'[');
        for (n, l) in links.enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"trace_id\":\"");
            hex(out, l.trace_id);
            out.extend_from_slice(b"\",\"span_id\":\"");
            hex(out, l.span_id);
            out.extend_from_slice(b"\"}");
        }
        out.push(b']');
    }
    common(out, origin);
    out.push(b'}');
}
