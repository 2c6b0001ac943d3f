//! Attribute names of every dialect the classifier reads.

/// OpenTelemetry GenAI semantic conventions (current names).
pub mod gen_ai {
    /// `chat`, `text_completion`, `generate_content`, `embeddings`, `execute_tool`, `invoke_agent`, ...
    pub const OPERATION_NAME: &str = "gen_ai.operation.name";
    /// The provider, e.g. `openai`, `anthropic`, `gcp.gemini`.
    pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
    /// Deprecated provider attribute, still widely emitted.
    pub const SYSTEM: &str = "gen_ai.system";
    /// The model asked for.
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    /// The model that answered (often a dated version).
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// Input tokens, including cached ones.
    pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// Output tokens, including reasoning ones.
    pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    /// Input tokens read from the provider's cache (a subset of input tokens).
    pub const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
    /// Input tokens written to the provider's cache (a subset of input tokens); the name since
    /// August 2026.
    pub const USAGE_CACHE_WRITE_INPUT_TOKENS: &str = "gen_ai.usage.cache_write.input_tokens";
    /// The name of [`USAGE_CACHE_WRITE_INPUT_TOKENS`] before August 2026 (OpenLIT, Pydantic AI).
    pub const USAGE_CACHE_CREATION_INPUT_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
    /// Reasoning tokens (a subset of output tokens).
    pub const USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
    /// OpenLLMetry (≥ 0.55) and OpenLIT (Responses API): reasoning tokens.
    pub const USAGE_REASONING_TOKENS: &str = "gen_ai.usage.reasoning_tokens";
    /// OpenLLMetry ≤ 0.54: cache reads.
    pub const USAGE_CACHE_READ_INPUT_TOKENS_LEGACY: &str = "gen_ai.usage.cache_read_input_tokens";
    /// OpenLLMetry ≤ 0.54: cache writes.
    pub const USAGE_CACHE_CREATION_INPUT_TOKENS_LEGACY: &str = "gen_ai.usage.cache_creation_input_tokens";
    /// OpenLLMetry: total tokens (not split; not priceable alone).
    pub const USAGE_TOTAL_TOKENS: &str = "gen_ai.usage.total_tokens";
    /// Proposed (not yet standard): the call's cost.
    pub const USAGE_COST_AMOUNT: &str = "gen_ai.usage.cost.amount";
    /// Proposed (not yet standard): the currency of [`USAGE_COST_AMOUNT`]; only `USD` is taken.
    pub const USAGE_COST_CURRENCY: &str = "gen_ai.usage.cost.currency";
    /// Deprecated name of input tokens.
    pub const USAGE_PROMPT_TOKENS: &str = "gen_ai.usage.prompt_tokens";
    /// Deprecated name of output tokens.
    pub const USAGE_COMPLETION_TOKENS: &str = "gen_ai.usage.completion_tokens";
    /// The tool's name on `execute_tool` spans.
    pub const TOOL_NAME: &str = "gen_ai.tool.name";
    /// The tool call's id.
    pub const TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
    /// The agent's name.
    pub const AGENT_NAME: &str = "gen_ai.agent.name";
    /// The workflow's name.
    pub const WORKFLOW_NAME: &str = "gen_ai.workflow.name";
    /// OpenLIT and others: total cost in USD.
    pub const USAGE_COST: &str = "gen_ai.usage.cost";
    /// OpenLIT and others: input cost in USD.
    pub const USAGE_INPUT_COST: &str = "gen_ai.usage.input_cost";
    /// OpenLIT and others: output cost in USD.
    pub const USAGE_OUTPUT_COST: &str = "gen_ai.usage.output_cost";
}

/// General OpenTelemetry attributes.
pub mod otel {
    /// The class of error, e.g. `timeout`, `RateLimitError`.
    pub const ERROR_TYPE: &str = "error.type";
    /// The name of the span event that records an exception.
    pub const EXCEPTION_EVENT: &str = "exception";
    /// The exception's type, on an [`EXCEPTION_EVENT`] (e.g. `openai.RateLimitError`).
    pub const EXCEPTION_TYPE: &str = "exception.type";
}

