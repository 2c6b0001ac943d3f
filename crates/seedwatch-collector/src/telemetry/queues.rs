//! `seedwatch_queue_size` and `seedwatch_queue_capacity`, read from the queues at scrape time.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::pipeline::{QueueSet, QueueStats};

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
        let families: [(&str, &str, ReadStat); 2] = [
            ("seedwatch_queue_size", "Items waiting in each queue", |q| q.size()),
            ("seedwatch_queue_capacity", "Capacity of each queue in items", |q| q.capacity()),
        ];
        for (name, help, read) in families {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for q in &queues {
                let labels = [("queue", q.name())];
                let metric = family.encode_family(&labels)?;
                ConstGauge::new(read(q) as i64).encode(metric)?;
            }
        }
        Ok(())
    }
}
