//! `agent_metrics`: turns spans from any agent — whatever GenAI dialect its instrumentation
//! speaks — into the metric contract: tool and LLM calls, tokens, cost, workflow durations,
//! and agents' HTTP requests; and, from every signal, each agent instance's last-seen time and
//! (from its OTLP metrics) memory, CPU and active analyses (see `resources`).
//!
//! Spans are the single source of these series. Agents that also send the GenAI client
//! metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`) are not double
//! counted: those metrics pass through to exporters untouched and never feed `modelseed_*`.

mod config;
mod derive;
mod families;
mod pricing;
pub(super) mod resources;
mod rollup;

use std::sync::Arc;

use serde_norway::Value;

use self::config::AgentMetricsConfig;
use self::derive::AgentMetrics;
use self::families::Families;
use super::{BuildContext, BuildProcessor, Processor, ProcessorFactory};
use crate::config::{Problem, parse_section};
use crate::derived_metrics::{DerivedRegistry, SeriesLimits};
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
        let registry = Arc::new(DerivedRegistry::new(&self.config.namespace, limits));
        let own = Arc::new(DerivedRegistry::new("seedwatch", limits));
        let families = Families::register(&registry);
        let rollup_metrics = rollup::RollupMetrics {
            workflow_cost: registry.histogram(
                seedwatch_semconv::metric_names::WORKFLOW_COST,
                "Cost of each workflow in US dollars: its LLM calls summed",
                &["workflow_type"],
                &seedwatch_semconv::metric_names::WORKFLOW_COST_BUCKETS,
            ),
            evicted: own.counter(
                "workflow_rollup_evicted",
                "Traces left the workflow roll-up early: capacity (oldest closed to make room) or no_root (root never arrived)",
                &["reason"],
            ),
            pending: own.gauge("workflow_rollup_pending", "Traces held by the workflow roll-up", &[]),
            summaries: own.counter("workflow_summaries", "Workflow summary log records, emitted or dropped (logs queue full)", &["outcome"]),
        };
        ctx.expositions.push(registry);
        ctx.expositions.push(own);
        let rollup = rollup::Rollup::new(self.config.workflows.clone(), rollup_metrics, ctx.logs.clone());
        Arc::new(AgentMetrics::new(
            families,
            pricing::LivePricing::new(&self.config.pricing, self.table.clone()),
            rollup,
        ))
    }
}

#[cfg(test)]
mod tests;
