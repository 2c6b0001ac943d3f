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
mod resources;

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
        let families = Families::register(&registry);
        ctx.expositions.push(registry);
        Arc::new(AgentMetrics::new(families, pricing::LivePricing::new(&self.config.pricing, self.table.clone())))
    }
}

#[cfg(test)]
mod tests;
