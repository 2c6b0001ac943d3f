//! The collector's own health: every receiver, processor and exporter reports its status here,
//! and `/health*` and `seedwatch health` read it. It does not lie: a failing exporter or a
//! nearly full queue makes the collector degraded, and readiness drops while shutting down.

mod report;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

pub use report::{
    ComponentReport, DetailedReport, ListenerReport, MemoryReport, OverallStatus, QueueReport, SummaryReport,
};

use crate::pipeline::QueueSet;

/// A queue at least this full makes the collector degraded.
const QUEUE_DEGRADED_RATIO: f64 = 0.9;

/// The role of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ComponentKind {
    /// Accepts telemetry.
    Receiver,
    /// Transforms or derives from telemetry.
    Processor,
    /// Sends telemetry out.
    Exporter,
}

/// What a component reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentStatus {
    /// Not yet bound or started.
    Starting,
    /// Working.
    Ok,
    /// Working, but failing some of the time (the reason says how).
    Degraded(String),
    /// Not working.
    Failed(String),
    /// Shut down.
    Stopped,
}

#[derive(Debug, Clone)]
struct ComponentState {
    status: ComponentStatus,
    detail: Option<String>,
    since: SystemTime,
}

/// Shared health state of the whole collector.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    shutting_down: AtomicBool,
    components: Mutex<BTreeMap<(ComponentKind, String), ComponentState>>,
    queues: QueueSet,
    memory: std::sync::OnceLock<std::sync::Arc<crate::limits::MemoryLimiter>>,
    listeners: std::sync::OnceLock<crate::listener::ListenerSet>,
}

impl Health {
    /// Starts tracking; `queues` are read for depth.
    pub fn new(queues: QueueSet) -> Self {
        Health {
            started: Instant::now(),
            shutting_down: AtomicBool::new(false),
            components: Mutex::new(BTreeMap::new()),
            queues,
            memory: std::sync::OnceLock::new(),
            listeners: std::sync::OnceLock::new(),
        }
    }

    /// Reports the memory limiter (refusing new data makes the collector degraded) and the
    /// listeners' connections.
    pub fn watch(&self, memory: std::sync::Arc<crate::limits::MemoryLimiter>, listeners: crate::listener::ListenerSet) {
        let _ = self.memory.set(memory);
        let _ = self.listeners.set(listeners);
    }

    /// Declares a component (status `Starting`), with an optional detail such as its endpoint.
    pub fn register(&self, kind: ComponentKind, name: &str, detail: Option<String>) {
        let state = ComponentState { status: ComponentStatus::Starting, detail, since: SystemTime::now() };
        self.lock().insert((kind, name.to_owned()), state);
    }

    /// Updates a component's status; `since` changes only when the status does.
    pub fn set(&self, kind: ComponentKind, name: &str, status: ComponentStatus) {
        let mut components = self.lock();
        let entry = components.entry((kind, name.to_owned())).or_insert_with(|| ComponentState {
            status: ComponentStatus::Starting,
            detail: None,
            since: SystemTime::now(),
        });
        if std::mem::discriminant(&entry.status) != std::mem::discriminant(&status) {
            entry.since = SystemTime::now();
        }
        entry.status = status;
    }

    /// Marks the start of shutdown: readiness turns false.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// True once every receiver is bound and every exporter started, until shutdown begins.
    pub fn is_ready(&self) -> bool {
        self.readiness().is_empty()
    }

    /// Why the collector is not ready; empty when it is.
    pub fn readiness(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.shutting_down.load(Ordering::SeqCst) {
            reasons.push("shutting down".to_owned());
        }
        for ((kind, name), state) in self.lock().iter() {
            if *kind == ComponentKind::Processor {
                continue;
            }
            match &state.status {
                ComponentStatus::Ok | ComponentStatus::Degraded(_) => {}
                ComponentStatus::Starting => reasons.push(format!("{} {name} is starting", kind_name(*kind))),
                ComponentStatus::Failed(why) => reasons.push(format!("{} {name} failed: {why}", kind_name(*kind))),
                ComponentStatus::Stopped => reasons.push(format!("{} {name} is stopped", kind_name(*kind))),
            }
        }
        reasons
    }

    /// Seconds since start.
    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The short report for `/health`.
    pub fn summary(&self) -> SummaryReport {
        let (status, reasons) = self.overall();
        SummaryReport::new(status, reasons, self.uptime_seconds())
    }

