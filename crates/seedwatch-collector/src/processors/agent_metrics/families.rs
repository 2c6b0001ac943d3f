//! The metric contract's families, registered under the configured namespace.

use std::sync::Arc;

use seedwatch_semconv::metric_names as names;

use super::Namespaced;
use super::genai_metrics::{GenAiMetrics, GenAiMetricsMode, GenAiUpdates};
use crate::derived_metrics::{CounterFamily, GaugeFamily, HistogramFamily, Increment, Observation};

/// Upper bounds of `{ns}_request_duration_seconds` (agents' HTTP server spans).
const REQUEST_DURATION_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Every family the processor updates.
#[derive(Debug)]
pub(super) struct Families {
    pub tool_executions: Arc<CounterFamily>,
    pub tool_errors: Arc<CounterFamily>,
    pub tool_duration: Arc<HistogramFamily>,
    pub llm_requests: Arc<CounterFamily>,
    pub llm_errors: Arc<CounterFamily>,
    pub llm_duration: Arc<HistogramFamily>,
    pub llm_tokens: Arc<CounterFamily>,
    pub llm_cost: Arc<CounterFamily>,
    pub llm_cost_unknown: Arc<CounterFamily>,
    pub llm_invalid_usage: Arc<CounterFamily>,
    pub llm_cost_rejected: Arc<CounterFamily>,
    pub workflow_duration: Arc<HistogramFamily>,
    pub requests: Arc<CounterFamily>,
    pub request_duration: Arc<HistogramFamily>,
    pub agent_last_seen: Arc<GaugeFamily>,
    pub memory_usage: Arc<GaugeFamily>,
    pub cpu_usage: Arc<GaugeFamily>,
    pub active_analyses: Arc<GaugeFamily>,
    pub security_events: Arc<CounterFamily>,
    /// The GenAI conventions' histograms, unless switched off.
    pub genai: Option<GenAiMetrics>,
}

impl Families {
    pub(super) fn register(r: &Namespaced<'_>, genai: GenAiMetricsMode) -> Self {
        Families {
            genai: GenAiMetrics::register(genai, r.registry, r.limits),
            tool_executions: r.counter(names::TOOL_EXECUTIONS, "Tool executions", &["tool_name"]),
            tool_errors: r.counter(names::TOOL_ERRORS, "Tool executions that failed", &["tool_name", "error_type"]),
            tool_duration: r.histogram(
                names::TOOL_DURATION,
                "Tool execution duration in seconds",
                &["tool_name"],
                &names::TOOL_DURATION_BUCKETS,
            ),
            llm_requests: r.counter(names::LLM_REQUESTS, "LLM API requests", &["provider", "model"]),
            llm_errors: r.counter(names::LLM_ERRORS, "LLM API requests that failed", &["provider", "error_type"]),
            llm_duration: r.histogram(
                names::LLM_DURATION,
                "LLM request duration in seconds",
                &["provider"],
                &names::LLM_DURATION_BUCKETS,
            ),
            llm_tokens: r.counter(
                names::LLM_TOKENS,
                "LLM tokens by type (cache and reasoning are subsets of input and output)",
                &["provider", "model", "type"],
            ),
            llm_cost: r.counter(names::LLM_COST, "LLM cost in US dollars", &["provider", "model"]),
            llm_cost_unknown: r.counter(
                names::LLM_COST_UNKNOWN,
                "LLM requests whose cost is unknown (model not in the pricing table, or no token counts)",
                &["provider", "model"],
            ),
            llm_invalid_usage: r.counter(
                "llm_invalid_usage",
                "LLM requests whose token counts were negative, absurd or not numbers (not counted as tokens or cost)",
                &["provider", "model"],
            ),
            llm_cost_rejected: r.counter(
                "llm_cost_rejected",
                "LLM costs not charged as given because they exceed pricing.max_cost_per_call_usd (priced from tokens instead when possible)",
                &["provider", "model"],
            ),
            workflow_duration: r.histogram(
                names::WORKFLOW_DURATION,
                "Workflow (or agent invocation) duration in seconds",
                &["workflow_type", "status"],
                &names::WORKFLOW_DURATION_BUCKETS,
            ),
            requests: r.counter("requests", "HTTP requests served by agents", &["method", "endpoint"]),
            request_duration: r.histogram(
                "request_duration_seconds",
                "HTTP request duration in seconds, agents' server spans",
                &[],
                &REQUEST_DURATION_BUCKETS,
            ),
            agent_last_seen: r.gauge(
                "agent_last_seen_timestamp_seconds",
                "When each agent instance last sent telemetry (unix seconds)",
                &["service", "instance"],
            ),
            memory_usage: r.gauge("memory_usage_bytes", "Agent memory usage in bytes", &["service", "instance"]),
            cpu_usage: r.gauge("cpu_usage_percent", "Agent CPU usage in percent", &["service", "instance"]),
            active_analyses: r.gauge(
                "active_analyses",
                "Analyses (workflows) running in each agent",
                &["service", "instance"],
            ),
            security_events: r.counter(
                "security_events",
                "Agents' audit and security events (access attempts, API key use, sensitive operations, authentication failures, rate limits, tool executions) by outcome",
                &["service", "event", "outcome"],
            ),
        }
    }
}

/// The span path's updates over one batch, borrowed from the batch and applied at its end with
/// one lock (and one clock read) per family instead of one per update.
#[derive(Debug, Default)]
pub(super) struct Updates<'a> {
    pub tool_executions: Vec<Increment<'a, 1>>,
    pub tool_errors: Vec<Increment<'a, 2>>,
    pub tool_duration: Vec<Observation<'a, 1>>,
    pub llm_requests: Vec<Increment<'a, 2>>,
    pub llm_errors: Vec<Increment<'a, 2>>,
    pub llm_duration: Vec<Observation<'a, 1>>,
    pub llm_tokens: Vec<Increment<'a, 3>>,
    pub llm_cost: Vec<Increment<'a, 2>>,
    pub llm_cost_unknown: Vec<Increment<'a, 2>>,
    pub llm_invalid_usage: Vec<Increment<'a, 2>>,
    pub llm_cost_rejected: Vec<Increment<'a, 2>>,
    pub workflow_duration: Vec<Observation<'a, 2>>,
    pub requests: Vec<Increment<'a, 2>>,
    pub request_duration: Vec<Observation<'a, 0>>,
    pub genai: GenAiUpdates<'a>,
}

impl Updates<'_> {
    /// Applies every update to `f`.
    pub(super) fn apply(&self, f: &Families) {
        f.tool_executions.inc_all(&self.tool_executions);
        f.tool_errors.inc_all(&self.tool_errors);
        f.tool_duration.observe_all(&self.tool_duration);
        f.llm_requests.inc_all(&self.llm_requests);
        f.llm_errors.inc_all(&self.llm_errors);
        f.llm_duration.observe_all(&self.llm_duration);
        f.llm_tokens.inc_all(&self.llm_tokens);
        f.llm_cost.inc_all(&self.llm_cost);
        f.llm_cost_unknown.inc_all(&self.llm_cost_unknown);
        f.llm_invalid_usage.inc_all(&self.llm_invalid_usage);
        f.llm_cost_rejected.inc_all(&self.llm_cost_rejected);
        f.workflow_duration.observe_all(&self.workflow_duration);
        f.requests.inc_all(&self.requests);
        f.request_duration.observe_all(&self.request_duration);
        if let Some(genai) = &f.genai {
            self.genai.apply(genai);
        }
    }
}
