//! The task that owns one exporter: start it, feed it groups of batches from its queue with
//! retries, account for every item, report health, and flush it at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{ExportError, Exporter, Grouping, Rejected, RetryConfig};
use crate::health::{ComponentKind, ComponentStatus, Health};
use crate::pipeline::{Batch, Outlet, Signal};
use crate::telemetry::SelfMetrics;

/// Runs until the exporter's queue is closed and drained, or, for a durable queue, until
/// `stop` (what was not delivered then stays on disk).
pub(crate) async fn run_exporter(
    name: String,
    mut exporter: Box<dyn Exporter>,
    mut outlet: Outlet,
    retry: RetryConfig,
    metrics: Arc<SelfMetrics>,
    health: Arc<Health>,
    stop: CancellationToken,
) {
    let status = |s: ComponentStatus| health.set(ComponentKind::Exporter, &name, s);
    let durable = outlet.is_durable();
    // Only a durable queue may stop with data left: a memory queue is drained to the end.
    let stop = if durable { stop } else { CancellationToken::new() };
    let mut backoff = Backoff::new(&retry);
    loop {
        match exporter.start().await {
            Ok(()) => break,
            Err(err) => {
                tracing::error!(exporter = %name, error = %err, "exporter cannot start; retrying");
                status(ComponentStatus::Failed(format!("cannot start: {err}")));
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff.next_wait()) => {}
                }
            }
        }
    }
    status(ComponentStatus::Ok);
    let grouping = exporter.grouping();
    let mut consecutive_failures = 0u64;
    loop {
        let Some(group) = next_group(&mut outlet, grouping, &stop).await else { break };
        let started = Instant::now();
        let mut backoff = Backoff::new(&retry);
        let outcome = loop {
            let attempt = tokio::select! {
                () = stop.cancelled() => None,
                result = exporter.export_group(&group) => Some(result),
            };
            let Some(result) = attempt else { break None };
            match result {
                Ok(rejected) => break Some(Ok(rejected)),
                Err(err) => {
                    consecutive_failures += 1;
                    status(ComponentStatus::Degraded(format!(
                        "{consecutive_failures} consecutive failed attempts; last: {err}"
                    )));
                    let retryable = matches!(err, ExportError::Retryable(_));
                    if !retryable || (!durable && started.elapsed() >= retry.max_elapsed_time) {
                        break Some(Err(err));
                    }
                    tracing::warn!(exporter = %name, error = %err, "export failed; retrying");
                    tokio::select! {
                        () = stop.cancelled() => break None,
                        () = tokio::time::sleep(backoff.next_wait()) => {}
                    }
                }
            }
        };
        let Some(outcome) = outcome else {
            tracing::info!(exporter = %name, "stopping with undelivered batches kept in the durable queue");
            break;
        };
        account(&name, &group, &outcome, &metrics);
        match outcome {
            Ok(_) => {
                consecutive_failures = 0;
                status(ComponentStatus::Ok);
            }
            Err(err) => {
                let items: u64 = group.iter().map(|b| b.items()).sum();
                tracing::error!(exporter = %name, items, error = %err, "export failed; batches dropped");
            }
        }
        outlet.commit();
    }
    if let Err(err) = exporter.shutdown().await {
        tracing::error!(exporter = %name, error = %err, "exporter shutdown failed");
    }
    status(ComponentStatus::Stopped);
}

/// Takes the next batch and, if the exporter groups, what else arrives within the linger time
/// up to the group size.
async fn next_group(
    outlet: &mut Outlet,
    grouping: Option<Grouping>,
    stop: &CancellationToken,
) -> Option<Vec<Arc<Batch>>> {
    let first = tokio::select! {
        () = stop.cancelled() => None,
        next = outlet.next() => next,
    }?;
    let Some(grouping) = grouping else { return Some(vec![first]) };
    let deadline = tokio::time::Instant::now() + grouping.linger;
    let mut items = first.items();
    let mut group = vec![first];
    while items < grouping.max_items {
        let next = match outlet.next_ready() {
            Some(batch) => Some(batch),
            None => tokio::select! {
                () = stop.cancelled() => None,
                next = tokio::time::timeout_at(deadline, outlet.next()) => next.ok().flatten(),
            },
        };
        let Some(batch) = next else { break };
        items += batch.items();
        group.push(batch);
    }
    Some(group)
}

fn account(name: &str, group: &[Arc<Batch>], outcome: &Result<Rejected, ExportError>, metrics: &SelfMetrics) {
    for signal in Signal::ALL {
        let items: u64 = group.iter().filter(|b| b.signal() == signal).map(|b| b.items()).sum();
        if items == 0 {
            continue;
        }
        let failed = match outcome {
            Ok(rejected) => rejected.of(signal).min(items),
            Err(_) => items,
        };
        metrics.exporter_sent(name, signal, items - failed);
        metrics.exporter_failed(name, signal, failed);
    }
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
        base.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}
