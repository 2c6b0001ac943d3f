//! The workflow and tool in scope, carried in the OpenTelemetry [`Context`] so that it follows
//! the span across threads and `.await`s, and log lines can name them.

use std::sync::Arc;

/// Stored in a [`opentelemetry::Context`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub workflow_id: Option<Arc<str>>,
    pub tool_name: Option<Arc<str>>,
}
