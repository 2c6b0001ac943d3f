//! The task that owns one exporter: start it, feed it batches from its queue with retries,
//! account for every item, report health, and flush it at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{ExportError, Exporter, RetryConfig};
use crate::health::{ComponentKind, ComponentStatus, Health};
use crate::pipeline::{Batch, QueueReceiver};
use crate::telemetry::SelfMetrics;

/// Runs until the exporter's queue is closed and drained.
pub(crate) async fn run_exporter(
    name: String,
    mut exporter: Box<dyn Exporter>,
    mut queue: QueueReceiver<Arc<Batch>>,
    retry: RetryConfig,
    metrics: Arc<SelfMetrics>,
    health: Arc<Health>,
) {
    let status = |s: ComponentStatus| health.set(ComponentKind::Exporter, &name, s);
    let mut backoff = Backoff::new(&retry);
    loop {
        match exporter.start().await {
            Ok(()) => break,
            Err(err) => {
                tracing::error!(exporter = %name, error = %err, "exporter cannot start; retrying");
                status(ComponentStatus::Failed(format!("cannot start: {err}")));
                tokio::time::sleep(backoff.next_wait()).await;
            }
        }
    }
    status(ComponentStatus::Ok);
    let mut consecutive_failures = 0u64;
    while let Some(batch) = queue.recv().await {
        let signal = batch.signal();
        let started = Instant::now();
        let mut backoff = Backoff::new(&retry);
        let outcome = loop {
            match exporter.export(&batch).await {
                Ok(()) => break Ok(()),
                Err(err) => {
                    consecutive_failures += 1;
                    status(ComponentStatus::Degraded(format!(
                        "{consecutive_failures} consecutive failed attempts; last: {err}"
                    )));
                    let retryable = matches!(err, ExportError::Retryable(_));
                    if !retryable || started.elapsed() >= retry.max_elapsed_time {
                        break Err(err);
                    }
                    tracing::warn!(exporter = %name, error = %err, "export failed; retrying");
                    tokio::time::sleep(backoff.next_wait()).await;
                }
            }
        };
        match outcome {
            Ok(()) => {
                consecutive_failures = 0;
                metrics.exporter_sent(&name, signal, batch.items());
                status(ComponentStatus::Ok);
            }
            Err(err) => {
                tracing::error!(exporter = %name, %signal, items = batch.items(), error = %err, "export failed; batch dropped");
                metrics.exporter_failed(&name, signal, batch.items());
            }
        }
    }
    if let Err(err) = exporter.shutdown().await {
        tracing::error!(exporter = %name, error = %err, "exporter shutdown failed");
    }
    status(ComponentStatus::Stopped);
}

/// Exponential backoff with jitter, capped.
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(cfg: &RetryConfig) -> Self {
        Backoff { next: cfg.initial_interval, max: cfg.max_interval }
    }

    pub(crate) fn next_wait(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        // Jitter in [50%, 100%] of the base, from the clock's low bits; no RNG dependency needed.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        base.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
    }
}