/// Pydantic AI / Logfire.
pub mod pydantic_ai {
    /// Cache reads (also sent as `gen_ai.usage.cache_read.input_tokens`).
    pub const USAGE_DETAILS_CACHE_READ_TOKENS: &str = "gen_ai.usage.details.cache_read_tokens";
    /// Cache writes (also sent as `gen_ai.usage.cache_creation.input_tokens`).
    pub const USAGE_DETAILS_CACHE_WRITE_TOKENS: &str = "gen_ai.usage.details.cache_write_tokens";
    /// Anthropic cache writes with a one-hour lifetime (a subset of the cache writes).
    pub const USAGE_DETAILS_CACHE_WRITE_1H_TOKENS: &str = "gen_ai.usage.details.ephemeral_1h_input_tokens";
    /// Reasoning tokens.
    pub const USAGE_DETAILS_REASONING_TOKENS: &str = "gen_ai.usage.details.reasoning_tokens";
    /// The call's cost in USD (from the `genai-prices` package).
    pub const OPERATION_COST: &str = "operation.cost";
}

/// Vercel AI SDK (npm `ai`, versions 4 to 6).
pub mod vercel_ai {
    /// `ai.generateText`, `ai.generateText.doGenerate`, `ai.toolCall`, ...
    pub const OPERATION_ID: &str = "ai.operationId";
    /// The model asked for.
    pub const MODEL_ID: &str = "ai.model.id";
    /// The provider with its API, e.g. `openai.chat`, `anthropic.messages`.
    pub const MODEL_PROVIDER: &str = "ai.model.provider";
    /// The model that answered.
    pub const RESPONSE_MODEL: &str = "ai.response.model";
    /// v4: input tokens.
    pub const USAGE_PROMPT_TOKENS: &str = "ai.usage.promptTokens";
    /// v4: output tokens.
    pub const USAGE_COMPLETION_TOKENS: &str = "ai.usage.completionTokens";
    /// v5 and later: input tokens (cached ones included).
    pub const USAGE_INPUT_TOKENS: &str = "ai.usage.inputTokens";
    /// v5 and later: output tokens (reasoning included).
    pub const USAGE_OUTPUT_TOKENS: &str = "ai.usage.outputTokens";
    /// Embeddings: input tokens.
    pub const USAGE_TOKENS: &str = "ai.usage.tokens";
    /// v5: cache reads.
    pub const USAGE_CACHED_INPUT_TOKENS: &str = "ai.usage.cachedInputTokens";
    /// v6: cache reads.
    pub const USAGE_CACHE_READ_TOKENS: &str = "ai.usage.inputTokenDetails.cacheReadTokens";
    /// v6: cache writes.
    pub const USAGE_CACHE_WRITE_TOKENS: &str = "ai.usage.inputTokenDetails.cacheWriteTokens";
    /// v5: reasoning tokens.
    pub const USAGE_REASONING_TOKENS: &str = "ai.usage.reasoningTokens";
    /// v6: reasoning tokens.
    pub const USAGE_OUTPUT_REASONING_TOKENS: &str = "ai.usage.outputTokenDetails.reasoningTokens";
    /// The tool's name on `ai.toolCall` spans.
    pub const TOOL_CALL_NAME: &str = "ai.toolCall.name";
}

/// Langfuse (SDK v3 and later, OpenTelemetry based).
pub mod langfuse {
    /// `generation`, `embedding`, `agent`, `tool`, `chain`, `span`, `event`, ...
    pub const OBSERVATION_TYPE: &str = "langfuse.observation.type";
    /// The model.
    pub const MODEL_NAME: &str = "langfuse.observation.model.name";
    /// Usage as a JSON object (`{"input": 10, "output": 2, ...}`).
    pub const USAGE_DETAILS: &str = "langfuse.observation.usage_details";
    /// Costs as a JSON object (`{"total": 0.0012, ...}`).
    pub const COST_DETAILS: &str = "langfuse.observation.cost_details";
}

