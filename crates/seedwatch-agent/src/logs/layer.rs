//! The `tracing` layer that turns events into JSON lines and OTLP log records.

use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _};
use tracing::field::{Field as TracingField, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::{Field, Line, severity};

/// Writes every `tracing` event as a JSON line and, when OTLP logs are on, as a log record.
/// String values and the message pass through the sanitiser.
pub(crate) struct JsonLayer;

struct Visitor<'a> {
    line: &'a mut Line,
    message: Option<String>,
}

impl Visitor<'_> {
    fn put(&mut self, field: &TracingField, value: Field) {
        let value = match value {
            Field::Str(s) => Field::Str(crate::shared::get().sanitizer.redact_text(&s).into_owned()),
            v => v,
        };
        if field.name() == "message" {
            if let Field::Str(s) = value {
                self.message = Some(s);
            }
            return;
        }
        self.line.field(field.name(), value);
    }
}

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &TracingField, value: &dyn std::fmt::Debug) {
        self.put(field, Field::Str(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &TracingField, value: &str) {
        self.put(field, Field::Str(value.to_owned()));
    }
    fn record_i64(&mut self, field: &TracingField, value: i64) {
        self.put(field, Field::I64(value));
    }
    fn record_u64(&mut self, field: &TracingField, value: u64) {
        self.put(field, Field::U64(value));
    }
    fn record_f64(&mut self, field: &TracingField, value: f64) {
        self.put(field, Field::F64(value));
    }
    fn record_bool(&mut self, field: &TracingField, value: bool) {
        self.put(field, Field::Bool(value));
    }
    fn record_error(&mut self, field: &TracingField, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Field::Str(value.to_string()));
    }
}

impl<S> tracing_subscriber::Layer<S> for JsonLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let shared = crate::shared::get();
        let meta = event.metadata();
        let mut line = Line::new(*meta.level(), meta.target(), "");
        line.module = meta.module_path();
        line.file = meta.file();
        line.line = meta.line();
        line.function = ctx.event_span(event).map(|s| s.name().to_owned());
        let mut visitor = Visitor { line: &mut line, message: None };
        event.record(&mut visitor);
        let message = visitor.message.take().unwrap_or_default();
        line.set_message(message.clone());
        line.context(&opentelemetry::Context::current());
        if !shared.sink.is_off() {
            shared.sink.write(&line.render());
        }
        // The OTLP exporters and their dependencies log through `tracing` too (export
        // failures, retries): those lines go to stdout only, since sending them back through
        // OTLP would feed on itself.
        if let Some(logger) = shared.app_logger.as_ref().filter(|_| !is_exporter_internal(meta.target())) {
            let mut record = logger.create_log_record();
            let now = SystemTime::now();
            record.set_timestamp(now);
            record.set_observed_timestamp(now);
            record.set_target(meta.target().to_owned());
            record.set_severity_number(severity(meta.level()));
            record.set_severity_text(meta.level().as_str());
            record.set_body(AnyValue::from(message));
            line.otlp_attributes(&mut record);
            logger.emit(record);
        }
    }
}

fn is_exporter_internal(target: &str) -> bool {
    ["opentelemetry", "hyper", "h2", "tonic", "tower", "reqwest", "rustls"]
        .iter()
        .any(|p| target.starts_with(p) && target[p.len()..].chars().next().is_none_or(|c| c == ':' || c == '_'))
}
