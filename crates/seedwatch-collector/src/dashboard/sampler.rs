//! What the dashboard reads: the derived families, the agent tracker and the budgets, sampled
//! into the history every [`FINE`](super::history::FINE) step, and read whole for the tables.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::agents::AgentTracker;
use crate::budgets::Budgets;
use crate::derived_metrics::{CounterFamily, HistogramFamily};

use super::history::{History, Metric};
use super::recent::RecentWorkflows;

/// The sources, handed over by the `agent_metrics` processor that owns them.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `{ns}_tool_executions_total{tool_name}`.
    pub tool_executions: Arc<CounterFamily>,
    /// `{ns}_tool_errors_total{tool_name, error_type}`.
    pub tool_errors: Arc<CounterFamily>,
    /// `{ns}_tool_duration_seconds{tool_name}`.
    pub tool_duration: Arc<HistogramFamily>,
    /// `{ns}_llm_requests_total{provider, model}`.
    pub llm_requests: Arc<CounterFamily>,
    /// `{ns}_llm_errors_total{provider, error_type}`.
    pub llm_errors: Arc<CounterFamily>,
    /// `{ns}_llm_tokens_total{provider, model, type}`.
    pub llm_tokens: Arc<CounterFamily>,
    /// `{ns}_llm_cost_usd_total{provider, model}`.
    pub llm_cost: Arc<CounterFamily>,
    /// `{ns}_requests_total{method, endpoint}`.
    pub requests: Arc<CounterFamily>,
    /// Per-agent health.
    pub agents: Arc<AgentTracker>,
    /// Budgets, when configured.
    pub budgets: Option<Arc<Budgets>>,
    /// The newest workflows.
    pub workflows: Arc<RecentWorkflows>,
}

/// Sums a counter family's series by the key `key` makes of their label values.
pub(super) fn summed_by<K: Ord>(family: &CounterFamily, key: impl Fn(&[String]) -> K) -> BTreeMap<K, f64> {
    let mut out = BTreeMap::new();
    for (labels, value) in family.snapshot() {
        *out.entry(key(&labels)).or_insert(0.0) += value;
    }
    out
}

impl Sources {
    /// Samples every charted series into `history` at `time` (Unix seconds).
    pub fn sample(&self, history: &mut History, time: u64) {
        let as_is = |l: &[String]| l.to_vec();
        let first = |l: &[String]| l.first().cloned().into_iter().collect::<Vec<_>>();
        let counters: [(Metric, BTreeMap<Vec<String>, f64>); 7] = [
            (Metric::LlmRequests, summed_by(&self.llm_requests, as_is)),
            (Metric::LlmErrors, summed_by(&self.llm_errors, as_is)),
            (Metric::LlmTokens, summed_by(&self.llm_tokens, |l| l.get(2).cloned().into_iter().collect())),
            (Metric::LlmCost, summed_by(&self.llm_cost, as_is)),
            (Metric::ToolExecutions, summed_by(&self.tool_executions, as_is)),
            (Metric::ToolErrors, summed_by(&self.tool_errors, first)),
            (Metric::Requests, summed_by(&self.requests, |_| Vec::new())),
        ];
        for (metric, series) in counters {
            for (labels, total) in series {
                let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                history.counter(metric, &labels, total, time);
            }
        }
        let counts = self.agents.counts();
        for (state, n) in [
            ("healthy", counts.healthy),
            ("degraded", counts.degraded),
            ("unhealthy", counts.unhealthy),
            ("down", counts.down),
        ] {
            history.gauge(Metric::AgentStates, &[state], n as f64, time);
        }
        if let Some(budgets) = &self.budgets {
            for b in budgets.views(time as f64) {
                history.gauge(Metric::BudgetSpend, &[&b.name], b.spent_usd, time);
            }
        }
        history.prune(time);
    }
}
