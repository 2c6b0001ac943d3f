//! The memory limiter on `/metrics`: `seedwatch_memory_limit_bytes`,
//! `seedwatch_memory_soft_limit_bytes`, `seedwatch_memory_accounted_bytes` (data queued and in
//! flight) and `seedwatch_memory_refusals_total`, read at scrape time.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::limits::MemoryLimiter;

#[derive(Debug)]
pub(super) struct MemoryCollector(pub(super) Arc<MemoryLimiter>);

impl Collector for MemoryCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        let gauges = [
            ("seedwatch_memory_limit_bytes", "Resident memory above which new data is refused", m.limit()),
            (
                "seedwatch_memory_soft_limit_bytes",
                "Data queued and in flight above which new data is refused",
                m.soft_limit(),
            ),
            ("seedwatch_memory_accounted_bytes", "Data queued and in flight, bytes", m.used()),
        ];
        for (name, help, value) in gauges {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(value.min(i64::MAX as u64) as i64).encode(metric)?;
        }
        let metric = encoder.encode_descriptor(
            "seedwatch_memory_refusals",
            "Requests and reads refused because of the memory limit (retryable answers)",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(m.refused()).encode(metric)
    }
}
