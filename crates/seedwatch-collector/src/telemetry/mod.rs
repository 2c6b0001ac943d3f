//! The collector's own telemetry on `/metrics`: what receivers accepted and refused, what
//! exporters sent and failed, queue depths, and process CPU and memory.

mod exposition;
mod memory;
mod process;
mod queues;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub use exposition::{Exposition, ExpositionFormat, encode};

use crate::limits::MemoryLimiter;
use crate::listener::ListenerSet;
use crate::pipeline::{QueueSet, Signal, Transport};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabel {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExporterLabel {
    exporter: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    transport: &'static str,
    signal: &'static str,
    outcome: &'static str,
}

/// One counter family per signal, indexed by [`Signal`].
#[derive(Debug, Default)]
struct PerSignal<L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static> {
    families: [Family<L, Counter>; 3],
}

impl<L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static> PerSignal<L> {
    fn register(registry: &mut Registry, name: impl Fn(Signal) -> String, help: impl Fn(Signal) -> String) -> Self {
        let families: [Family<L, Counter>; 3] = Default::default();
        for (signal, family) in Signal::ALL.into_iter().zip(&families) {
            registry.register(name(signal), help(signal), family.clone());
        }
        PerSignal { families }
    }

    fn inc(&self, signal: Signal, labels: &L, by: u64) {
        self.families[signal.index()].get_or_create(labels).inc_by(by);
    }
}

/// Outcome of one receiver request, the `outcome` label of `seedwatch_receiver_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Everything accepted.
    Accepted,
    /// Some items rejected as invalid, the rest accepted.
    Partial,
    /// The request could not be decoded or was otherwise invalid.
    Invalid,
    /// Too large.
    TooLarge,
    /// Refused because a queue was full (retryable).
    QueueFull,
    /// Refused because the collector is shutting down (retryable).
    ShuttingDown,
    /// Refused because the memory limit was reached (retryable).
    MemoryLimited,
    /// The body arrived too slowly and was cut.
    TooSlow,
}

impl RequestOutcome {
    fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Accepted => "accepted",
            RequestOutcome::Partial => "partial",
            RequestOutcome::Invalid => "invalid",
            RequestOutcome::TooLarge => "too_large",
            RequestOutcome::QueueFull => "queue_full",
            RequestOutcome::ShuttingDown => "shutting_down",
            RequestOutcome::MemoryLimited => "memory_limited",
            RequestOutcome::TooSlow => "too_slow",
        }
    }
}

/// Counters updated by receivers and exporters.
#[derive(Debug)]
pub struct SelfMetrics {
    accepted: PerSignal<TransportLabel>,
    refused: PerSignal<TransportLabel>,
    sent: PerSignal<ExporterLabel>,
    send_failed: PerSignal<ExporterLabel>,
    requests: Family<RequestLabels, Counter>,
}

impl SelfMetrics {
    /// Registers the collector's own metrics, queue gauges and process metrics.
    pub fn register(registry: &mut Registry, queues: QueueSet) -> Self {
        Self::register_all(registry, queues, ListenerSet::default(), MemoryLimiter::unlimited())
    }

    /// [`SelfMetrics::register`], with the listeners' connections and the memory limiter.
    pub fn register_all(
        registry: &mut Registry,
        queues: QueueSet,
        listeners: ListenerSet,
        memory: std::sync::Arc<MemoryLimiter>,
    ) -> Self {
        registry.register_collector(Box::new(listeners));
        registry.register_collector(Box::new(memory::MemoryCollector(memory)));
        let accepted = PerSignal::register(
            registry,
            |s| format!("seedwatch_receiver_accepted_{}", s.item_noun()),
            |s| format!("{} accepted by receivers and queued for processing", s.item_noun().replace('_', " ")),
        );
        let refused = PerSignal::register(
            registry,
            |s| format!("seedwatch_receiver_refused_{}", s.item_noun()),
            |s| format!("{} refused by receivers (invalid, or queue full: retryable)", s.item_noun().replace('_', " ")),
        );
        let sent = PerSignal::register(
            registry,
            |s| format!("seedwatch_exporter_sent_{}", s.item_noun()),
            |s| format!("{} delivered by each exporter", s.item_noun().replace('_', " ")),
        );
        let send_failed = PerSignal::register(
            registry,
            |s| format!("seedwatch_exporter_send_failed_{}", s.item_noun()),
            |s| format!("{} an exporter gave up on after retries", s.item_noun().replace('_', " ")),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("seedwatch_receiver_requests", "Export requests received, by outcome", requests.clone());
        registry.register(
            "seedwatch_build",
            "seedwatch build information",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register_collector(Box::new(queues::QueueCollector::new(queues)));
        registry.register_collector(Box::new(process::ProcessCollector));
        let metrics = SelfMetrics { accepted, refused, sent, send_failed, requests };
        // Every transport's series exist from the start, so rate() works from the first scrape.
        for transport in Transport::ALL {
            for signal in Signal::ALL {
                metrics.receiver_accepted(transport, signal, 0);
                metrics.receiver_refused(transport, signal, 0);
            }
        }
        metrics
    }

    /// Items accepted and queued.
    pub fn receiver_accepted(&self, transport: Transport, signal: Signal, items: u64) {
        self.accepted.inc(signal, &TransportLabel { transport: transport.as_str() }, items);
    }

    /// Items refused (invalid, or no room).
    pub fn receiver_refused(&self, transport: Transport, signal: Signal, items: u64) {
        self.refused.inc(signal, &TransportLabel { transport: transport.as_str() }, items);
    }

    /// One request's outcome.
    pub fn receiver_request(&self, transport: Transport, signal: Signal, outcome: RequestOutcome) {
        self.request_with_label(transport.as_str(), signal, outcome);
    }

    /// An HTTP request refused before its encoding was known (unsupported `Content-Type`),
    /// counted under `transport="http"`.
    pub fn receiver_request_unknown_http(&self, signal: Signal) {
        self.request_with_label("http", signal, RequestOutcome::Invalid);
    }

    fn request_with_label(&self, transport: &'static str, signal: Signal, outcome: RequestOutcome) {
        let labels = RequestLabels { transport, signal: signal.as_str(), outcome: outcome.as_str() };
        self.requests.get_or_create(&labels).inc();
    }

    /// Declares an exporter so its series exist before its first batch.
    pub fn exporter_declared(&self, exporter: &str, signals: &[Signal]) {
        for &signal in signals {
            self.exporter_sent(exporter, signal, 0);
            self.exporter_failed(exporter, signal, 0);
        }
    }

    /// Items an exporter delivered.
    pub fn exporter_sent(&self, exporter: &str, signal: Signal, items: u64) {
        self.sent.inc(signal, &ExporterLabel { exporter: exporter.to_owned() }, items);
    }

    /// Items an exporter gave up on.
    pub fn exporter_failed(&self, exporter: &str, signal: Signal, items: u64) {
        self.send_failed.inc(signal, &ExporterLabel { exporter: exporter.to_owned() }, items);
    }
}
