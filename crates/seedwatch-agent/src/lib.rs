//! Agent-side instrumentation for LLM agents, exported over OTLP to seedwatch or any other
//! OpenTelemetry backend.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use seedwatch_agent::{LlmCall, ToolCall, Usage, Workflow};
//!
//! let _telemetry = seedwatch_agent::init()?; // OTEL_* variables; flushes on drop
//! let workflow = Workflow::start("wf-42", "model_analysis");
//! workflow
//!     .run(async {
//!         let tool = ToolCall::start("run_metabolic_fba").with_inputs(serde_json::json!({"model": "iML1515"}));
//!         tool.succeed(serde_json::json!({"objective": 0.87}));
//!         let mut llm = LlmCall::start("openai", "gpt-4o");
//!         llm.record_usage(Usage { input: 1200, output: 300, ..Usage::default() });
//!         llm.succeed();
//!     })
//!     .await;
//! workflow.succeed();
//! # Ok(()) }
//! ```
//!
//! What it sends:
//!
//! | what | as |
//! |---|---|
//! | workflows | root spans `invoke_workflow {type}` (or `invoke_agent`), steps as child spans, up-down counter `modelseed.active_analyses` |
//! | tool executions | `execute_tool {name}` spans, `modelseed.tool.executions` / `.errors` / `.duration`, an `audit.tool_execution` log event with sanitised inputs and outputs |
//! | LLM calls | `chat {model}` client spans with the GenAI attributes and `seedwatch.llm.cost_usd`, `gen_ai.client.token.usage`, `gen_ai.client.operation.duration`, `modelseed.llm.requests` / `.errors` / `.duration` / `.cost` |
//! | [`measure`] / [`timed`] | `modelseed.operation.duration{operation}` and a span |
//! | resources | `process.memory.usage`, `process.cpu.utilization`, `system.memory.utilization`, `system.filesystem.usage{state=free}` |
//! | security | `security.access_attempt`, `security.api_key_usage`, `security.sensitive_operation` log events (scope `modelseed.security`) |
//! | logs | `tracing` events as JSON lines on stdout and as OTLP log records, with trace and span ids |
//! | health | `seedwatch.health.status{seedwatch.health.check}` from the [`health`] checks |
//!
//! The metric names become the monitoring guide's series in any Prometheus exporter
//! (`modelseed.tool.executions` → `modelseed_tool_executions_total`); the seedwatch collector
//! derives the same series from the spans, whatever produced them.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod audit;
mod deferred;
mod export;
pub mod health;
mod http_server;
mod init;
mod instrument;
mod logs;
mod redact;
mod resources;
mod shared;

pub use audit::{ApiKeyRef, SecurityAuditor};
pub use export::gate::{TelemetryStats, telemetry_stats};
pub use export::settings::{EnvSettings, Protocol};
pub use http_server::track_requests;
pub use init::{Builder, InitError, JsonLogs, TelemetryGuard, init};
pub use instrument::llm::{LlmCall, Usage};
pub use instrument::performance::{Measurement, measure};
pub use instrument::tool::{ToolCall, tool};
pub use instrument::workflow::{Step, Workflow};
pub use redact::Sanitizer;
pub use seedwatch_agent_macros::{timed, tool};

/// Used by the attribute macros; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::instrument::tool::{finish_plain, finish_result};
}
