//! Structured logs: one JSON line per event on standard output with the monitoring guide's
//! fields, and the same event as an OTLP log record. `tracing` events come through
//! [`JsonLayer`]; audit and security events through [`emit_event`].
//!
//! | JSON field | OTLP | from |
//! |---|---|---|
//! | `timestamp` | time | now, RFC 3339 UTC |
//! | `level` | severity | the event's level |
//! | `logger` | scope (target) | the `tracing` target, or the audit/security logger name |
//! | `message` | body | the message, redacted |
//! | `module` | `code.namespace` | the Rust module path |
//! | `function` | `code.function.name` | the innermost `tracing` span's name (with `#[instrument]`, the function) |
//! | `line` | `code.line.number` | source line |
//! | `file` | `code.file.path` | source file |
//! | `thread` | `thread.name`, `thread.id` | the thread |
//! | `process` | `process.pid` (resource) | the process id |
//! | `tool_name`, `workflow_id` | same names | the tool call and workflow in scope, or the event's own fields |
//! | `trace_id`, `span_id` | trace context | the active span |
//!
//! Other event fields are kept under their own names; their string values are redacted.

mod layer;
mod line;

use std::io::Write;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry_sdk::logs::SdkLogger;
use std::sync::Mutex;

pub(crate) use layer::JsonLayer;
pub(crate) use line::{Field, Line, Origin};

/// Where JSON lines go.
#[derive(Default)]
pub(crate) enum LogSink {
    /// Nowhere.
    #[default]
    Off,
    /// Standard output, one locked write per line.
    Stdout,
    /// A caller's writer.
    Writer(Mutex<Box<dyn Write + Send>>),
}

impl LogSink {
    pub(crate) fn stdout() -> LogSink {
        LogSink::Stdout
    }

    pub(crate) fn off() -> LogSink {
        LogSink::Off
    }

    pub(crate) fn writer(w: Box<dyn Write + Send>) -> LogSink {
        LogSink::Writer(Mutex::new(w))
    }

    pub(crate) fn is_off(&self) -> bool {
        matches!(self, LogSink::Off)
    }

    /// Writes one line; a failing writer loses the line, never the agent.
    pub(crate) fn write(&self, text: &str) {
        match self {
            LogSink::Off => {}
            LogSink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
            }
            LogSink::Writer(w) => {
                if let Ok(mut w) = w.lock() {
                    let _ = w.write_all(text.as_bytes());
                }
            }
        }
    }
}

/// The OTLP severity of a `tracing` level.
pub(crate) fn severity(level: &tracing::Level) -> Severity {
    match *level {
        tracing::Level::ERROR => Severity::Error,
        tracing::Level::WARN => Severity::Warn,
        tracing::Level::INFO => Severity::Info,
        tracing::Level::DEBUG => Severity::Debug,
        tracing::Level::TRACE => Severity::Trace,
    }
}

/// Emits an audit or security event: a JSON line and, when OTLP logs are on, a log record
/// with `event.name` on `logger`'s scope, dated and placed by `origin`. `fields` must already
/// be sanitised.
pub(crate) fn emit_event(
    origin: &Origin,
    logger: Option<&SdkLogger>,
    logger_name: &'static str,
    event_name: &'static str,
    level: tracing::Level,
    message: &str,
    fields: Vec<(&'static str, Field)>,
) {
    let shared = crate::shared::get();
    let mut line = Line::at(origin, level, logger_name, message);
    line.field("event.name", Field::Str(event_name.to_owned()));
    for (k, v) in fields {
        line.field(k, v);
    }
    if !shared.sink.is_off() {
        shared.sink.write(&line.render());
    }
    if let Some(logger) = logger {
        let mut record = logger.create_log_record();
        let sc = origin.span_context();
        if sc.is_valid() {
            record.set_trace_context(sc.trace_id(), sc.span_id(), Some(sc.trace_flags()));
        }
        record.set_timestamp(origin.time());
        record.set_observed_timestamp(SystemTime::now());
        record.set_event_name(event_name);
        record.set_severity_number(severity(&level));
        record.set_severity_text(level.as_str());
        record.set_body(AnyValue::from(message.to_owned()));
        line.otlp_attributes(&mut record);
        logger.emit(record);
    }
}
