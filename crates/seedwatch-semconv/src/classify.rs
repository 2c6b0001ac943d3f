//! Maps a span, whatever dialect produced it, to one canonical agent event.

use crate::facts::{Count, SpanFacts};

/// What the span is not told by its attributes: its name, whether it is a trace root, and
/// whether its status is ERROR.
#[derive(Debug, Clone, Copy)]
pub struct SpanInfo<'a> {
    /// The span name.
    pub name: &'a str,
    /// No parent span.
    pub is_root: bool,
    /// Status code ERROR.
    pub status_error: bool,
}

/// The canonical form of an agent span.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent<'a> {
    /// A workflow or agent invocation: the root the roll-up sums under.
    Workflow(Workflow<'a>),
    /// A tool execution.
    Tool(ToolCall<'a>),
    /// A call to an LLM (chat, completion, embeddings...).
    Llm(LlmCall<'a>),
    /// Anything else (HTTP, database, a chain step...).
    Other,
}

/// Whether a root is a workflow or an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowKind {
    /// `invoke_workflow`, Traceloop `workflow`, a root OpenInference `CHAIN`.
    Workflow,
    /// `invoke_agent`, Traceloop `agent`, OpenInference `AGENT`.
    Agent,
}

/// A workflow or agent span.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow<'a> {
    /// The workflow type (the `workflow_type` label): its name, else the agent's, else the span's.
    pub name: &'a str,
    /// Workflow or agent.
    pub kind: WorkflowKind,
    /// The guide's workflow id, when the agent sets one.
    pub id: Option<&'a str>,
    /// The error type when the span failed.
    pub error: Option<&'a str>,
}

/// A tool execution span.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall<'a> {
    /// The tool's name.
    pub name: &'a str,
    /// The error type when the call failed.
    pub error: Option<&'a str>,
}

/// Token usage of one LLM call. Following the GenAI conventions, cache reads and writes are
/// part of `input`, and reasoning tokens are part of `output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Input tokens, cached ones included.
    pub input: u64,
    /// Output tokens, reasoning ones included.
    pub output: u64,
    /// Input tokens read from the cache.
    pub cache_read: u64,
    /// Input tokens written to the cache.
    pub cache_creation: u64,
    /// Output tokens spent reasoning.
    pub reasoning: u64,
}

/// An LLM call span.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCall<'a> {
    /// The provider (`unknown` when no dialect names one).
    pub provider: &'a str,
    /// The model that answered, else the one requested (`unknown` when none is named).
    pub model: &'a str,
    /// The requested model when it differs from `model`, for pricing fallbacks.
    pub request_model: Option<&'a str>,
    /// Token usage.
    pub tokens: Tokens,
    /// True when some token attribute was negative, absurd or not a number: the call is
    /// counted, its tokens and cost are not.
    pub invalid_tokens: bool,
    /// True when tokens are known (at least input or output was reported).
    pub has_usage: bool,
    /// A cost already computed by the instrumentation (it wins over the pricing table).
    pub cost_usd: Option<f64>,
    /// The error type when the call failed.
    pub error: Option<&'a str>,
}

/// The `error_type` used when a span failed without saying how (as the GenAI conventions do).
pub const OTHER_ERROR: &str = "_OTHER";
/// The label used when a provider or model is not named.
pub const UNKNOWN: &str = "unknown";

const LLM_OPERATIONS: [&str; 6] =
    ["chat", "text_completion", "generate_content", "embeddings", "completion", "embedding"];

/// Classifies a span. See the crate documentation for the full mapping table.
pub fn classify<'a>(facts: &SpanFacts<'a>, span: SpanInfo<'a>) -> AgentEvent<'a> {
    let error = facts.error_type.or(span.status_error.then_some(OTHER_ERROR));
    match kind(facts, span) {
        Kind::Workflow(kind) => AgentEvent::Workflow(Workflow {
            name: facts
                .workflow_name
                .or(facts.traceloop_workflow_name)
                .or(facts.agent_name)
                .or(facts.entity_name)
                .unwrap_or(span.name),
            kind,
            id: facts.workflow_id,
            error,
        }),
        Kind::Tool => AgentEvent::Tool(ToolCall {
            name: facts.tool_name.or(facts.oi_tool_name).or(facts.entity_name).unwrap_or(span.name),
            error,
        }),
        Kind::Llm => AgentEvent::Llm(llm_call(facts, error)),
        Kind::Other => AgentEvent::Other,
    }
}

