//! `seedwatch_queue_size` and `seedwatch_queue_capacity` (in-memory queues, in items),
//! `seedwatch_queue_bytes` and `seedwatch_queue_capacity_bytes` (in-memory queues, bytes held
//! against the memory limiter), and `seedwatch_queue_disk_bytes` and
//! `seedwatch_queue_disk_capacity_bytes` (durable queues), read from the queues at scrape time.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::pipeline::{QueueSet, QueueStats, QueueUnit};

type ReadStat = fn(&QueueStats) -> u64;

#[derive(Debug)]
pub(super) struct QueueCollector {
    queues: QueueSet,
}

impl QueueCollector {
    pub(super) fn new(queues: QueueSet) -> Self {
        QueueCollector { queues }
    }
}

impl Collector for QueueCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let queues = self.queues.snapshot();
        let families: [(&str, &str, QueueUnit, ReadStat); 6] = [
            ("seedwatch_queue_size", "Items waiting in each in-memory queue", QueueUnit::Items, |q| q.size()),
            ("seedwatch_queue_capacity", "Capacity of each in-memory queue in items", QueueUnit::Items, |q| {
                q.capacity()
            }),
            (
                "seedwatch_queue_bytes",
                "Bytes of memory the batches in each in-memory queue hold",
                QueueUnit::Items,
                |q| q.held_bytes(),
            ),
            ("seedwatch_queue_capacity_bytes", "Capacity of each in-memory queue in bytes", QueueUnit::Items, |q| {
                q.byte_capacity()
            }),
            ("seedwatch_queue_disk_bytes", "Bytes each durable queue takes on disk", QueueUnit::Bytes, |q| q.size()),
            ("seedwatch_queue_disk_capacity_bytes", "Disk cap of each durable queue", QueueUnit::Bytes, |q| {
                q.capacity()
            }),
        ];
        for (name, help, unit, read) in families {
            if !queues.iter().any(|q| q.unit() == unit) {
                continue;
            }
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for q in queues.iter().filter(|q| q.unit() == unit) {
                let labels = [("queue", q.name())];
                let metric = family.encode_family(&labels)?;
                ConstGauge::new(read(q) as i64).encode(metric)?;
            }
        }
        Ok(())
    }
}
