//! The monitoring guide's ToolAuditor: each tool execution is an `execute_tool {name}` span,
//! the tool metrics, and an `audit.tool_execution` record with sanitised inputs and outputs.

use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt as _};
use opentelemetry::{Context, KeyValue, StringValue};
use seedwatch_semconv::attributes::gen_ai;
use serde::Serialize;
use serde_json::Value;

use super::payload::Payload;
use super::scope::Scope;
use super::{error_type_of, fail_span, names, seconds_between, span_name};
use crate::audit::ToolExecution;
use crate::deferred::{self, Job, SpanEnd};
use crate::logs::Origin;
use crate::shared;

/// A running tool execution. End it with [`ToolCall::succeed`], [`ToolCall::fail`] or
/// [`ToolCall::finish`]; dropped without them, it ends as failed with `error.type` `abandoned`.
pub struct ToolCall {
    /// The parent's context with the call's span.
    cx: Context,
    /// The workflow in scope and this tool, for what is logged inside the call.
    scope: Scope,
    /// `cx` with `scope`, made when the call's context is first asked for (most calls never
    /// ask, and adding a value to a context allocates).
    scoped: OnceLock<Context>,
    name: Arc<str>,
    start: SystemTime,
    inputs: Option<Payload>,
    ended: bool,
}

impl ToolCall {
    /// Starts a tool execution under the current context.
    pub fn start(name: impl AsRef<str>) -> ToolCall {
        Self::start_in(name, &Context::current())
    }

    /// Starts a tool execution under `parent`.
    pub fn start_in(name: impl AsRef<str>, parent: &Context) -> ToolCall {
        let name = names::intern(name.as_ref());
        let start = SystemTime::now();
        let builder = SpanBuilder::from_name(span_name("execute_tool", &name))
            .with_kind(SpanKind::Internal)
            .with_start_time(start)
            .with_attributes([
                KeyValue::new(gen_ai::OPERATION_NAME, "execute_tool"),
                KeyValue::new(gen_ai::TOOL_NAME, StringValue::from(name.clone())),
            ]);
        let cx = shared::get().start_span(builder, parent);
        let mut scope = parent.get::<Scope>().cloned().unwrap_or_default();
        scope.tool_name = Some(name.clone());
        ToolCall { cx, scope, scoped: OnceLock::new(), name, start, inputs: None, ended: false }
    }

    /// The context to run the call's work in (child spans and log lines attach to it, log
    /// lines name the tool).
    pub fn context(&self) -> &Context {
        self.scoped.get_or_init(|| self.cx.with_value(self.scope.clone()))
    }

    /// Sets the call id (`gen_ai.tool.call.id`), e.g. the LLM's tool-call id.
    pub fn with_call_id(self, id: impl Into<String>) -> Self {
        self.cx.span().set_attribute(KeyValue::new(gen_ai::TOOL_CALL_ID, id.into()));
        self
    }

    /// The inputs, for the audit record (sanitised there): a JSON [`Value`], or any
    /// serialisable value (your tool's argument struct), serialised off the calling thread.
    pub fn with_inputs<T: Serialize + Send + Sync + 'static>(mut self, inputs: T) -> Self {
        self.inputs = Some(Payload::of(inputs));
        self
    }

    super::in_context!("the call", custom);

    /// Ends the call as succeeded, with its outputs for the audit record: a JSON [`Value`],
    /// or any serialisable value, serialised off the calling thread.
    pub fn succeed<T: Serialize + Send + Sync + 'static>(mut self, outputs: T) {
        self.end(Some(Payload::of(outputs)), None);
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

    fn end(&mut self, outputs: Option<Payload>, error: Option<(String, String)>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let end = SystemTime::now();
        let duration = seconds_between(self.start, end);
        let error = error.map(|(t, m)| (t, shared::get().sanitizer.redact_text(&m).into_owned()));
        if let Some((error_type, message)) = &error {
            fail_span(&self.cx, error_type, message);
        }
        let (memory, cpu) = crate::resources::last_sample();
        let execution = ToolExecution {
            origin: Origin::in_scope(&self.cx, std::mem::take(&mut self.scope), end),
            tool: self.name.clone(),
            duration,
            inputs: self.inputs.take(),
            outputs,
            error,
            memory,
            cpu,
        };
        let span = SpanEnd { cx: std::mem::take(&mut self.cx), at: end };
        deferred::submit(Job::Tool(span, execution));
    }
}

/// The tool metrics and the audit record of an ended call (on the deferred worker, usually).
pub(crate) fn record(execution: ToolExecution) {
    let i = &shared::get().instruments;
    let tool = KeyValue::new("tool_name", StringValue::from(execution.tool.clone()));
    i.tool_executions.add(1, std::slice::from_ref(&tool));
    i.tool_duration.record(execution.duration, std::slice::from_ref(&tool));
    if let Some((error_type, _)) = &execution.error {
        i.tool_errors.add(1, &[tool, KeyValue::new("error_type", error_type.clone())]);
    }
    execution.emit();
}

impl Drop for ToolCall {
    fn drop(&mut self) {
        if !self.ended {
            self.end(None, Some(("abandoned".to_owned(), "tool call dropped before it ended".to_owned())));
        }
    }
}

/// Runs an async tool: a span around the future, the metrics, and an audit record with
/// `inputs` (JSON or any serialisable value) and the `Ok` value as outputs.
pub async fn tool<I, F, T, E>(name: &str, inputs: I, future: F) -> Result<T, E>
where
    I: Serialize + Send + Sync + 'static,
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

// A call is held across `.await`s in `run`: it must stay `Send` and `Sync` whatever inputs
// it keeps.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<ToolCall>();
    shareable::<super::llm::LlmCall>();
};