/// OpenLLMetry / Traceloop.
pub mod traceloop {
    /// `workflow`, `task`, `agent`, `tool`.
    pub const SPAN_KIND: &str = "traceloop.span.kind";
    /// The workflow's name.
    pub const WORKFLOW_NAME: &str = "traceloop.workflow.name";
    /// The entity (workflow, task, agent or tool) name.
    pub const ENTITY_NAME: &str = "traceloop.entity.name";
    /// `chat`, `completion`, `embedding`, `rerank` on LLM spans.
    pub const LLM_REQUEST_TYPE: &str = "llm.request.type";
    /// Total tokens (not split; not priceable alone).
    pub const LLM_USAGE_TOTAL_TOKENS: &str = "llm.usage.total_tokens";
}

/// OpenInference / Arize Phoenix.
pub mod openinference {
    /// `LLM`, `EMBEDDING`, `TOOL`, `AGENT`, `CHAIN`, `RETRIEVER`, `RERANKER`, `GUARDRAIL`, `EVALUATOR`.
    pub const SPAN_KIND: &str = "openinference.span.kind";
    /// The model.
    pub const LLM_MODEL_NAME: &str = "llm.model_name";
    /// The provider (e.g. `openai`, `azure`).
    pub const LLM_PROVIDER: &str = "llm.provider";
    /// The AI product (e.g. `openai`, `anthropic`).
    pub const LLM_SYSTEM: &str = "llm.system";
    /// Prompt tokens.
    pub const LLM_TOKEN_COUNT_PROMPT: &str = "llm.token_count.prompt";
    /// Completion tokens.
    pub const LLM_TOKEN_COUNT_COMPLETION: &str = "llm.token_count.completion";
    /// Total tokens.
    pub const LLM_TOKEN_COUNT_TOTAL: &str = "llm.token_count.total";
    /// Prompt tokens read from cache.
    pub const LLM_TOKEN_COUNT_CACHE_READ: &str = "llm.token_count.prompt_details.cache_read";
    /// Prompt tokens written to cache.
    pub const LLM_TOKEN_COUNT_CACHE_WRITE: &str = "llm.token_count.prompt_details.cache_write";
    /// Reasoning tokens in the completion.
    pub const LLM_TOKEN_COUNT_REASONING: &str = "llm.token_count.completion_details.reasoning";
    /// The tool's name.
    pub const TOOL_NAME: &str = "tool.name";
    /// Total cost in USD.
    pub const LLM_COST_TOTAL: &str = "llm.cost.total";
    /// The request's parameters as JSON (`{"model": "gpt-4o", ...}`): the only place a failed
    /// call names its model.
    pub const LLM_INVOCATION_PARAMETERS: &str = "llm.invocation_parameters";
    /// The embedding model.
    pub const EMBEDDING_MODEL_NAME: &str = "embedding.model_name";
    /// An embedding request's parameters as JSON.
    pub const EMBEDDING_INVOCATION_PARAMETERS: &str = "embedding.invocation_parameters";
}

/// Attributes seedwatch's own agent crate sets.
pub mod seedwatch {
    /// Cost in USD the agent computed from the shared pricing table.
    pub const LLM_COST_USD: &str = "seedwatch.llm.cost_usd";
    /// The workflow's id (the guide's `workflow_id`).
    pub const WORKFLOW_ID: &str = "seedwatch.workflow.id";
    /// Gauge an agent sends with the result of each of its own health checks: 0 passes,
    /// 1 degraded, 2 unhealthy; the check's name in [`HEALTH_CHECK`].
    pub const HEALTH_STATUS_METRIC: &str = "seedwatch.health.status";
    /// The check a [`HEALTH_STATUS_METRIC`] data point is about (`database`, `llm`, ...).
    pub const HEALTH_CHECK: &str = "seedwatch.health.check";
    /// `event.name` of the log record made when an agent's health state changes.
    pub const AGENT_HEALTH_CHANGED_EVENT: &str = "seedwatch.agent.health_changed";
}