    /// The full report for `/health/detailed`.
    pub fn detailed(&self) -> DetailedReport {
        let (status, reasons) = self.overall();
        let mut report =
            DetailedReport::new(SummaryReport::new(status, reasons, self.uptime_seconds()), self.is_ready());
        for ((kind, name), state) in self.lock().iter() {
            let component = ComponentReport::new(&state.status, state.detail.clone(), state.since);
            let map = match kind {
                ComponentKind::Receiver => &mut report.components.receivers,
                ComponentKind::Processor => &mut report.components.processors,
                ComponentKind::Exporter => &mut report.components.exporters,
            };
            map.insert(name.clone(), component);
        }
        for q in self.queues.snapshot() {
            report.queues.insert(q.name().to_owned(), QueueReport::new(q.size(), q.capacity(), q.unit()));
        }
        report.memory = self.memory.get().map(|m| MemoryReport {
            limit_bytes: m.limit(),
            soft_limit_bytes: m.soft_limit(),
            accounted_bytes: m.used(),
            resident_bytes: m.rss(),
            refusing: m.refusing().map(|why| why.to_string()),
        });
        if let Some(listeners) = self.listeners.get() {
            for l in listeners.snapshot() {
                let open = l.connections().len();
                let report_entry = ListenerReport { connections: open, max_connections: l.connections().max() };
                report.listeners.insert(l.name().to_owned(), report_entry);
            }
        }
        report
    }

    fn overall(&self) -> (OverallStatus, Vec<String>) {
        let mut status = OverallStatus::Healthy;
        let mut reasons = Vec::new();
        for ((kind, name), state) in self.lock().iter() {
            match &state.status {
                ComponentStatus::Failed(why) => {
                    status = OverallStatus::Unhealthy;
                    reasons.push(format!("{} {name} failed: {why}", kind_name(*kind)));
                }
                ComponentStatus::Degraded(why) => {
                    status = status.max(OverallStatus::Degraded);
                    reasons.push(format!("{} {name} degraded: {why}", kind_name(*kind)));
                }
                ComponentStatus::Starting | ComponentStatus::Ok | ComponentStatus::Stopped => {}
            }
        }
        for q in self.queues.snapshot() {
            let ratio = q.size() as f64 / q.capacity() as f64;
            if ratio >= QUEUE_DEGRADED_RATIO {
                status = status.max(OverallStatus::Degraded);
                reasons.push(format!("queue {} is {:.0}% full", q.name(), ratio * 100.0));
            }
        }
        if let Some(why) = self.memory.get().and_then(|m| m.refusing()) {
            status = status.max(OverallStatus::Degraded);
            reasons.push(format!("refusing new data: {why}"));
        }
        (status, reasons)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(ComponentKind, String), ComponentState>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts).
        self.components.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn kind_name(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Receiver => "receiver",
        ComponentKind::Processor => "processor",
        ComponentKind::Exporter => "exporter",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Batch, bounded};

    #[test]
    fn ready_only_when_receivers_and_exporters_are_up_and_not_shutting_down() {
        let health = Health::new(QueueSet::default());
        health.register(ComponentKind::Receiver, "otlp/grpc", None);
        health.register(ComponentKind::Exporter, "file", None);
        health.register(ComponentKind::Processor, "resource", None);
        assert!(!health.is_ready());
        health.set(ComponentKind::Receiver, "otlp/grpc", ComponentStatus::Ok);
        assert!(!health.is_ready());
        health.set(ComponentKind::Exporter, "file", ComponentStatus::Degraded("slow".into()));
        assert!(health.is_ready());
        health.begin_shutdown();
        assert!(!health.is_ready());
    }

    #[test]
    fn failing_exporter_and_full_queue_are_reported() {
        let queues = QueueSet::default();
        let health = Health::new(queues.clone());
        health.register(ComponentKind::Exporter, "file", None);
        health.set(ComponentKind::Exporter, "file", ComponentStatus::Ok);
        assert_eq!(health.summary().status, OverallStatus::Healthy);
        health.set(ComponentKind::Exporter, "file", ComponentStatus::Degraded("3 consecutive failed attempts".into()));
        let summary = health.summary();
        assert_eq!(summary.status, OverallStatus::Degraded);
        assert!(summary.reasons[0].contains("exporter file degraded"), "{:?}", summary.reasons);
        health.set(ComponentKind::Exporter, "file", ComponentStatus::Failed("cannot open".into()));
        assert_eq!(health.summary().status, OverallStatus::Unhealthy);

        let health = Health::new(queues.clone());
        let (tx, _rx) = bounded::<Batch>("traces", 1);
        queues.add(tx.stats().clone());
        let batch = Batch::new(
            crate::pipeline::Payload::Traces(
                opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::default().into(),
            ),
            crate::pipeline::Transport::Grpc,
        );
        assert_eq!(health.summary().status, OverallStatus::Healthy);
        futures::executor::block_on(tx.send(batch)).expect("send");
        let summary = health.summary();
        assert_eq!(summary.status, OverallStatus::Degraded);
        assert_eq!(summary.reasons, ["queue traces is 100% full"]);
    }
}
