//! Elastic Common Schema field names. Well-known OpenTelemetry attributes become their ECS
//! fields (`log.level`, `log.origin.*`, `process.*`, `service.*`, `host.name`, `error.*`);
//! `gen_ai.*` attributes keep their names (ECS adopted them); everything else goes to
//! `labels.*` (text, booleans) or `numeric_labels.*` (numbers) with dots turned into `_`, as
//! Elastic APM does, so no attribute can clash with another's mapping. Where several
//! attributes land on one field, the last wins; span and record attributes come after the
//! resource's.

use crate::otlp_wire::{AnyRef, FullLog, FullSpan, KeyValues, Origin};

use super::fields::{Fields, Val};

/// ECS fields a document can have besides `gen_ai.*` and labels, in [`tree`](super::tree)
/// path order (a test checks it), so they are written as nested objects in one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Slot {
    Timestamp,
    ClientIp,
    ErrorMessage,
    ErrorStackTrace,
    ErrorType,
    EventAction,
    EventDuration,
    EventEnd,
    EventOutcome,
    HostName,
    LogLevel,
    LogLogger,
    LogOriginFileLine,
    LogOriginFileName,
    LogOriginFunction,
    Message,
    ParentId,
    ProcessPid,
    ProcessThreadId,
    ProcessThreadName,
    ServiceEnvironment,
    ServiceName,
    ServiceNodeName,
    ServiceVersion,
    SpanId,
    SpanKind,
    SpanName,
    TraceId,
    UserId,
}

/// The place of each [`Slot`], by its number: the objects it is in, and its name.
pub(super) const PLACES: [(&[&str], &str); 29] = [
    (&[], "@timestamp"),
    (&["client"], "ip"),
    (&["error"], "message"),
    (&["error"], "stack_trace"),
    (&["error"], "type"),
    (&["event"], "action"),
    (&["event"], "duration"),
    (&["event"], "end"),
    (&["event"], "outcome"),
    (&["host"], "name"),
    (&["log"], "level"),
    (&["log"], "logger"),
    (&["log", "origin", "file"], "line"),
    (&["log", "origin", "file"], "name"),
    (&["log", "origin"], "function"),
    (&[], "message"),
    (&["parent"], "id"),
    (&["process"], "pid"),
    (&["process", "thread"], "id"),
    (&["process", "thread"], "name"),
    (&["service"], "environment"),
    (&["service"], "name"),
    (&["service", "node"], "name"),
    (&["service"], "version"),
    (&["span"], "id"),
    (&["span"], "kind"),
    (&["span"], "name"),
    (&["trace"], "id"),
    (&["user"], "id"),
];

/// OpenTelemetry attribute → ECS field (several spellings where semantic conventions renamed).
fn slot_of(key: &[u8]) -> Option<Slot> {
    Some(match key {
        b"service.name" => Slot::ServiceName,
        b"service.version" => Slot::ServiceVersion,
        b"service.instance.id" => Slot::ServiceNodeName,
        b"deployment.environment.name" | b"deployment.environment" => Slot::ServiceEnvironment,
        b"host.name" => Slot::HostName,
        b"process.pid" => Slot::ProcessPid,
        b"thread.id" => Slot::ProcessThreadId,
        b"thread.name" => Slot::ProcessThreadName,
        b"code.function.name" | b"code.function" => Slot::LogOriginFunction,
        b"code.line.number" | b"code.lineno" => Slot::LogOriginFileLine,
        b"code.file.path" | b"code.filepath" => Slot::LogOriginFileName,
        b"exception.type" | b"error.type" => Slot::ErrorType,
        b"exception.message" => Slot::ErrorMessage,
        b"exception.stacktrace" => Slot::ErrorStackTrace,
        b"event.name" => Slot::EventAction,
        b"client.address" => Slot::ClientIp,
        b"user.id" => Slot::UserId,
        _ => return None,
    })
}

