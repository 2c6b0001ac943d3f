//! The one path from any receiver transport into the pipeline: drop invalid items (reported as
//! partial success), queue the rest or refuse the whole request with a retryable answer, and
//! count every item either way.

use std::sync::Arc;
use std::time::Duration;

use super::validate::{Rejection, drop_invalid};
use crate::limits::{MemoryLimiter, MemoryRefusal, Reservation};
use crate::pipeline::{Batch, Payload, PipelineConfig, QueueSender, SendError, Signal, Transport};
use crate::telemetry::{RequestOutcome, SelfMetrics};

/// Queues accepted batches; cheap to clone, one per receiver server.
#[derive(Debug, Clone)]
pub struct Ingest {
    queues: [QueueSender<Batch>; 3],
    metrics: Arc<SelfMetrics>,
    enqueue_timeout: Duration,
    retry_after: Duration,
    /// Per signal (in [`Signal::ALL`] order): answer only once the batch is on disk.
    durable: [bool; 3],
    persist_timeout: Duration,
    memory: Arc<MemoryLimiter>,
}

/// A request that was taken (possibly with some items rejected as invalid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Items rejected as invalid and not queued (0 for full success).
    pub rejected: u64,
    /// Why they were rejected; empty when none were.
    pub message: String,
}

/// A request refused as a whole; the client should retry after `retry_after`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// No room in the pipeline.
    #[error("the {signal} queue is full; retry after {}s", retry_after.as_secs().max(1))]
    QueueFull {
        /// The signal whose queue is full.
        signal: Signal,
        /// Suggested wait.
        retry_after: Duration,
    },
    /// The collector is shutting down.
    #[error("the collector is shutting down; retry against another instance or later")]
    ShuttingDown {
        /// Suggested wait.
        retry_after: Duration,
    },
    /// The memory limit is reached.
    #[error("{refusal}")]
    MemoryLimited {
        /// Which limit.
        refusal: MemoryRefusal,
        /// Suggested wait.
        retry_after: Duration,
    },
}

impl IngestError {
    /// The suggested wait before retrying.
    pub fn retry_after(&self) -> Duration {
        match self {
            IngestError::QueueFull { retry_after, .. }
            | IngestError::ShuttingDown { retry_after }
            | IngestError::MemoryLimited { retry_after, .. } => *retry_after,
        }
    }

    /// The `outcome` label of the refused request.
    pub fn outcome(&self) -> RequestOutcome {
        match self {
            IngestError::QueueFull { .. } => RequestOutcome::QueueFull,
            IngestError::ShuttingDown { .. } => RequestOutcome::ShuttingDown,
            IngestError::MemoryLimited { .. } => RequestOutcome::MemoryLimited,
        }
    }
}

impl Ingest {
    /// An ingest into the given signal queues (the pipeline's, or a harness's own), with
    /// `durable_signals` acknowledged only once on disk.
    pub fn new(
        traces: QueueSender<Batch>,
        metrics_queue: QueueSender<Batch>,
        logs: QueueSender<Batch>,
        metrics: Arc<SelfMetrics>,
        config: &PipelineConfig,
        durable_signals: &[Signal],
        memory: Arc<MemoryLimiter>,
    ) -> Self {
        Ingest {
            memory,
            queues: [traces, metrics_queue, logs],
            metrics,
            enqueue_timeout: config.enqueue_timeout,
            retry_after: config.retry_after,
            durable: Signal::ALL.map(|s| durable_signals.contains(&s)),
            persist_timeout: config.persist_timeout,
        }
    }

    /// The collector's own metrics, for receivers to count what never reached `ingest`.
    pub fn metrics(&self) -> &SelfMetrics {
        &self.metrics
    }

    /// The memory limiter requests reserve against.
    pub fn memory(&self) -> &Arc<MemoryLimiter> {
        &self.memory
    }

    /// Whether a new request may start (the memory limiter's verdict); a refusal is counted.
    pub fn admit(&self, transport: Transport, signal: Signal) -> Result<(), IngestError> {
        self.memory.admit().map_err(|refusal| {
            self.metrics.receiver_request(transport, signal, RequestOutcome::MemoryLimited);
            IngestError::MemoryLimited { refusal, retry_after: self.retry_after }
        })
    }

    /// Counts a request refused for memory while it was read or decoded.
    pub fn memory_limited(&self, transport: Transport, signal: Signal, refusal: MemoryRefusal) -> IngestError {
        self.metrics.receiver_request(transport, signal, RequestOutcome::MemoryLimited);
        IngestError::MemoryLimited { refusal, retry_after: self.retry_after }
    }

    /// Validates and queues one decoded request; the batch holds `memory` until exported.
    /// With a `tenant` (from the request's credential), every resource is stamped with it.
    pub async fn ingest(
        &self,
        mut payload: Payload,
        transport: Transport,
        memory: Reservation,
        tenant: Option<&str>,
    ) -> Result<IngestOutcome, IngestError> {
        let signal = payload.signal();
        if let Some(tenant) = tenant {
            super::stamp_tenant(&mut payload, tenant);
        }
        let Rejection { count: rejected, message } = drop_invalid(&mut payload);
        let mut batch = Batch::new(payload, transport);
        batch.hold(memory);
        let items = batch.items();
        let outcome = IngestOutcome { rejected, message };
        if items == 0 {
            self.metrics.receiver_refused(transport, signal, rejected);
            let kind = if rejected == 0 { RequestOutcome::Accepted } else { RequestOutcome::Partial };
            self.metrics.receiver_request(transport, signal, kind);
            return Ok(outcome);
        }
        let index = signal.index();
        let queued = self.durable[index].then(|| batch.await_queued());
        let queue = &self.queues[index];
        let mut sent = queue.send_timeout(batch, self.enqueue_timeout).await.map_err(|e| match e {
            SendError::Full(_) => IngestError::QueueFull { signal, retry_after: self.retry_after },
            SendError::Closed(_) => IngestError::ShuttingDown { retry_after: self.retry_after },
        });
        if let (Ok(()), Some(queued)) = (&sent, queued) {
            // Acknowledge only what is on disk, so a killed collector loses nothing it accepted.
            sent = match tokio::time::timeout(self.persist_timeout, queued).await {
                Ok(Ok(())) => Ok(()),
                _ => Err(IngestError::QueueFull { signal, retry_after: self.retry_after }),
            };
        }
        match sent {
            Ok(()) => {
                self.metrics.receiver_accepted(transport, signal, items);
                self.metrics.receiver_refused(transport, signal, rejected);
                let kind = if rejected == 0 { RequestOutcome::Accepted } else { RequestOutcome::Partial };
                self.metrics.receiver_request(transport, signal, kind);
                Ok(outcome)
            }
            Err(err) => {
                self.metrics.receiver_refused(transport, signal, items + rejected);
                self.metrics.receiver_request(transport, signal, err.outcome());
                Err(err)
            }
        }
    }
}
