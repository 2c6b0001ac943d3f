//! Builds the queues, workers and exporter tasks from the config, and drains them on shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::exporter_queue::{Inlet, Outlet};
use super::{Batch, PipelineConfig, QueueReceiver, QueueSender, QueueSet, Signal, bounded_in_bytes, durable};
use crate::exporters::{ExporterSpec, run_exporter};
use crate::health::{ComponentKind, ComponentStatus, Health};
use crate::limits::MemoryLimiter;
use crate::processors::{BuildContext, LogEmitter, Processor, ProcessorSpec, build_all};
use crate::receivers::Ingest;
use crate::telemetry::SelfMetrics;

/// The running pipeline.
#[derive(Debug)]
pub struct Topology {
    ingest: Ingest,
    stop_intake: CancellationToken,
    stop_logs: CancellationToken,
    workers: JoinSet<()>,
    logs_worker: Option<tokio::task::JoinHandle<()>>,
    /// Exporters with an in-memory queue: drained to the end.
    exporters: JoinSet<()>,
    /// Exporters with a durable queue: stopped at the deadline, keeping the rest on disk.
    durable_exporters: JoinSet<()>,
    stop_durable: CancellationToken,
    queues: QueueSet,
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Every queued item reached the exporters.
    Drained,
    /// The deadline passed; this many items were still queued and are lost.
    DeadlineExceeded {
        /// Items left in queues.
        items_left: u64,
    },
}

struct Route {
    name: String,
    signals: Vec<Signal>,
    inlet: Inlet,
}

