//! `agent_metrics`: turns spans from any agent — whatever GenAI dialect its instrumentation
//! speaks — into the metric contract: tool and LLM calls, tokens, cost, workflow durations,
//! and agents' HTTP requests; and, from every signal, each agent instance's last-seen time and
//! (from its OTLP metrics) memory, CPU and active analyses (see `resources`).
//!
//! Spans are the single source of these series. Agents that also send the GenAI client
//! metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`) are not double
//! counted: those metrics pass through to exporters untouched and never feed `modelseed_*`.
//! The conventions' histograms themselves are derived from spans too (`genai_metrics`), for
//! the services that do not send them.

mod budgets;
mod config;
mod derive;
mod families;
mod genai_metrics;
mod pricing;
pub(super) mod resources;
mod rollup;
mod security_events;
mod shared;

use std::sync::Arc;

use serde_norway::Value;

use self::config::AgentMetricsConfig;
use self::derive::AgentMetrics;
use self::families::Families;
use super::{BuildContext, BuildProcessor, Processor, ProcessorFactory};
use crate::agents::{AgentTracker, HealthState, TrackerMetrics};
use crate::config::{Problem, parse_section};
use crate::dashboard::{RecentWorkflows, Sources};
use crate::derived_metrics::{CounterFamily, DerivedRegistry, GaugeFamily, HistogramFamily, SeriesLimits};
use crate::pipeline::Signal;

/// Registry entry.
pub const FACTORY: ProcessorFactory = ProcessorFactory { kind: "agent_metrics", signals: &Signal::ALL, parse };

fn parse(value: Value) -> Result<Box<dyn BuildProcessor>, Vec<Problem>> {
    let config: AgentMetricsConfig = parse_section(value, "")?;
    let table = pricing::load(config.pricing.file.as_deref(), &config.pricing.models)
        .map_err(|e| vec![Problem::new("pricing.file", e)])?;
    Ok(Box::new(Parsed { config, table }))
}

#[derive(Debug)]
struct Parsed {
    config: AgentMetricsConfig,
    table: seedwatch_semconv::pricing::PricingTable,
}

impl BuildProcessor for Parsed {
    fn build(&self, ctx: &mut BuildContext) -> Arc<dyn Processor> {
        let limits = SeriesLimits {
            max_series: self.config.cardinality.max_series_per_metric,
            ttl: self.config.cardinality.series_ttl,
        };
        let derived = ctx.derived.clone();
        let ns = Namespaced { registry: &derived, namespace: &self.config.namespace, limits };
        let families = Families::register(&ns, self.config.genai_metrics);
        let rollup_metrics = rollup::RollupMetrics {
            workflow_cost: ns.histogram(
                seedwatch_semconv::metric_names::WORKFLOW_COST,
                "Cost of each workflow in US dollars: its LLM calls summed",
                &["workflow_type"],
                &seedwatch_semconv::metric_names::WORKFLOW_COST_BUCKETS,
            ),
            evicted: ctx.derived.counter(
                "seedwatch_workflow_rollup_evicted",
                "Traces left the workflow roll-up early: capacity (oldest closed to make room), no_root (root never arrived), dropped (with shared state: table and hand-off to Redis both full)",
                &["reason"],
                limits,
            ),
            pending: ctx.derived.gauge("seedwatch_workflow_rollup_pending", "Traces held by the workflow roll-up", &[], limits),
            summaries: ctx.derived.counter(
                "seedwatch_workflow_summaries",
                "Workflow summary log records, emitted or dropped (logs queue full)",
                &["outcome"],
                limits,
            ),
        };
        let recent = Arc::new(RecentWorkflows::new(ctx.recent_workflows));
        let rollup = Arc::new(rollup::Rollup::new(
            self.config.workflows.clone(),
            rollup_metrics,
            ctx.logs.clone(),
            ctx.derived.strings().clone(),
            recent.clone(),
        ));
        let agents = Arc::new(AgentTracker::new(
            self.config.health.clone(),
            self.tracker_metrics(ctx),
            ctx.logs.clone(),
            ctx.alerts.clone(),
            ctx.derived.strings().clone(),
        ));
        ctx.agents = Some(agents.clone());
        if let Some(state) = ctx.shared.clone() {
            let workflows = &self.config.workflows;
            let sync_interval = state.link().config().sync_interval;
            if workflows.idle_timeout < sync_interval * 2 {
                ctx.errors.push(format!(
                    "processors.agent_metrics.workflows.idle_timeout ({}) must be at least twice redis.sync_interval ({}) \
                     with shared state: a workflow could be closed before another replica's spans of it reach Redis \
                     (raise idle_timeout or lower sync_interval)",
                    humantime::format_duration(workflows.idle_timeout),
                    humantime::format_duration(sync_interval)
                ));
            }
            state.add(Arc::new(shared::AgentsSync::new(agents.clone())));
            state.add(Arc::new(shared::WorkflowsSync::new(rollup.clone(), workflows.idle_timeout, workflows.max_wait)));
        }
        let budgets = budgets::build(&self.config.budgets, &ns, ctx);
        ctx.dashboard = Some(Sources {
            tool_executions: families.tool_executions.clone(),
            tool_errors: families.tool_errors.clone(),
            tool_duration: families.tool_duration.clone(),
            llm_requests: families.llm_requests.clone(),
            llm_errors: families.llm_errors.clone(),
            llm_tokens: families.llm_tokens.clone(),
            llm_cost: families.llm_cost.clone(),
            requests: families.requests.clone(),
            agents: agents.clone(),
            budgets: ctx.budgets.clone(),
            workflows: recent,
        });
        Arc::new(AgentMetrics::new(
            families,
            pricing::LivePricing::new(&self.config.pricing, self.table.clone()),
            self.config.pricing.max_cost_per_call_usd,
            rollup,
            agents,
            budgets,
        ))
    }
}

impl Parsed {
    /// The tracker's series: sized for every tracked instance in every state, and never
    /// expired by age (the tracker removes an instance's series when it forgets it).
    fn tracker_metrics(&self, ctx: &BuildContext) -> TrackerMetrics {
        let health = &self.config.health;
        let limits = SeriesLimits {
            max_series: health.max_agents.saturating_mul(HealthState::ALL.len()),
            ttl: health.retention.saturating_mul(2),
        };
        let meta = SeriesLimits { max_series: 16, ttl: self.config.cardinality.series_ttl };
        TrackerMetrics::register(&ctx.derived, &self.config.namespace, limits, meta)
    }
}

/// The shared registry seen through this processor's namespace and limits.
pub(super) struct Namespaced<'a> {
    registry: &'a DerivedRegistry,
    namespace: &'a str,
    limits: SeriesLimits,
}

impl Namespaced<'_> {
    fn name(&self, name: &str) -> String {
        format!("{}_{name}", self.namespace)
    }

    pub(super) fn counter(&self, name: &str, help: &str, labels: &'static [&'static str]) -> Arc<CounterFamily> {
        self.registry.counter(&self.name(name), help, labels, self.limits)
    }

    pub(super) fn gauge(&self, name: &str, help: &str, labels: &'static [&'static str]) -> Arc<GaugeFamily> {
        self.registry.gauge(&self.name(name), help, labels, self.limits)
    }

    pub(super) fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &'static [&'static str],
        buckets: &[f64],
    ) -> Arc<HistogramFamily> {
        self.registry.histogram(&self.name(name), help, labels, buckets, self.limits)
    }
}

#[cfg(test)]
mod tests;
