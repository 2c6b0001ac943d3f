//! The monitoring guide's WorkflowMonitor: a workflow is a root span (`invoke_workflow` or
//! `invoke_agent`, as the GenAI conventions name them) with its steps as child spans, counted
//! in `modelseed.active_analyses` while it runs.

use std::sync::Arc;
use std::time::Instant;

use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt as _};
use opentelemetry::{Context, KeyValue, StringValue};
use seedwatch_semconv::attributes::{gen_ai, seedwatch};

use super::scope::Scope;
use super::{fail_span, span_name};
use crate::shared;

/// A running workflow. End it with [`Workflow::succeed`] or [`Workflow::fail`]; dropped without
/// either, it ends as failed with `error.type` `abandoned` (an early return, a panic).
pub struct Workflow {
    cx: Context,
    id: Arc<str>,
    kind: Arc<str>,
    start: Instant,
    ended: bool,
}

impl Workflow {
    /// Starts a workflow (`invoke_workflow {type}`) under the current context, usually as a root.
    pub fn start(id: impl Into<String>, workflow_type: impl Into<String>) -> Workflow {
        Self::begin(id.into(), workflow_type.into(), "invoke_workflow", gen_ai::WORKFLOW_NAME)
    }

    /// Starts an agent invocation (`invoke_agent {name}`), the GenAI conventions' other root.
    pub fn start_agent(id: impl Into<String>, agent_name: impl Into<String>) -> Workflow {
        Self::begin(id.into(), agent_name.into(), "invoke_agent", gen_ai::AGENT_NAME)
    }

    fn begin(id: String, kind: String, operation: &'static str, name_key: &'static str) -> Workflow {
        let builder =
            SpanBuilder::from_name(span_name(operation, &kind)).with_kind(SpanKind::Internal).with_attributes([
                KeyValue::new(gen_ai::OPERATION_NAME, operation),
                KeyValue::new(name_key, kind.clone()),
                KeyValue::new(seedwatch::WORKFLOW_ID, id.clone()),
            ]);
        let cx = shared::get().start_span(builder, &Context::current());
        let id: Arc<str> = id.into();
        let scope = Scope { workflow_id: Some(id.clone()), tool_name: None };
        let cx = cx.with_value(scope);
        shared::get().instruments.active_analyses.add(1, &[]);
        Workflow { cx, id, kind: kind.into(), start: Instant::now(), ended: false }
    }

    /// The workflow's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    super::in_context!("the workflow");

    /// Starts a step (a child span named `name`).
    pub fn step(&self, name: impl Into<String>) -> Step {
        let name = name.into();
        let builder = SpanBuilder::from_name(name.clone()).with_attributes([
            KeyValue::new(seedwatch::WORKFLOW_ID, StringValue::from(self.id.clone())),
            KeyValue::new("workflow.step.name", name),
        ]);
        let scope = self.cx.get::<Scope>().cloned().unwrap_or_default();
        Step { cx: shared::get().start_span(builder, &self.cx).with_value(scope), ended: false }
    }

    /// Ends the workflow as completed.
    pub fn succeed(mut self) {
        self.finish(None);
    }

    /// Ends the workflow as failed, with a low-cardinality `error_type` and a message.
    pub fn fail(mut self, error_type: &str, message: impl std::fmt::Display) {
        self.finish(Some((error_type, message.to_string())));
    }

    fn finish(&mut self, error: Option<(&str, String)>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let status = if error.is_some() { "failed" } else { "completed" };
        if let Some((error_type, message)) = &error {
            fail_span(&self.cx, error_type, &crate::shared::get().sanitizer.redact_text(message));
        }
        let instruments = &shared::get().instruments;
        instruments.active_analyses.add(-1, &[]);
        instruments.workflow_duration.record(
            self.start.elapsed().as_secs_f64(),
            &[KeyValue::new("workflow_type", self.kind.to_string()), KeyValue::new("status", status)],
        );
        self.cx.span().end();
    }
}

impl Drop for Workflow {
    fn drop(&mut self) {
        if !self.ended {
            self.finish(Some(("abandoned", "workflow dropped without succeed() or fail()".to_owned())));
        }
    }
}

/// A workflow step. Ends as succeeded when dropped unless [`Step::fail`] was called.
pub struct Step {
    cx: Context,
    ended: bool,
}

impl Step {
    super::in_context!("the step");

    /// Ends the step as failed.
    pub fn fail(mut self, error_type: &str, message: impl std::fmt::Display) {
        fail_span(&self.cx, error_type, &crate::shared::get().sanitizer.redact_text(&message.to_string()));
        self.ended = true;
        self.cx.span().end();
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.ended {
            self.cx.span().end();
        }
    }
}
