//! Workflow, tool, LLM-call and operation instrumentation.

pub(crate) mod instruments;
pub mod llm;
pub mod performance;
pub(crate) mod scope;
pub mod tool;
pub mod workflow;

use opentelemetry::trace::{Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};

/// Marks a context's span failed with a low-cardinality `error.type` and a message.
pub(crate) fn fail_span(cx: &Context, error_type: &str, message: &str) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(seedwatch_semconv::attributes::otel::ERROR_TYPE, error_type.to_owned()));
    span.set_status(Status::error(message.to_owned()));
}

/// `error.type` for an error value: its type's name without the path or generics
/// (`std::io::Error` → `Error`, `my::ToolError` → `ToolError`).
pub(crate) fn error_type_of<E: ?Sized>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}
