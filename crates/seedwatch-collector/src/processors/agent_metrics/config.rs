//! Config of the `agent_metrics` processor.

use std::path::PathBuf;
use std::time::Duration;

use seedwatch_semconv::metric_names::DEFAULT_NAMESPACE;
use seedwatch_semconv::pricing::{ModelEntry, validate_entries};
use serde::Deserialize;

use super::genai_metrics::GenAiMetricsMode;
use crate::agents::AgentHealthConfig;
use crate::budgets::BudgetsConfig;
use crate::config::{Problem, Validate};

/// Derives the agent metric contract from spans.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentMetricsConfig {
    /// Prefix of every derived metric (`modelseed_tool_executions_total`, ...).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Bounds on label combinations.
    #[serde(default)]
    pub cardinality: CardinalityConfig,
    /// LLM prices.
    #[serde(default)]
    pub pricing: PricingConfig,
    /// Per-workflow roll-up of cost, tokens, tool calls and errors.
    #[serde(default)]
    pub workflows: WorkflowConfig,
    /// Health state of each agent instance.
    #[serde(default)]
    pub health: AgentHealthConfig,
    /// LLM cost budgets.
    #[serde(default)]
    pub budgets: BudgetsConfig,
    /// The GenAI conventions' histograms from spans: `auto` (for each service, those it does
    /// not send itself), `always` or `off` (the default; see [`GenAiMetricsMode`]).
    #[serde(default)]
    pub genai_metrics: GenAiMetricsMode,
}

impl Default for AgentMetricsConfig {
    fn default() -> Self {
        AgentMetricsConfig {
            namespace: default_namespace(),
            cardinality: CardinalityConfig::default(),
            pricing: PricingConfig::default(),
            workflows: WorkflowConfig::default(),
            health: AgentHealthConfig::default(),
            budgets: BudgetsConfig::default(),
            genai_metrics: GenAiMetricsMode::default(),
        }
    }
}

/// The workflow roll-up: spans of one trace arrive out of order and in different requests,
/// so they are summed in bounded memory until the workflow can be closed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowConfig {
    /// Once a workflow's root span has arrived, close it after this long without new spans
    /// of its trace.
    #[serde(default = "default_idle_timeout", with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A trace whose workflow root never arrives is dropped after this long (counted).
    #[serde(default = "default_max_wait", with = "humantime_serde")]
    pub max_wait: Duration,
    /// Traces held at once; beyond it the oldest is closed early (counted).
    #[serde(default = "default_max_traces")]
    pub max_traces: usize,
    /// Send one summary log record per workflow to the exporters.
    #[serde(default = "crate::config::default_true")]
    pub summaries: bool,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        WorkflowConfig {
            idle_timeout: default_idle_timeout(),
            max_wait: default_max_wait(),
            max_traces: default_max_traces(),
            summaries: true,
        }
    }
}

fn default_idle_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_max_wait() -> Duration {
    Duration::from_secs(300)
}
fn default_max_traces() -> usize {
    10_000
}

fn default_namespace() -> String {
    DEFAULT_NAMESPACE.to_owned()
}

/// Bounds on label combinations of every derived metric.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardinalityConfig {
    /// Label combinations per metric; beyond it, data goes to a series whose labels are all
    /// `__overflow__`, counted in `seedwatch_derived_series_overflow_total`.
    #[serde(default = "default_max_series")]
    pub max_series_per_metric: usize,
    /// A series not updated for this long expires.
    #[serde(default = "default_series_ttl", with = "humantime_serde")]
    pub series_ttl: Duration,
}

impl Default for CardinalityConfig {
    fn default() -> Self {
        CardinalityConfig { max_series_per_metric: default_max_series(), series_ttl: default_series_ttl() }
    }
}

fn default_max_series() -> usize {
    2000
}
fn default_series_ttl() -> Duration {
    Duration::from_secs(3600)
}

/// Where prices come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// A pricing file (format of `otel-config/pricing.yaml`), reloaded when it changes;
    /// without it, the table embedded in the binary.
    pub file: Option<PathBuf>,
    /// How often the file is checked for changes.
    #[serde(default = "default_reload_interval", with = "humantime_serde")]
    pub reload_interval: Duration,
    /// Entries that replace or extend the table's.
    #[serde(default)]
    pub models: Vec<ModelEntry>,
    /// The most one LLM call can plausibly cost, USD. A cost a span states above it is not
    /// taken (the call is priced from its tokens instead, when it can be), and a cost from
    /// tokens above it is not charged either; both are counted in `{ns}_llm_cost_rejected_total`.
    #[serde(default = "default_max_cost_per_call")]
    pub max_cost_per_call_usd: f64,
}

impl Default for PricingConfig {
    fn default() -> Self {
        PricingConfig {
            file: None,
            reload_interval: default_reload_interval(),
            models: Vec::new(),
            max_cost_per_call_usd: default_max_cost_per_call(),
        }
    }
}

fn default_max_cost_per_call() -> f64 {
    50.0
}

fn default_reload_interval() -> Duration {
    Duration::from_secs(10)
}

impl Validate for AgentMetricsConfig {
    fn validate(&self, problems: &mut Vec<Problem>) {
        let ns = &self.namespace;
        let valid = ns.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && ns.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            problems.push(Problem::found_expected(
                "namespace",
                ns,
                "a Prometheus name prefix such as `modelseed` (letters, digits, `_`)",
            ));
        }
        if self.cardinality.max_series_per_metric == 0 || self.cardinality.max_series_per_metric > 1_000_000 {
            problems.push(Problem::found_expected(
                "cardinality.max_series_per_metric",
                self.cardinality.max_series_per_metric,
                "a number between 1 and 1000000",
            ));
        }
        if self.pricing.reload_interval < Duration::from_secs(1) {
            problems.push(Problem::found_expected(
                "pricing.reload_interval",
                humantime::format_duration(self.pricing.reload_interval),
                "at least 1s",
            ));
        }
        let w = &self.workflows;
        if w.max_traces == 0 || w.max_traces > 10_000_000 {
            problems.push(Problem::found_expected(
                "workflows.max_traces",
                w.max_traces,
                "a number between 1 and 10000000",
            ));
        }
        if w.idle_timeout > w.max_wait {
            problems.push(Problem::found_expected(
                "workflows.idle_timeout",
                humantime::format_duration(w.idle_timeout),
                format!("at most `workflows.max_wait` ({})", humantime::format_duration(w.max_wait)),
            ));
        }
        let max_cost = self.pricing.max_cost_per_call_usd;
        if !(max_cost.is_finite() && max_cost > 0.0) {
            problems.push(Problem::found_expected(
                "pricing.max_cost_per_call_usd",
                max_cost,
                "an amount in USD above 0, such as 50",
            ));
        }
        if let Err(e) = validate_entries(&self.pricing.models, "pricing.models") {
            problems.push(Problem::new(e.path, e.message));
        }
        self.health.validate("health", problems);
        self.budgets.validate("budgets", problems);
    }
}
