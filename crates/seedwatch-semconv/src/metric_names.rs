//! The metric contract: names (after the configurable namespace, default `modelseed`) and
//! label names. The monitoring guide's alert rules and dashboards query these unchanged.

/// The default namespace.
pub const DEFAULT_NAMESPACE: &str = "modelseed";

/// `{ns}_tool_executions_total{tool_name}`.
pub const TOOL_EXECUTIONS: &str = "tool_executions";
/// `{ns}_tool_errors_total{tool_name,error_type}`.
pub const TOOL_ERRORS: &str = "tool_errors";
/// `{ns}_tool_duration_seconds{tool_name}` (histogram).
pub const TOOL_DURATION: &str = "tool_duration_seconds";
/// `{ns}_llm_requests_total{provider,model}`.
pub const LLM_REQUESTS: &str = "llm_requests";
/// `{ns}_llm_errors_total{provider,error_type}`.
pub const LLM_ERRORS: &str = "llm_errors";
/// `{ns}_llm_duration_seconds{provider}` (histogram).
pub const LLM_DURATION: &str = "llm_duration_seconds";
/// `{ns}_llm_tokens_total{provider,model,type}`.
pub const LLM_TOKENS: &str = "llm_tokens";
/// `{ns}_llm_cost_usd_total{provider,model}`.
pub const LLM_COST: &str = "llm_cost_usd";
/// `{ns}_llm_cost_unknown_total{provider,model}`: calls whose cost could not be known.
pub const LLM_COST_UNKNOWN: &str = "llm_cost_unknown";
/// `{ns}_workflow_duration_seconds{workflow_type,status}` (histogram).
pub const WORKFLOW_DURATION: &str = "workflow_duration_seconds";
/// `{ns}_workflow_cost_usd{workflow_type}` (histogram).
pub const WORKFLOW_COST: &str = "workflow_cost_usd";

/// Token `type` label values.
pub mod token_type {
    /// Input tokens (cached included).
    pub const INPUT: &str = "input";
    /// Output tokens (reasoning included).
    pub const OUTPUT: &str = "output";
    /// Input tokens read from cache.
    pub const CACHE_READ: &str = "cache_read";
    /// Input tokens written to cache.
    pub const CACHE_CREATION: &str = "cache_creation";
    /// Output tokens spent reasoning.
    pub const REASONING: &str = "reasoning";
}

/// Tool durations: milliseconds to many minutes (an FBA run or a gap-fill can take long).
pub const TOOL_DURATION_BUCKETS: [f64; 16] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
/// LLM call durations: sub-second to several minutes (long reasoning calls).
pub const LLM_DURATION_BUCKETS: [f64; 14] =
    [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0];
/// Workflow durations: seconds to hours.
pub const WORKFLOW_DURATION_BUCKETS: [f64; 13] =
    [0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0];
/// Workflow costs: a tenth of a cent to tens of dollars.
pub const WORKFLOW_COST_BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 50.0];

/// The GenAI semantic conventions' own histograms, which the collector also derives from
/// spans (under these names, not the namespace) for dashboards built on the conventions.
pub mod gen_ai {
    /// `gen_ai.client.operation.duration`: one LLM call, seconds.
    pub const CLIENT_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
    /// `gen_ai.client.token.usage`: tokens of one LLM call, by `gen_ai.token.type`.
    pub const CLIENT_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
    /// `gen_ai.execute_tool.duration`: one tool execution, seconds.
    pub const EXECUTE_TOOL_DURATION: &str = "gen_ai.execute_tool.duration";
    /// `gen_ai.invoke_agent.duration`: one agent invocation, seconds.
    pub const INVOKE_AGENT_DURATION: &str = "gen_ai.invoke_agent.duration";
    /// `gen_ai.workflow.duration`: one workflow, seconds.
    pub const WORKFLOW_DURATION: &str = "gen_ai.workflow.duration";
    /// The conventions' explicit bucket advice for durations, seconds.
    pub const DURATION_BUCKETS: [f64; 14] =
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    /// The conventions' explicit bucket advice for token counts.
    pub const TOKEN_BUCKETS: [f64; 14] = [
        1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
        67108864.0,
    ];

    /// The Prometheus name of one of the histograms (OpenTelemetry's translation: dots to
    /// underscores, the unit `s` as `_seconds`).
    pub fn prometheus_name(name: &str) -> String {
        let base = name.replace('.', "_");
        if name == CLIENT_TOKEN_USAGE { base } else { format!("{base}_seconds") }
    }
}
