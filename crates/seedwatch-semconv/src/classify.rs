//! Maps a span, whatever dialect produced it, to one canonical agent event.

use crate::facts::{Count, SpanFacts};
use crate::json_attributes::{langfuse_total_cost, langfuse_usage, model_of_parameters};
use crate::provider;

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
    /// Of `cache_creation`, those written for an hour (Anthropic prices them higher than the
    /// default five minutes).
    pub cache_write_1h: u64,
    /// Output tokens spent reasoning.
    pub reasoning: u64,
}

/// An LLM call span.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCall<'a> {
    /// The GenAI operation: `gen_ai.operation.name` when the span names one, else `embeddings`
    /// for embedding spans of the other dialects and `chat` for the rest.
    pub operation: &'a str,
    /// The provider, as its well-known name (`unknown` when no dialect names one).
    pub provider: &'a str,
    /// The model the caller asked for, else the one that answered (`unknown` when none is
    /// named): the `model` label, so a model's failed calls (which name only the requested
    /// model) and its successes (answered by a dated version) share one series.
    pub model: &'a str,
    /// The model that answered, when it differs from `model`: priced first, since a dated
    /// version may have a price of its own.
    pub response_model: Option<&'a str>,
    /// Token usage.
    pub tokens: Tokens,
    /// True when some token attribute was negative, absurd or not a number: the call is
    /// counted, its tokens and cost are not.
    pub invalid_tokens: bool,
    /// True when tokens are known (at least input or output was reported).
    pub has_usage: bool,
    /// A cost already computed by the instrumentation (it wins over the pricing table). A
    /// cost of 0 on a call with tokens is not taken: producers write 0 for models missing
    /// from their own price lists.
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

/// The Vercel AI SDK's spans that are one call to a model; the outer `ai.generateText` (and
/// like) spans carry the same usage summed over their steps and are not calls.
const VERCEL_CALLS: [&str; 6] = [
    "ai.generateText.doGenerate",
    "ai.streamText.doStream",
    "ai.generateObject.doGenerate",
    "ai.streamObject.doStream",
    "ai.embed.doEmbed",
    "ai.embedMany.doEmbed",
];