impl Topology {
    /// Creates every queue and starts the workers and exporter tasks. Exporters start
    /// asynchronously and report their own health. Receivers reserve what they queue in
    /// `memory`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        config: &PipelineConfig,
        processors: &[ProcessorSpec],
        build: &mut BuildContext,
        exporters: Vec<ExporterSpec>,
        queues: QueueSet,
        metrics: Arc<SelfMetrics>,
        health: Arc<Health>,
        memory: Arc<MemoryLimiter>,
    ) -> Topology {
        let mut exporter_tasks = JoinSet::new();
        let mut durable_tasks = JoinSet::new();
        let stop_durable = CancellationToken::new();
        let mut routes = Vec::new();
        for spec in exporters {
            let (inlet, outlet) = match &spec.persistent_queue {
                Some(durable) => match durable::open(&spec.name, durable) {
                    Ok((writer, reader)) => {
                        queues.add(writer.stats().clone());
                        (Inlet::Durable(writer), Outlet::Durable(reader))
                    }
                    Err(err) => {
                        build.errors.push(format!("exporter {}: {err}", spec.name));
                        continue;
                    }
                },
                None => {
                    let capacity = spec.queue_capacity.unwrap_or(config.queue_capacity);
                    let bytes = spec.queue_max_bytes.unwrap_or(config.queue_max_bytes).as_u64();
                    let (tx, rx) = bounded_in_bytes(format!("exporter/{}", spec.name), capacity, bytes);
                    queues.add(tx.stats().clone());
                    (Inlet::Memory(tx), Outlet::Memory(rx))
                }
            };
            health.register(ComponentKind::Exporter, &spec.name, None);
            metrics.exporter_declared(&spec.name, &spec.signals);
            let tasks = if outlet.is_durable() { &mut durable_tasks } else { &mut exporter_tasks };
            tasks.spawn(run_exporter(
                spec.name.clone(),
                spec.config.build(),
                outlet,
                spec.retry,
                metrics.clone(),
                health.clone(),
                stop_durable.clone(),
            ));
            routes.push(Route { name: spec.name, signals: spec.signals, inlet });
        }
        let durable_signals: Vec<Signal> = Signal::ALL
            .into_iter()
            .filter(|s| routes.iter().any(|r| matches!(r.inlet, Inlet::Durable(_)) && r.signals.contains(s)))
            .collect();
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for signal in Signal::ALL {
            let (tx, rx) =
                bounded_in_bytes::<Batch>(signal.as_str(), config.queue_capacity, config.queue_max_bytes.as_u64());
            queues.add(tx.stats().clone());
            senders.push(tx);
            receivers.push(rx);
        }
        let [traces, metrics_tx, logs] =
            <[QueueSender<Batch>; 3]>::try_from(senders).unwrap_or_else(|_| unreachable!("three signals"));
        build.logs = Some(LogEmitter::new(logs.clone()));
        let processors = build_all(processors, build);
        for p in &processors {
            health.register(ComponentKind::Processor, &p.name, None);
            health.set(ComponentKind::Processor, &p.name, ComponentStatus::Ok);
        }

        // Logs drain last, so what the other signals' processors emit while draining gets out.
        let (stop_intake, stop_logs) = (CancellationToken::new(), CancellationToken::new());
        let mut workers = JoinSet::new();
        let mut logs_worker = None;
        for (signal, rx) in Signal::ALL.into_iter().zip(receivers) {
            let chain: Vec<Arc<dyn Processor>> =
                processors.iter().filter(|p| p.signals.contains(&signal)).map(|p| p.processor.clone()).collect();
            let outs: Vec<_> = routes
                .iter()
                .filter(|r| r.signals.contains(&signal))
                .map(|r| (r.name.clone(), r.inlet.clone()))
                .collect();
            if signal == Signal::Logs {
                logs_worker = Some(tokio::spawn(run_worker(rx, chain, outs, stop_logs.clone(), metrics.clone())));
            } else {
                workers.spawn(run_worker(rx, chain, outs, stop_intake.clone(), metrics.clone()));
            }
        }
        Topology {
            ingest: Ingest::new(traces, metrics_tx, logs, metrics, config, &durable_signals, memory),
            stop_intake,
            stop_logs,
            workers,
            logs_worker,
            exporters: exporter_tasks,
            durable_exporters: durable_tasks,
            stop_durable,
            queues,
        }
    }

    /// The handle receivers use to queue batches.
    pub fn ingest(&self) -> Ingest {
        self.ingest.clone()
    }

    /// Stops intake, then waits until every queued item has reached the exporters and they
    /// have flushed, or until `deadline`. Call after the receivers have stopped. Exporters
    /// with a durable queue that are still sending at the deadline stop there; what they
    /// had not delivered stays on disk for the next start.
    pub async fn drain(mut self, deadline: Duration) -> DrainOutcome {
        self.stop_intake.cancel();
        drop(self.ingest);
        let queues = self.queues.clone();
        let stop_logs = self.stop_logs.clone();
        let finish = async {
            while self.workers.join_next().await.is_some() {}
            stop_logs.cancel();
            if let Some(worker) = self.logs_worker.as_mut() {
                let _ = worker.await;
            }
            while self.exporters.join_next().await.is_some() {}
            while self.durable_exporters.join_next().await.is_some() {}
        };
        if tokio::time::timeout(deadline, finish).await.is_ok() {
            return DrainOutcome::Drained;
        }
        self.stop_durable.cancel();
        let durable_stop = async { while self.durable_exporters.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(Duration::from_secs(1), durable_stop).await;
        // Only what durable exporters had left is safe (on disk); anything else is lost.
        let in_memory_done = self.workers.is_empty()
            && self.exporters.is_empty()
            && self.logs_worker.as_ref().is_none_or(|w| w.is_finished());
        let items_left = queues.total_items();
        self.workers.abort_all();
        self.exporters.abort_all();
        self.durable_exporters.abort_all();
        if let Some(worker) = &self.logs_worker {
            worker.abort();
        }
        if in_memory_done { DrainOutcome::Drained } else { DrainOutcome::DeadlineExceeded { items_left } }
    }
}

async fn run_worker(
    mut rx: QueueReceiver<Batch>,
    chain: Vec<Arc<dyn Processor>>,
    outs: Vec<(String, Inlet)>,
    stop_intake: CancellationToken,
    metrics: Arc<SelfMetrics>,
) {
    let mut closed = false;
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = tokio::select! {
            biased;
            () = stop_intake.cancelled(), if !closed => {
                rx.close();
                closed = true;
                continue;
            }
            _ = ticks.tick() => {
                chain.iter().for_each(|p| p.tick());
                continue;
            }
            next = rx.recv() => next,
        };
        let Some(mut batch) = next else {
            chain.iter().for_each(|p| p.shutdown());
            break;
        };
        for processor in &chain {
            processor.process(&mut batch);
        }
        let queued = batch.take_queued_signal();
        let batch = Arc::new(batch);
        let mut all_queued = true;
        for (name, inlet) in &outs {
            // Waits for room: a slow exporter slows intake instead of losing data.
            if let Err(err) = inlet.send(&batch).await {
                // The exporter task died or its disk failed; counted as failed for that exporter.
                tracing::error!(exporter = %name, items = batch.items(), error = %err, "batch not queued for this exporter");
                metrics.exporter_failed(name, batch.signal(), batch.items());
                all_queued = false;
            }
        }
        if all_queued && let Some(queued) = queued {
            let _ = queued.send(());
        }
    }
}
