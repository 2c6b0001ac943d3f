//! Processors: run in order on every batch of the signals they handle, before the fan-out to
//! exporters. Adding one: a folder here with a `FACTORY`, and one line in [`REGISTRY`].

mod agent_metrics;
mod resource;

use std::fmt::Debug;
use std::sync::Arc;

use serde::Deserialize;
use serde_norway::{Mapping, Value};

use crate::config::{Problem, component_entries, deserialize_at, pick_signals};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

use crate::derived_metrics::DerivedRegistry;
use crate::pipeline::{Batch, Payload, QueueSender, Signal, Transport};

/// Every processor type the collector knows.
pub const REGISTRY: &[ProcessorFactory] = &[agent_metrics::FACTORY, resource::FACTORY];

/// Keys every processor entry accepts besides its own.
const COMMON_KEYS: &[&str] = &["enabled", "signals"];

/// Transforms or observes batches. Runs on the pipeline worker, so it must be quick and must
/// not block; it cannot fail a batch (anything it cannot handle it counts itself).
pub trait Processor: Send + Sync + Debug {
    /// Handles one batch of a signal this processor was configured for.
    fn process(&self, batch: &mut Batch);

    /// Called about once a second by each worker running this processor, for time-based work.
    fn tick(&self) {}

    /// Called once when the pipeline drains, before the logs pipeline closes: emit what is pending.
    fn shutdown(&self) {}
}

/// What a processor can hook into while it is built.
#[derive(Debug, Default)]
pub struct BuildContext {
    /// Derived metric families, rendered once on `/metrics`.
    pub derived: Arc<DerivedRegistry>,
    /// Sends log records the collector makes into the logs pipeline (to the exporters).
    pub logs: Option<LogEmitter>,
    /// Per-agent health, when a processor tracks it (read by the admin API).
    pub agents: Option<Arc<crate::agents::AgentTracker>>,
    /// Where processors raise and resolve alerts.
    pub alerts: Option<Arc<crate::alerting::AlertCenter>>,
    /// LLM cost budgets, when a processor keeps them (read by the admin API).
    pub budgets: Option<Arc<crate::budgets::Budgets>>,
    /// What the dashboard reads, from the processor that keeps it.
    pub dashboard: Option<crate::dashboard::Sources>,
    /// Workflows the dashboard's table keeps (`ui.recent_workflows`).
    pub recent_workflows: usize,
    /// State shared with other replicas through Redis, when `redis.url` is set.
    pub shared: Option<Arc<crate::shared::SharedState>>,
    /// What could not be set up; the collector refuses to start with any.
    pub errors: Vec<String>,
}

/// Puts log records made inside the collector into the logs pipeline. Never blocks: when the
/// logs queue is full or closed the record is refused and the caller counts it.
#[derive(Debug, Clone)]
pub struct LogEmitter {
    tx: QueueSender<Batch>,
}

impl LogEmitter {
    /// An emitter into the given logs queue.
    pub fn new(tx: QueueSender<Batch>) -> Self {
        LogEmitter { tx }
    }

    /// Queues the records; false when there was no room (or the pipeline is closing).
    pub fn try_emit(&self, request: ExportLogsServiceRequest) -> bool {
        self.tx.try_send(Batch::new(Payload::Logs(request.into()), Transport::Internal)).is_ok()
    }
}

/// A parsed, validated processor config that can build the processor.
pub trait BuildProcessor: Send + Sync + Debug {
    /// Builds the processor, registering what it exposes in `ctx`.
    fn build(&self, ctx: &mut BuildContext) -> Arc<dyn Processor>;
}

/// A built processor and the signals it runs on.
#[derive(Debug, Clone)]
pub struct BuiltProcessor {
    /// `type` or `type/name`.
    pub name: String,
    /// Signals it runs on.
    pub signals: Vec<Signal>,
    /// The processor.
    pub processor: Arc<dyn Processor>,
}

/// Builds every configured processor, in order.
pub fn build_all(specs: &[ProcessorSpec], ctx: &mut BuildContext) -> Vec<BuiltProcessor> {
    specs
        .iter()
        .map(|spec| BuiltProcessor {
            name: spec.name.clone(),
            signals: spec.signals.clone(),
            processor: spec.config.build(ctx),
        })
        .collect()
}

/// Parses a processor's own keys; problem paths are relative to the entry.
pub type ParseProcessor = fn(Value) -> Result<Box<dyn BuildProcessor>, Vec<Problem>>;

/// One registry entry: a processor type and how to parse its config.
pub struct ProcessorFactory {
    /// The `type` in `type/name` keys.
    pub kind: &'static str,
    /// Signals it can handle; the default for `signals`.
    pub signals: &'static [Signal],
    /// Parses and validates the component's own keys; problem paths are relative.
    pub parse: ParseProcessor,
}

/// A configured processor, ready to build.
#[derive(Debug)]
pub struct ProcessorSpec {
    /// `type` or `type/name`.
    pub name: String,
    /// Signals it runs on.
    pub signals: Vec<Signal>,
    /// Its own parsed config.
    pub config: Box<dyn BuildProcessor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    #[serde(default = "crate::config::default_true", deserialize_with = "crate::config::enabled_switch")]
    enabled: bool,
    signals: Option<Vec<Signal>>,
}

/// Parses every entry of `processors:`, in order, keeping the enabled ones.
pub fn parse_all(map: &Mapping, problems: &mut Vec<Problem>) -> Vec<ProcessorSpec> {
    let kinds: Vec<&str> = REGISTRY.iter().map(|f| f.kind).collect();
    let mut specs = Vec::new();
    for entry in component_entries(map, "processors", COMMON_KEYS, &kinds, problems) {
        let Some(factory) = REGISTRY.iter().find(|f| f.kind == entry.kind) else { continue };
        let common: Common = match deserialize_at(entry.common, &entry.path) {
            Ok(c) => c,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let signals = match pick_signals(common.signals, factory.signals, &entry.path) {
            Ok(s) => s,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        match (factory.parse)(entry.own) {
            Ok(config) if common.enabled => specs.push(ProcessorSpec { name: entry.name, signals, config }),
            Ok(_) => {}
            Err(own) => problems.extend(own.into_iter().map(|p| p.under(&entry.path))),
        }
    }
    specs
}