/// Classifies a span. See the crate documentation for the full mapping table.
pub fn classify<'a>(facts: &SpanFacts<'a>, span: SpanInfo<'a>) -> AgentEvent<'a> {
    // Error type: `error.type`, else the exception event's `exception.type`, else `_OTHER`.
    let error = facts.error_type.get().or(span.status_error.then(|| facts.exception_type.unwrap_or(OTHER_ERROR)));
    match kind(facts, span) {
        Kind::Workflow(kind) => AgentEvent::Workflow(Workflow {
            name: facts.workflow_name.get().or(facts.agent_name.get()).or(facts.entity_name.get()).unwrap_or(span.name),
            kind,
            id: facts.workflow_id.get(),
            error,
        }),
        Kind::Tool => AgentEvent::Tool(ToolCall {
            name: facts.tool_name.get().or(facts.entity_name.get()).unwrap_or(span.name),
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
    if let Some(op) = facts.vercel_operation.get() {
        return match op {
            op if VERCEL_CALLS.contains(&op) => Kind::Llm,
            "ai.toolCall" => Kind::Tool,
            _ => Kind::Other,
        };
    }
    if let Some(op) = facts.operation.get() {
        return match op {
            "execute_tool" => Kind::Tool,
            "invoke_agent" => Kind::Workflow(WorkflowKind::Agent),
            "invoke_workflow" => Kind::Workflow(WorkflowKind::Workflow),
            op if LLM_OPERATIONS.contains(&op) => Kind::Llm,
            // create_agent, plan and operations yet unknown are not calls we meter.
            _ => Kind::Other,
        };
    }
    if let Some(k) = facts.openinference_kind.get() {
        return match k.to_ascii_uppercase().as_str() {
            "LLM" | "EMBEDDING" => Kind::Llm,
            "TOOL" => Kind::Tool,
            "AGENT" => Kind::Workflow(WorkflowKind::Agent),
            "CHAIN" if span.is_root => Kind::Workflow(WorkflowKind::Workflow),
            _ => Kind::Other,
        };
    }
    if let Some(k) = facts.traceloop_kind.get() {
        return match k {
            "workflow" => Kind::Workflow(WorkflowKind::Workflow),
            "agent" => Kind::Workflow(WorkflowKind::Agent),
            "tool" => Kind::Tool,
            _ => Kind::Other,
        };
    }
    if let Some(t) = facts.langfuse_type.get() {
        return match t {
            "generation" | "embedding" => Kind::Llm,
            "tool" => Kind::Tool,
            "agent" => Kind::Workflow(WorkflowKind::Agent),
            "chain" if span.is_root => Kind::Workflow(WorkflowKind::Workflow),
            _ => Kind::Other,
        };
    }
    if facts.llm_request_type.get().is_some() {
        return Kind::Llm;
    }
    if facts.tool_name.get().is_some() {
        return Kind::Tool;
    }
    let has_model = facts.request_model.get().or(facts.response_model.get()).is_some();
    if has_model && facts.input_tokens.get().is_some() { Kind::Llm } else { Kind::Other }
}

fn llm_call<'a>(facts: &SpanFacts<'a>, error: Option<&'a str>) -> LlmCall<'a> {
    let mut counts = [
        facts.input_tokens.count(),
        facts.output_tokens.count(),
        facts.cache_read.count(),
        facts.cache_write.count(),
        facts.reasoning.count(),
        facts.cache_write_1h.count(),
    ];
    if counts[..2] == [Count::Absent; 2]
        && let Some(u) = facts.langfuse_usage.get().and_then(langfuse_usage)
    {
        counts = [u.input, u.output, u.cache_read, u.cache_write, u.reasoning, Count::Absent];
    }
    let [input, output, ..] = counts;
    let invalid_tokens = counts.contains(&Count::Invalid);
    let value = |c: Count| if let Count::Valid(n) = c { n } else { 0 };
    let tokens = if invalid_tokens {
        Tokens::default()
    } else {
        Tokens {
            input: value(counts[0]),
            output: value(counts[1]),
            cache_read: value(counts[2]),
            cache_creation: value(counts[3]),
            reasoning: value(counts[4]),
            cache_write_1h: value(counts[5]).min(value(counts[3])),
        }
    };
    let has_usage = !invalid_tokens && (matches!(input, Count::Valid(_)) || matches!(output, Count::Valid(_)));
    let model = facts
        .request_model
        .get()
        .or_else(|| facts.invocation_parameters.get().and_then(model_of_parameters))
        .or(facts.response_model.get())
        .unwrap_or(UNKNOWN);
    LlmCall {
        operation: operation(facts),
        provider: facts.provider.get().map_or(UNKNOWN, provider::normalise),
        model,
        response_model: facts.response_model.get().filter(|r| *r != model),
        tokens,
        invalid_tokens,
        has_usage,
        cost_usd: producer_cost(facts).filter(|c| *c > 0.0 || tokens.input + tokens.output == 0),
        error,
    }
}

fn operation<'a>(facts: &SpanFacts<'a>) -> &'a str {
    if let Some(op) = facts.operation.get() {
        return op;
    }
    let embedding = facts.openinference_kind.get().is_some_and(|k| k.eq_ignore_ascii_case("EMBEDDING"))
        || facts.vercel_operation.get().is_some_and(|op| op.starts_with("ai.embed"))
        || facts.langfuse_type.get() == Some("embedding")
        || facts.llm_request_type.get() == Some("embedding");
    match facts.llm_request_type.get() {
        _ if embedding => "embeddings",
        Some("completion") => "text_completion",
        _ => "chat",
    }
}

/// The cost the producer states, in order: seedwatch's own, OpenInference's, OpenLIT's,
/// Pydantic AI's, the proposed `gen_ai.usage.cost.amount` (in USD only), OpenLIT's split
/// input and output costs, Langfuse's cost details.
fn producer_cost(facts: &SpanFacts<'_>) -> Option<f64> {
    facts
        .cost
        .get()
        .or_else(|| {
            let usd = facts.cost_currency.get().is_none_or(|c| c.eq_ignore_ascii_case("USD"));
            facts.cost_amount.get().filter(|_| usd)
        })
        .or_else(|| match (facts.input_cost.get(), facts.output_cost.get()) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0.0) + o.unwrap_or(0.0)),
        })
        .or_else(|| facts.langfuse_cost.get().and_then(langfuse_total_cost))
}
