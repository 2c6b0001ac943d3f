//! What each listener did with its connections and request bodies, for `/metrics`:
//! `seedwatch_listener_connections{listener}` (open now),
//! `seedwatch_listener_connections_accepted_total`, `…_refused_total` (closed at once: full),
//! `…_closed_total{reason}` (closed by the collector), `seedwatch_listener_bodies_cut_total{reason}`
//! `seedwatch_listener_accept_errors_total` (e.g. out of file descriptors) and
//! `seedwatch_listener_tls_handshake_failures_total`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::connections::{CloseReason, Connections};

/// Why a request body was cut (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Slower than the minimum rate or past the read timeout.
    TooSlow,
    /// Its next bytes would have passed the memory limit.
    Memory,
}

/// One listener's counters and open connections.
#[derive(Debug)]
pub struct ListenerStats {
    name: &'static str,
    connections: Arc<Connections>,
    accepted: AtomicU64,
    refused: AtomicU64,
    accept_errors: AtomicU64,
    tls_failures: AtomicU64,
    closed: [AtomicU64; CloseReason::ALL.len()],
    cut_too_slow: AtomicU64,
    cut_memory: AtomicU64,
}

impl ListenerStats {
    /// Stats of the listener `name` over its connection registry.
    pub fn new(name: &'static str, connections: Arc<Connections>) -> Arc<Self> {
        Arc::new(ListenerStats {
            name,
            connections,
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            accept_errors: AtomicU64::new(0),
            tls_failures: AtomicU64::new(0),
            closed: Default::default(),
            cut_too_slow: AtomicU64::new(0),
            cut_memory: AtomicU64::new(0),
        })
    }

    /// The listener's name (the `listener` label).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The open connections.
    pub fn connections(&self) -> &Arc<Connections> {
        &self.connections
    }

    pub(super) fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn tls_failed(&self) {
        self.tls_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn closed(&self, reason: CloseReason) {
        if let Some(i) = CloseReason::ALL.iter().position(|r| *r == reason) {
            self.closed[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn cut(&self, why: Cut) {
        let counter = match why {
            Cut::TooSlow => &self.cut_too_slow,
            Cut::Memory => &self.cut_memory,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections closed by the collector for `reason` so far.
    pub fn closed_count(&self, reason: CloseReason) -> u64 {
        CloseReason::ALL.iter().position(|r| *r == reason).map_or(0, |i| self.closed[i].load(Ordering::Relaxed))
    }

    /// Bodies cut for `why` so far.
    pub fn cut_count(&self, why: Cut) -> u64 {
        match why {
            Cut::TooSlow => self.cut_too_slow.load(Ordering::Relaxed),
            Cut::Memory => self.cut_memory.load(Ordering::Relaxed),
        }
    }
}

/// The listeners of a running collector, read at scrape time.
#[derive(Debug, Clone, Default)]
pub struct ListenerSet(Arc<RwLock<Vec<Arc<ListenerStats>>>>);

impl ListenerSet {
    /// Adds a listener.
    pub fn add(&self, stats: Arc<ListenerStats>) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).push(stats);
    }

    /// Every listener, in the order added.
    pub fn snapshot(&self) -> Vec<Arc<ListenerStats>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Collector for ListenerSet {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let listeners = self.snapshot();
        if listeners.is_empty() {
            return Ok(());
        }
        let mut open = encoder.encode_descriptor(
            "seedwatch_listener_connections",
            "Connections open on each listener",
            None,
            MetricType::Gauge,
        )?;
        for l in &listeners {
            ConstGauge::new(l.connections.len() as i64).encode(open.encode_family(&[("listener", l.name)])?)?;
        }
        type Read = fn(&ListenerStats) -> u64;
        let plain: [(&str, &str, Read); 4] = [
            ("seedwatch_listener_connections_accepted", "Connections accepted by each listener", |l| {
                l.accepted.load(Ordering::Relaxed)
            }),
            (
                "seedwatch_listener_connections_refused",
                "Connections closed at once because the listener was full and none of its connections was idle",
                |l| l.refused.load(Ordering::Relaxed),
            ),
            (
                "seedwatch_listener_accept_errors",
                "Failed accepts (such as running out of file descriptors), by listener",
                |l| l.accept_errors.load(Ordering::Relaxed),
            ),
            (
                "seedwatch_listener_tls_handshake_failures",
                "TLS handshakes that failed (an untrusted or missing client certificate, a client that does not trust the server, not TLS at all), by listener",
                |l| l.tls_failures.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, read) in plain {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for l in &listeners {
                ConstCounter::new(read(l)).encode(family.encode_family(&[("listener", l.name)])?)?;
            }
        }
        let mut closed = encoder.encode_descriptor(
            "seedwatch_listener_connections_closed",
            "Connections closed by the collector: header_timeout, idle, max_age, evicted (to make room), shutdown",
            None,
            MetricType::Counter,
        )?;
        for l in &listeners {
            for reason in CloseReason::ALL {
                let labels = [("listener", l.name), ("reason", reason.as_str())];
                ConstCounter::new(l.closed_count(reason)).encode(closed.encode_family(&labels)?)?;
            }
        }
        let mut cut = encoder.encode_descriptor(
            "seedwatch_listener_bodies_cut",
            "Request bodies cut: too_slow (below the minimum rate or past the read timeout) or memory (past the memory limit)",
            None,
            MetricType::Counter,
        )?;
        for l in &listeners {
            for (why, label) in [(Cut::TooSlow, "too_slow"), (Cut::Memory, "memory")] {
                let labels = [("listener", l.name), ("reason", label)];
                ConstCounter::new(l.cut_count(why)).encode(cut.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
