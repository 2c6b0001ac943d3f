//! The most recent workflow summaries, newest first, for the dashboard's workflow table.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// One closed workflow, as its summary record says.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkflowRow {
    /// Hex trace id.
    pub trace_id: String,
    /// The workflow type (root span's workflow name).
    pub workflow_type: String,
    /// The workflow id, when the agent gave one.
    pub workflow_id: Option<String>,
    /// `completed` or `failed`.
    pub status: &'static str,
    /// The agent's `service.name`, as the agents table names it.
    pub service: String,
    /// The agent's `service.instance.id` (else `host.name`), as the agents table names it.
    pub instance: String,
    /// When it ended (Unix seconds).
    pub ended_at: f64,
    /// Root span duration in seconds.
    pub duration_seconds: f64,
    /// LLM cost in USD.
    pub cost_usd: f64,
    /// Whether every LLM call was priced.
    pub cost_complete: bool,
    /// Input plus output tokens.
    pub tokens: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Failed tool calls.
    pub tool_errors: u64,
    /// LLM calls.
    pub llm_calls: u64,
    /// Failed LLM calls.
    pub llm_errors: u64,
}

/// A bounded list of the newest workflows.
#[derive(Debug)]
pub struct RecentWorkflows {
    rows: Mutex<VecDeque<WorkflowRow>>,
    capacity: usize,
}

impl RecentWorkflows {
    /// Keeps at most `capacity` workflows.
    pub fn new(capacity: usize) -> Self {
        RecentWorkflows { rows: Mutex::new(VecDeque::with_capacity(capacity.min(1024))), capacity }
    }

    /// How many workflows are kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds closed workflows, oldest first, dropping the oldest held when full.
    pub fn extend(&self, new: impl IntoIterator<Item = WorkflowRow>) {
        if self.capacity == 0 {
            return;
        }
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        for row in new {
            if rows.len() == self.capacity {
                rows.pop_back();
            }
            rows.push_front(row);
        }
    }

    /// The newest `limit` workflows, newest first.
    pub fn newest(&self, limit: usize) -> Vec<WorkflowRow> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner()).iter().take(limit).cloned().collect()
    }

    /// Workflows held.
    pub fn len(&self) -> usize {
        self.rows.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
