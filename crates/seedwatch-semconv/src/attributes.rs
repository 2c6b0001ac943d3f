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
    /// Input tokens written to the provider's cache (a subset of input tokens).
    pub const USAGE_CACHE_CREATION_INPUT_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
    /// Reasoning tokens (a subset of output tokens).
    pub const USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
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
