//! Workflow, tool, LLM-call and operation instrumentation.

pub(crate) mod instruments;
pub mod llm;
mod names;
pub(crate) mod payload;
pub mod performance;
mod prices;
mod recent;
pub(crate) mod scope;
pub mod tool;
pub mod workflow;

/// `context`, `enter` and `run` for a guard that keeps its span's context in `self.cx`; with
/// `custom`, only `enter` and `run`, on the guard's own `context()`.
macro_rules! in_context {
    ($what:literal) => {
        #[doc = concat!("The context to run ", $what, "'s work in (child spans and log lines attach to it).")]
        pub fn context(&self) -> &opentelemetry::Context {
            &self.cx
        }

        $crate::instrument::in_context!($what, custom);
    };
    ($what:literal, custom) => {
        #[doc = concat!("Makes ", $what, " current on this thread until the guard drops (synchronous code).")]
        pub fn enter(&self) -> opentelemetry::ContextGuard {
            self.context().clone().attach()
        }

        #[doc = concat!("Runs a future inside ", $what, ", across `.await`s and threads.")]
        pub async fn run<F: std::future::Future>(&self, future: F) -> F::Output {
            opentelemetry::trace::FutureExt::with_context(future, self.context().clone()).await
        }
    };
}
pub(crate) use in_context;

use opentelemetry::trace::{Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};

/// `{operation} {subject}`, as the GenAI conventions name spans, in one allocation.
pub(crate) fn span_name(operation: &str, subject: &str) -> String {
    let mut name = String::with_capacity(operation.len() + 1 + subject.len());
    name.push_str(operation);
    name.push(' ');
    name.push_str(subject);
    name
}

/// Seconds from `start` to `end`. A call's span and its metrics share these two wall-clock
/// readings (one clock read at each end); a clock stepped back between them gives 0.
pub(crate) fn seconds_between(start: std::time::SystemTime, end: std::time::SystemTime) -> f64 {
    end.duration_since(start).map_or(0.0, |d| d.as_secs_f64())
}

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
