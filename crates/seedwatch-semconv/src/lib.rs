//! seedwatch's shared vocabulary, pure and without I/O: attribute names of every GenAI
//! instrumentation dialect, the metric contract, a classifier that maps any agent span to one
//! canonical [`AgentEvent`], and the LLM pricing table with its cost arithmetic. The collector
//! and the agent crate both use it, so names and prices are written once.
//!
//! # How spans are classified
//!
//! Attributes are read in one pass ([`SpanFacts::observe`]); then the first rule that applies
//! decides the kind:
//!
//! | dialect | attribute | value | kind |
//! |---|---|---|---|
//! | OTel GenAI | `gen_ai.operation.name` | `chat`, `text_completion`, `generate_content`, `embeddings` | LLM call |
//! | | | `execute_tool` | tool call |
//! | | | `invoke_agent` / `invoke_workflow` | workflow (agent / workflow) |
//! | | | `create_agent`, anything else | other |
//! | OpenInference | `openinference.span.kind` | `LLM`, `EMBEDDING` | LLM call |
//! | | | `TOOL` | tool call |
//! | | | `AGENT` | workflow (agent) |
//! | | | `CHAIN` on a root span | workflow |
//! | | | `CHAIN` below the root, `RETRIEVER`, `RERANKER`, `GUARDRAIL`, `EVALUATOR` | other |
//! | OpenLLMetry | `traceloop.span.kind` | `workflow` / `agent` / `tool` | workflow / workflow (agent) / tool call |
//! | | | `task` | other |
//! | | `llm.request.type` | any | LLM call |
//! | any | `gen_ai.tool.name` or `tool.name` | any | tool call |
//! | any | a model and an input-token count | | LLM call |
//!
//! Then the fields, first present wins:
//!
//! | field | from |
//! |---|---|
//! | provider | `gen_ai.provider.name`, `gen_ai.system` (deprecated), `llm.provider`, `llm.system`; else `unknown` |
//! | model | `gen_ai.response.model`, `llm.model_name`, `gen_ai.request.model`; else `unknown` |
//! | input tokens | `gen_ai.usage.input_tokens`, `gen_ai.usage.prompt_tokens` (deprecated), `llm.token_count.prompt` |
//! | output tokens | `gen_ai.usage.output_tokens`, `gen_ai.usage.completion_tokens` (deprecated), `llm.token_count.completion` |
//! | cache read | `gen_ai.usage.cache_read.input_tokens`, `llm.token_count.prompt_details.cache_read` |
//! | cache creation | `gen_ai.usage.cache_creation.input_tokens`, `llm.token_count.prompt_details.cache_write` |
//! | reasoning | `gen_ai.usage.reasoning.output_tokens`, `llm.token_count.completion_details.reasoning` |
//! | cost (wins over the pricing table) | `seedwatch.llm.cost_usd`, `llm.cost.total`, `gen_ai.usage.cost`, `gen_ai.usage.input_cost` + `gen_ai.usage.output_cost` |
//! | tool name | `gen_ai.tool.name`, `tool.name`, `traceloop.entity.name`, the span name |
//! | workflow type | `gen_ai.workflow.name`, `traceloop.workflow.name`, `gen_ai.agent.name`, `traceloop.entity.name`, the span name |
//! | error type | `error.type`; else `_OTHER` when the span status is ERROR |
//!
//! Token counts follow the GenAI conventions: cache reads and writes are part of the input
//! count and reasoning is part of the output count, so they are never added on top.
//! `llm.usage.total_tokens` / `llm.token_count.total` alone cannot be split or priced and are
//! not counted. A negative, absurd (over 10⁹) or non-numeric token count makes the call's
//! tokens invalid: the call is counted, its tokens and cost are not.

pub mod attributes;
mod classify;
mod facts;
mod json_attributes;
pub mod metric_names;
pub mod pricing;
pub mod provider;

pub use classify::{
    AgentEvent, LlmCall, OTHER_ERROR, SpanInfo, Tokens, ToolCall, UNKNOWN, Workflow, WorkflowKind, classify,
};
pub use facts::{AttrValue, Count, Fact, MAX_COST_USD, MAX_TOKENS, SpanFacts};

#[cfg(test)]
mod dialect_tests;
