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
//! | Vercel AI SDK | `ai.operationId` | `ai.generateText.doGenerate`, `ai.streamText.doStream`, `ai.generateObject.doGenerate`, `ai.streamObject.doStream`, `ai.embed.doEmbed`, `ai.embedMany.doEmbed` | LLM call |
//! | | | `ai.toolCall` | tool call |
//! | | | anything else (`ai.generateText`, `ai.streamText`, ... carry their steps' usage summed) | other |
//! | OTel GenAI | `gen_ai.operation.name` | `chat`, `text_completion`, `generate_content`, `embeddings` (and `completion`, `embedding`) | LLM call |
//! | | | `execute_tool` | tool call |
//! | | | `invoke_agent` (client or internal) / `invoke_workflow` | workflow (agent / workflow) |
//! | | | `create_agent`, `plan`, anything else | other |
//! | OpenInference | `openinference.span.kind` | `LLM`, `EMBEDDING` | LLM call |
//! | | | `TOOL` | tool call |
//! | | | `AGENT` | workflow (agent) |
//! | | | `CHAIN` on a root span | workflow |
//! | | | `CHAIN` below the root, `RETRIEVER`, `RERANKER`, `GUARDRAIL`, `EVALUATOR` | other |
//! | OpenLLMetry | `traceloop.span.kind` | `workflow` / `agent` / `tool` | workflow / workflow (agent) / tool call |
//! | | | `task` | other |
//! | Langfuse | `langfuse.observation.type` | `generation`, `embedding` / `tool` / `agent` / root `chain` | LLM call / tool call / workflow (agent) / workflow |
//! | | | `span`, `event`, `retriever`, ... | other |
//! | OpenLLMetry ≤ 0.54 | `llm.request.type` | any | LLM call |
//! | any | `gen_ai.tool.name`, `tool.name` or `ai.toolCall.name` | any | tool call |
//! | any | a model and an input-token count | | LLM call |
//!
//! So usage summed onto an agent run (`invoke_agent`: Pydantic AI's agent-run span, under
//! `gen_ai.aggregated_usage.*` or `gen_ai.usage.*`), a workflow, or an outer SDK span
//! (`ai.generateText`) is never another LLM call. Pydantic AI before 1.0 named its run span
//! `agent run` with `model_name` and summed `gen_ai.usage.*` but no operation: no rule
//! matches it (`model_name` is not read), so it is other.
//!
//! Then the fields; where several attributes feed one, the first present in this order wins,
//! whatever their order on the span:
//!
//! | field | attributes (dialect, versions seen) |
//! |---|---|
//! | provider | `gen_ai.provider.name` (GenAI ≥ 1.37; OpenLLMetry 0.62, OpenLIT 1.45, Pydantic AI 2.78), `gen_ai.system` (deprecated; Pydantic AI, Vercel AI SDK 6 as `openai.chat`, Google ADK as `gcp.vertex.agent`), `llm.provider`, `llm.system` (OpenInference 0.1.66), `ai.model.provider` (Vercel 4–6); normalised by [`provider::normalise`]; else `unknown` |
//! | model (the `model` label: the model asked for) | `gen_ai.request.model`, `ai.model.id` (Vercel), `langfuse.observation.model.name`; else the `model` in OpenInference's `llm.invocation_parameters` / `embedding.invocation_parameters` JSON; else the response model; else `unknown` |
//! | response model (priced first) | `gen_ai.response.model`, `llm.model_name`, `embedding.model_name` (OpenInference), `ai.response.model` (Vercel) |
//! | input tokens | `gen_ai.usage.input_tokens`, `gen_ai.usage.prompt_tokens` (deprecated; OpenLLMetry ≤ 0.54), `llm.token_count.prompt`, `ai.usage.inputTokens` (Vercel ≥ 5), `ai.usage.promptTokens` (Vercel 4), `ai.usage.tokens` (Vercel embeddings) |
//! | output tokens | `gen_ai.usage.output_tokens`, `gen_ai.usage.completion_tokens` (deprecated), `llm.token_count.completion`, `ai.usage.outputTokens`, `ai.usage.completionTokens` |
//! | cache read | `gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.cache_read_input_tokens` (OpenLLMetry ≤ 0.54), `llm.token_count.prompt_details.cache_read`, `gen_ai.usage.details.cache_read_tokens` (Pydantic AI), `ai.usage.inputTokenDetails.cacheReadTokens` (Vercel 6), `ai.usage.cachedInputTokens` (Vercel 5) |
//! | cache write | `gen_ai.usage.cache_write.input_tokens` (GenAI since August 2026), `gen_ai.usage.cache_creation.input_tokens` (before; OpenLIT 1.45, Pydantic AI 2.78), `gen_ai.usage.cache_creation_input_tokens` (OpenLLMetry ≤ 0.54), `llm.token_count.prompt_details.cache_write`, `gen_ai.usage.details.cache_write_tokens`, `ai.usage.inputTokenDetails.cacheWriteTokens` |
//! | of which one-hour writes | `gen_ai.usage.details.ephemeral_1h_input_tokens` (Pydantic AI with Anthropic) |
//! | reasoning | `gen_ai.usage.reasoning.output_tokens` (GenAI), `gen_ai.usage.reasoning_tokens` (OpenLLMetry 0.62; OpenLIT 1.45, Responses API only), `llm.token_count.completion_details.reasoning`, `gen_ai.usage.details.reasoning_tokens`, `ai.usage.outputTokenDetails.reasoningTokens` (Vercel 6), `ai.usage.reasoningTokens` (Vercel 5) |
//! | tokens, Langfuse | `langfuse.observation.usage_details` (JSON), when no attribute above gave input or output tokens |
//! | cost (wins over the pricing table) | `seedwatch.llm.cost_usd` (seedwatch's agent crate), `llm.cost.total` (OpenInference), `gen_ai.usage.cost` (OpenLIT), `operation.cost` (Pydantic AI), `gen_ai.usage.cost.amount` when `gen_ai.usage.cost.currency` is absent or `USD` (proposed), `gen_ai.usage.input_cost` + `gen_ai.usage.output_cost` (OpenLIT), `langfuse.observation.cost_details` (JSON `total`) |
//! | tool name | `gen_ai.tool.name`, `tool.name`, `ai.toolCall.name`, `traceloop.entity.name`, the span name |
//! | workflow type | `gen_ai.workflow.name`, `traceloop.workflow.name`, `gen_ai.agent.name`, `traceloop.entity.name`, the span name |
//! | error type | `error.type`; else, when the span status is ERROR, the `exception.type` of its first `exception` event (read by the caller: [`SpanFacts::set_exception_type`]); else `_OTHER` |
//!
//! Token counts follow the GenAI conventions: cache reads and writes are part of the input
//! count and reasoning is part of the output count, so they are never added on top.
//! `llm.usage.total_tokens` / `llm.token_count.total` / `gen_ai.usage.total_tokens` alone
//! cannot be split or priced and are not counted. A negative, absurd (over 10⁹) or
//! non-numeric token count makes the call's tokens invalid: the call is counted, its tokens
//! and cost are not.
//!
//! Which costs are trusted: a producer's cost wins over the pricing table, except a cost of 0
//! on a call with tokens — OpenLIT writes 0 for every model missing from its own price list
//! (and for all of them when it cannot fetch that list, offline), so 0 there means "not
//! priced by the producer": the call is priced from the table, or counted as unknown. A cost
//! above `pricing.max_cost_per_call_usd` is not taken either (see the collector).
//!
//! Which model names the series and which prices the call: the model asked for names it, so
//! a model's failed calls (which name only the requested model) and its successes (answered
//! by a dated version) share one series; the model that answered is priced first (a dated
//! version may have a price of its own), then the one asked for.

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
