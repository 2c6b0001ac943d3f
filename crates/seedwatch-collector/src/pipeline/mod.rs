//! The pipeline: bounded queues from receivers to a worker per signal that runs the
//! processors, then a fan-out into each exporter's own bounded queue.
//!
//! ```text
//! receivers ─► [signal queue] ─► worker: processors… ─► fan-out ─► [exporter queue] ─► exporter task
//! ```
//! Backpressure runs the whole way back: a slow exporter fills its queue, the fan-out waits,
//! the signal queue fills, and receivers answer the OTLP retryable status. Nothing is dropped
//! without being counted.

mod batch;
mod config;
pub mod durable;
mod exporter_queue;
mod lazy_request;
mod queue;
mod signal;
mod topology;
mod trace_data;

use std::sync::{Arc, RwLock};

pub use batch::{Batch, LogData, Payload, Transport, accepted_bytes, data_point_count};
pub use config::PipelineConfig;
pub(crate) use exporter_queue::Outlet;
pub use lazy_request::LazyRequest;
pub use queue::{QueueReceiver, QueueSender, QueueStats, QueueUnit, SendError, Weighted, bounded, bounded_in_bytes};
pub use signal::Signal;
pub use topology::{DrainOutcome, Topology};
pub use trace_data::{TraceData, span_ids_problem};

/// The queues of a running collector, read by the metrics and health endpoints.
#[derive(Debug, Clone, Default)]
pub struct QueueSet(Arc<RwLock<Vec<Arc<QueueStats>>>>);

impl QueueSet {
    /// Adds a queue.
    pub fn add(&self, stats: Arc<QueueStats>) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).push(stats);
    }

    /// The queues, in the order they were added.
    pub fn snapshot(&self) -> Vec<Arc<QueueStats>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Items queued in memory (durable queues keep theirs across restarts).
    pub fn total_items(&self) -> u64 {
        self.snapshot().iter().filter(|q| q.unit() == QueueUnit::Items).map(|q| q.size()).sum()
    }
}
