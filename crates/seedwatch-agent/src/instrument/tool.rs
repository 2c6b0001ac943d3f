//! The monitoring guide's ToolAuditor: each tool execution is an `execute_tool {name}` span,
//! the tool metrics, and an `audit.tool_execution` record with sanitised inputs and outputs.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use seedwatch_semconv::attributes::gen_ai;
use serde::Serialize;
use serde_json::Value;

use super::scope::Scope;
use super::{error_type_of, fail_span};
use crate::shared::{self, SCOPE};

/// A running tool execution. End it with [`ToolCall::succeed`], [`ToolCall::fail`] or
/// [`ToolCall::finish`]; dropped without them, it ends as failed with `error.type` `abandoned`.
pub struct ToolCall {
    cx: Context,
    name: Arc<str>,
    start: Instant,
    inputs: Option<Value>,
    ended: bool,
}

impl ToolCall {
    /// Starts a tool execution under the current context.
    pub fn start(name: impl Into<String>) -> ToolCall {
        Self::start_in(name, &Context::current())
    }

    /// Starts a tool execution under `parent`.
    pub fn start_in(name: impl Into<String>, parent: &Context) -> ToolCall {
        let name: Arc<str> = name.into().into();
        let tracer = opentelemetry::global::tracer(SCOPE);
        let span = tracer
            .span_builder(format!("execute_tool {name}"))
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new(gen_ai::OPERATION_NAME, "execute_tool"),
                KeyValue::new(gen_ai::TOOL_NAME, name.to_string()),
            ])
            .start_with_context(&tracer, parent);
        let mut scope = parent.get::<Scope>().cloned().unwrap_or_default();
        scope.tool_name = Some(name.clone());
        ToolCall {
            cx: parent.with_span(span).with_value(scope),
            name,
            start: Instant::now(),
            inputs: None,
            ended: false,
        }
    }

    /// Sets the call id (`gen_ai.tool.call.id`), e.g. the LLM's tool-call id.
    pub fn with_call_id(self, id: impl Into<String>) -> Self {
        self.cx.span().set_attribute(KeyValue::new(gen_ai::TOOL_CALL_ID, id.into()));
        self
    }

    /// The inputs, for the audit record (sanitised there).
    pub fn with_inputs(mut self, inputs: Value) -> Self {
        self.inputs = Some(inputs);
        self
    }

    super::in_context!("the call");

    /// Ends the call as succeeded, with its outputs for the audit record.
    pub fn succeed(mut self, outputs: Value) {
        self.end(Some(outputs), None);
    }

    /// Ends the call as failed, with a low-cardinality `error_type` and a message.
    pub fn fail(mut self, error_type: &str, message: impl Display) {
        self.end(None, Some((error_type.to_owned(), message.to_string())));
    }

    /// Ends the call from a result: `Ok` outputs are serialised into the audit record, an
    /// `Err` becomes `error.type` (the error's type name) and its message.
    pub fn finish<T: Serialize, E: Display>(self, result: &Result<T, E>) {
        match result {
            Ok(v) => self.succeed(serde_json::to_value(v).unwrap_or(Value::Null)),
            Err(e) => self.fail(error_type_of::<E>(), e),
        }
    }

    fn end(&mut self, outputs: Option<Value>, error: Option<(String, String)>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let shared = shared::get();
        let duration = self.start.elapsed().as_secs_f64();
        let tool = KeyValue::new("tool_name", self.name.to_string());
        let i = &shared.instruments;
        i.tool_executions.add(1, std::slice::from_ref(&tool));
        i.tool_duration.record(duration, std::slice::from_ref(&tool));
        let error = error.map(|(t, m)| (t, shared.sanitizer.redact_text(&m).into_owned()));
        if let Some((error_type, message)) = &error {
            i.tool_errors.add(1, &[tool, KeyValue::new("error_type", error_type.clone())]);
            fail_span(&self.cx, error_type, message);
        }
        crate::audit::tool_execution(
            &self.cx,
            &self.name,
            duration,
            self.inputs.take().as_ref(),
            outputs.as_ref(),
            error.as_ref(),
        );
        self.cx.span().end();
    }
}

impl Drop for ToolCall {
    fn drop(&mut self) {
        if !self.ended {
            self.end(None, Some(("abandoned".to_owned(), "tool call dropped before it ended".to_owned())));
        }
    }
}

/// Runs an async tool: a span around the future, the metrics, and an audit record with
/// `inputs` and the `Ok` value as outputs.
pub async fn tool<F, T, E>(name: &str, inputs: Value, future: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    T: Serialize,
    E: Display,
{
    let call = ToolCall::start(name).with_inputs(inputs);
    let result = call.run(future).await;
    call.finish(&result);
    result
}

/// Ends a call from the value a `#[tool]` function returned (macro support).
pub fn finish_result<T, E: Display>(call: ToolCall, result: &Result<T, E>) {
    match result {
        Ok(_) => call.succeed(Value::Null),
        Err(e) => call.fail(error_type_of::<E>(), e),
    }
}

/// Ends a call of a `#[tool]` function that does not return a `Result` (macro support).
pub fn finish_plain(call: ToolCall) {
    call.succeed(Value::Null);
}
