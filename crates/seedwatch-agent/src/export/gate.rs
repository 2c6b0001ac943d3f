//! Bounded buffering with exact drop counts. The SDK's batch processors drop silently when
//! their queue is full and do not say how many exports failed; these wrappers admit a span or
//! log record only while fewer than the queue's capacity are in flight (queued or being
//! exported), and settle every admitted item as exported or dropped when its export returns.
//! So the agent never blocks on telemetry, memory stays bounded while the backend is down,
//! and [`telemetry_stats`] tells what was lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// Counts of one signal's items.
#[derive(Debug, Default)]
struct Counters {
    in_flight: AtomicU64,
    exported: AtomicU64,
    dropped: AtomicU64,
}

impl Counters {
    const fn new() -> Self {
        Counters { in_flight: AtomicU64::new(0), exported: AtomicU64::new(0), dropped: AtomicU64::new(0) }
    }

    /// Takes one item in if there is room; counts it dropped otherwise.
    fn admit(&self, limit: u64) -> bool {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= limit {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn settle(&self, n: u64, exported: bool) {
        let counter = if exported { &self.exported } else { &self.dropped };
        counter.fetch_add(n, Ordering::Relaxed);
        self.in_flight.fetch_sub(n.min(self.in_flight.load(Ordering::Acquire)), Ordering::AcqRel);
    }

    /// Items still in flight when the pipeline is gone were never exported.
    fn abandon(&self) {
        let left = self.in_flight.swap(0, Ordering::AcqRel);
        self.dropped.fetch_add(left, Ordering::Relaxed);
    }
}

static SPANS: Counters = Counters::new();
static LOGS: Counters = Counters::new();
static METRIC_EXPORTS: Counters = Counters::new();

/// What happened to this process's telemetry so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TelemetryStats {
    /// Spans the backend accepted.
    pub spans_exported: u64,
    /// Spans dropped: the buffer was full, or their export failed.
    pub spans_dropped: u64,
    /// Spans buffered or being exported now.
    pub spans_in_flight: u64,
    /// Log records the backend accepted.
    pub logs_exported: u64,
    /// Log records dropped.
    pub logs_dropped: u64,
    /// Log records buffered or being exported now.
    pub logs_in_flight: u64,
    /// Metric exports that succeeded.
    pub metric_exports: u64,
    /// Metric exports that failed (their data points are sent again, cumulatively, next time).
    pub metric_exports_failed: u64,
}

impl TelemetryStats {
    /// Spans and log records dropped, together.
    pub fn dropped(&self) -> u64 {
        self.spans_dropped + self.logs_dropped
    }
}

/// A snapshot of the process's telemetry counts.
pub fn telemetry_stats() -> TelemetryStats {
    let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
    TelemetryStats {
        spans_exported: l(&SPANS.exported),
        spans_dropped: l(&SPANS.dropped),
        spans_in_flight: l(&SPANS.in_flight),
        logs_exported: l(&LOGS.exported),
        logs_dropped: l(&LOGS.dropped),
        logs_in_flight: l(&LOGS.in_flight),
        metric_exports: l(&METRIC_EXPORTS.exported),
        metric_exports_failed: l(&METRIC_EXPORTS.dropped),
    }
}

/// Called after the pipelines shut down.
pub(crate) fn abandon_in_flight() {
    SPANS.abandon();
    LOGS.abandon();
}

/// Admits spans to the inner (batch) processor while fewer than `limit` are in flight.
#[derive(Debug)]
pub(crate) struct GatedSpans<P> {
    pub(crate) inner: P,
    pub(crate) limit: u64,
}

impl<P: SpanProcessor> SpanProcessor for GatedSpans<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() && SPANS.admit(self.limit) {
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Settles each exported batch of spans.
#[derive(Debug)]
pub(crate) struct CountingSpans<E>(pub(crate) E);

impl<E: SpanExporter> SpanExporter for CountingSpans<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.0.export(batch).await;
        SPANS.settle(n, result.is_ok());
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// Admits log records to the inner (batch) processor while fewer than `limit` are in flight.
#[derive(Debug)]
pub(crate) struct GatedLogs<P> {
    pub(crate) inner: P,
    pub(crate) limit: u64,
}

impl<P: LogProcessor> LogProcessor for GatedLogs<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if LOGS.admit(self.limit) {
            self.inner.emit(record, scope);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Settles each exported batch of log records.
#[derive(Debug)]
pub(crate) struct CountingLogs<E>(pub(crate) E);

impl<E: LogExporter> LogExporter for CountingLogs<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let n = batch.iter().count() as u64;
        let result = self.0.export(batch).await;
        LOGS.settle(n, result.is_ok());
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// Counts metric exports and their failures.
#[derive(Debug)]
pub(crate) struct CountingMetrics<E>(pub(crate) E);

impl<E: PushMetricExporter> PushMetricExporter for CountingMetrics<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.0.export(metrics).await;
        let counter = if result.is_ok() { &METRIC_EXPORTS.exported } else { &METRIC_EXPORTS.dropped };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.0.temporality()
    }
}

#[cfg(test)]
mod tests {
    use super::Counters;

    #[test]
    fn admits_up_to_the_limit_then_counts_drops() {
        let c = Counters::new();
        assert!(c.admit(2) && c.admit(2));
        assert!(!c.admit(2));
        c.settle(1, true);
        assert!(c.admit(2));
        c.settle(2, false);
        c.abandon();
        let l = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!((l(&c.exported), l(&c.dropped), l(&c.in_flight)), (1, 3, 0));
    }
}