enum Kind {
    Workflow(WorkflowKind),
    Tool,
    Llm,
    Other,
}

fn kind(facts: &SpanFacts<'_>, span: SpanInfo<'_>) -> Kind {
    if let Some(op) = facts.operation {
        return match op {
            "execute_tool" => Kind::Tool,
            "invoke_agent" => Kind::Workflow(WorkflowKind::Agent),
            "invoke_workflow" => Kind::Workflow(WorkflowKind::Workflow),
            op if LLM_OPERATIONS.contains(&op) => Kind::Llm,
            // create_agent and operations yet unknown are not calls we meter.
            _ => Kind::Other,
        };
    }
    if let Some(k) = facts.openinference_kind {
        return match k.to_ascii_uppercase().as_str() {
            "LLM" | "EMBEDDING" => Kind::Llm,
            "TOOL" => Kind::Tool,
            "AGENT" => Kind::Workflow(WorkflowKind::Agent),
            "CHAIN" if span.is_root => Kind::Workflow(WorkflowKind::Workflow),
            _ => Kind::Other,
        };
    }
    if let Some(k) = facts.traceloop_kind {
        return match k {
            "workflow" => Kind::Workflow(WorkflowKind::Workflow),
            "agent" => Kind::Workflow(WorkflowKind::Agent),
            "tool" => Kind::Tool,
            _ => Kind::Other,
        };
    }
    if facts.llm_request_type.is_some() {
        return Kind::Llm;
    }
    if facts.tool_name.is_some() || facts.oi_tool_name.is_some() {
        return Kind::Tool;
    }
    let has_model = facts.request_model.or(facts.response_model).or(facts.llm_model_name).is_some();
    let has_tokens =
        [facts.input_tokens, facts.prompt_tokens, facts.oi_prompt_tokens].iter().any(|c| *c != Count::Absent);
    if has_model && has_tokens { Kind::Llm } else { Kind::Other }
}

fn llm_call<'a>(facts: &SpanFacts<'a>, error: Option<&'a str>) -> LlmCall<'a> {
    let input = facts.input_tokens.or(facts.prompt_tokens).or(facts.oi_prompt_tokens);
    let output = facts.output_tokens.or(facts.completion_tokens).or(facts.oi_completion_tokens);
    let cache_read = facts.cache_read.or(facts.oi_cache_read);
    let cache_creation = facts.cache_creation.or(facts.oi_cache_write);
    let reasoning = facts.reasoning.or(facts.oi_reasoning);
    let counts = [input, output, cache_read, cache_creation, reasoning];
    let invalid_tokens = counts.contains(&Count::Invalid);
    let value = |c: Count| if let Count::Valid(n) = c { n } else { 0 };
    let tokens = if invalid_tokens {
        Tokens::default()
    } else {
        Tokens {
            input: value(input),
            output: value(output),
            cache_read: value(cache_read),
            cache_creation: value(cache_creation),
            reasoning: value(reasoning),
        }
    };
    let split_cost = match (facts.input_cost, facts.output_cost) {
        (None, None) => None,
        (i, o) => Some(i.unwrap_or(0.0) + o.unwrap_or(0.0)),
    };
    let response = facts.response_model.or(facts.llm_model_name);
    let model = response.or(facts.request_model).unwrap_or(UNKNOWN);
    LlmCall {
        provider: facts.provider_name.or(facts.system).or(facts.llm_provider).or(facts.llm_system).unwrap_or(UNKNOWN),
        model,
        request_model: facts.request_model.filter(|r| *r != model),
        tokens,
        invalid_tokens,
        has_usage: !invalid_tokens && (matches!(input, Count::Valid(_)) || matches!(output, Count::Valid(_))),
        cost_usd: facts.seedwatch_cost.or(facts.openinference_cost).or(facts.openlit_cost).or(split_cost),
        error,
    }
}