/// Puts attributes where ECS wants them.
fn place<'a>(doc: &mut Fields<'a>, kvs: KeyValues<'a>) {
    for (key, value) in kvs {
        if value == AnyRef::Empty {
            continue;
        }
        if let Some(slot) = slot_of(key) {
            let value = match (slot, value) {
                // The guide's `module`: the file name, not the whole path.
                (Slot::LogOriginFileName, AnyRef::Str(path)) => Val::FileName(path),
                (_, v) => Val::Any(v),
            };
            doc.set(slot, value);
        } else if key.starts_with(b"gen_ai.") {
            doc.free(key, Val::Any(value));
        } else {
            doc.label(key, value);
        }
    }
}

fn base<'a>(doc: &mut Fields<'a>, time: u64, origin: &Origin<'a>) {
    doc.set(Slot::Timestamp, Val::Time(time));
    if let Some(resource) = &origin.resource {
        place(doc, resource.attributes());
    }
}

fn ids<'a>(doc: &mut Fields<'a>, trace_id: &'a [u8], span_id: &'a [u8]) {
    doc.set_id(Slot::TraceId, trace_id);
    doc.set_id(Slot::SpanId, span_id);
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

/// A log record's fields.
pub(super) fn log<'a>(doc: &mut Fields<'a>, origin: &Origin<'a>, record: &FullLog<'a>, time: u64) {
    base(doc, time, origin);
    if !origin.scope.name.is_empty() {
        doc.set(Slot::LogLogger, Val::Any(AnyRef::Str(origin.scope.name)));
    }
    let message = match record.body {
        AnyRef::Str(s) => Val::Any(AnyRef::Str(s)),
        AnyRef::Empty => Val::Static(""),
        other => Val::AnyText(other),
    };
    doc.set(Slot::Message, message);
    let text = if record.severity_text.is_empty() {
        Val::Static(level(record.severity_number))
    } else {
        Val::Any(AnyRef::Str(record.severity_text))
    };
    doc.set(Slot::LogLevel, text);
    if !record.event_name.is_empty() {
        doc.set(Slot::EventAction, Val::Any(AnyRef::Str(record.event_name)));
    }
    ids(doc, record.trace_id, record.span_id);
    place(doc, record.attributes());
}

/// `SpanKind` names as ECS writes them.
fn kind(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

/// A span's fields. The tracer's name is not a logger: it goes to `labels.otel_scope_name`.
pub(super) fn span<'a>(doc: &mut Fields<'a>, origin: &Origin<'a>, s: &FullSpan<'a>) {
    base(doc, s.start_time_unix_nano, origin);
    ids(doc, s.trace_id, s.span_id);
    doc.set_id(Slot::ParentId, s.parent_span_id);
    doc.set(Slot::SpanName, Val::Any(AnyRef::Str(s.name)));
    doc.set(Slot::SpanKind, Val::Static(kind(s.kind)));
    doc.set(Slot::EventDuration, Val::UInt(s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano)));
    doc.set(Slot::EventEnd, Val::Time(s.end_time_unix_nano));
    let outcome = match s.status_code {
        1 => "success",
        2 => "failure",
        _ => "unknown",
    };
    doc.set(Slot::EventOutcome, Val::Static(outcome));
    if !s.status_message.is_empty() {
        doc.set(Slot::ErrorMessage, Val::Any(AnyRef::Str(s.status_message)));
    }
    if !origin.scope.name.is_empty() {
        doc.label(b"otel_scope_name", AnyRef::Str(origin.scope.name));
    }
    place(doc, s.attributes());
}

#[cfg(test)]
mod tests {
    use super::super::tree::path_order;
    use super::*;

    #[test]
    fn slot_paths_are_in_tree_order_and_numbered_as_listed() {
        let path = |(parents, leaf): &(&[&str], &str)| [*parents, &[*leaf]].concat().join(".");
        for pair in PLACES.windows(2) {
            let (a, b) = (path(&pair[0]), path(&pair[1]));
            assert_eq!(path_order(a.as_bytes(), b.as_bytes()), std::cmp::Ordering::Less, "{a} {b}");
        }
        assert_eq!(path(&PLACES[Slot::UserId as usize]), "user.id");
        assert_eq!(path(&PLACES[Slot::LogOriginFileName as usize]), "log.origin.file.name");
        assert_eq!(path(&PLACES[Slot::SpanKind as usize]), "span.kind");
        assert_eq!(path(&PLACES[Slot::Timestamp as usize]), "@timestamp");
    }
}
