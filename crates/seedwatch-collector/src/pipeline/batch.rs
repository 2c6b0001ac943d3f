//! The one message envelope that travels from a receiver through processors to exporters.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{LazyRequest, Signal, TraceData};
use crate::limits::Reservation;

/// How a batch reached the collector; the `transport` label of receiver metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// OTLP over gRPC.
    Grpc,
    /// OTLP over HTTP with a protobuf body.
    HttpProtobuf,
    /// OTLP over HTTP with a JSON body.
    HttpJson,
    /// Made inside the collector (workflow summaries, state changes).
    Internal,
}

impl Transport {
    /// Every transport a receiver uses, in a fixed order.
    pub const ALL: [Transport; 3] = [Transport::Grpc, Transport::HttpProtobuf, Transport::HttpJson];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::HttpProtobuf => "http_protobuf",
            Transport::HttpJson => "http_json",
            Transport::Internal => "internal",
        }
    }
}

/// A logs export request, encoded, decoded, or both.
pub type LogData = LazyRequest<ExportLogsServiceRequest>;

/// The OTLP request a batch carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A trace export request (kept encoded until something needs it decoded).
    Traces(TraceData),
    /// A metrics export request.
    Metrics(ExportMetricsServiceRequest),
    /// A logs export request (kept encoded when it came from the durable queue).
    Logs(LogData),
}

impl Payload {
    /// The signal of this payload.
    pub fn signal(&self) -> Signal {
        match self {
            Payload::Traces(_) => Signal::Traces,
            Payload::Metrics(_) => Signal::Metrics,
            Payload::Logs(_) => Signal::Logs,
        }
    }

    /// Counts the items (spans, data points, log records) in the payload.
    pub fn count_items(&self) -> u64 {
        match self {
            Payload::Traces(data) => data.spans(),
            Payload::Metrics(req) => count_metric_points(req),
            Payload::Logs(data) => count_log_records(data.request()),
        }
    }
}

/// Number of data points in a metrics request (every point of every metric type).
fn count_metric_points(req: &ExportMetricsServiceRequest) -> u64 {
    let points: usize = req
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(|m| m.data.as_ref().map_or(0, data_point_count))
        .sum();
    points as u64
}

/// Number of data points in one metric's data.
pub fn data_point_count(data: &Data) -> usize {
    match data {
        Data::Gauge(g) => g.data_points.len(),
        Data::Sum(s) => s.data_points.len(),
        Data::Histogram(h) => h.data_points.len(),
        Data::ExponentialHistogram(h) => h.data_points.len(),
        Data::Summary(s) => s.data_points.len(),
    }
}

/// Number of log records in a logs request.
fn count_log_records(req: &ExportLogsServiceRequest) -> u64 {
    let records: usize = req.resource_logs.iter().flat_map(|rl| &rl.scope_logs).map(|sl| sl.log_records.len()).sum();
    records as u64
}

/// A unit of work in the pipeline: one accepted OTLP request and its item count, holding its
/// bytes against the memory limiter until the last exporter is done with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    payload: Payload,
    items: u64,
    transport: Transport,
    queued: QueuedSignal,
    memory: Held,
}

/// The batch's reservation (shared by clones: given back when the last goes).
#[derive(Debug, Clone, Default)]
struct Held(Option<Arc<Reservation>>);

impl PartialEq for Held {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Bytes a request of `wire` bytes takes in memory once accepted: trace protobuf is kept as
/// received (one copy); anything else is decoded, and decoded requests take per wire byte (measured
/// with a counting allocator) 7.0 for metrics and 3.4 for logs (spans are like logs), rounded up.
pub fn accepted_bytes(signal: Signal, wire: u64, protobuf: bool) -> u64 {
    let per_byte = match signal {
        Signal::Traces if protobuf => 1,
        Signal::Metrics => 8,
        Signal::Traces | Signal::Logs => 4,
    };
    wire.saturating_mul(per_byte)
}

/// Tells a waiting receiver that its batch reached every exporter's queue (on disk, for
/// durable queues). Clones share it; whoever takes it first answers.
#[derive(Clone, Default)]
struct QueuedSignal(Option<Arc<Mutex<Option<oneshot::Sender<()>>>>>);

impl PartialEq for QueuedSignal {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for QueuedSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "QueuedSignal(awaited)" } else { "QueuedSignal(none)" })
    }
}

impl Batch {
    /// Wraps a payload, counting its items once.
    pub fn new(payload: Payload, transport: Transport) -> Self {
        let items = payload.count_items();
        Self::counted(payload, items, transport)
    }

    /// A batch of `items` items, counted before (the durable queue's records say how many
    /// they hold, so their requests need not be decoded to count them).
    pub fn counted(payload: Payload, items: u64, transport: Transport) -> Self {
        Batch { payload, items, transport, queued: QueuedSignal::default(), memory: Held::default() }
    }

    /// Holds `memory` (the bytes this batch takes) until the last clone is dropped.
    pub fn hold(&mut self, memory: Reservation) {
        self.memory = Held(Some(Arc::new(memory)));
    }

    /// Bytes held against the memory limiter.
    pub fn held_bytes(&self) -> u64 {
        self.memory.0.as_ref().map_or(0, |r| r.bytes())
    }

    /// Asks to be told when the batch has reached every exporter queue; the receiver fires
    /// (or is dropped, meaning it did not) once the pipeline worker has handed it over.
    pub fn await_queued(&mut self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.queued = QueuedSignal(Some(Arc::new(Mutex::new(Some(tx)))));
        rx
    }

    /// Takes the sender of [`Batch::await_queued`], if a receiver is waiting.
    pub fn take_queued_signal(&mut self) -> Option<oneshot::Sender<()>> {
        self.queued.0.take().and_then(|s| s.lock().unwrap_or_else(|p| p.into_inner()).take())
    }

    /// The signal this batch carries.
    pub fn signal(&self) -> Signal {
        self.payload.signal()
    }

    /// Number of items (spans, data points or log records).
    pub fn items(&self) -> u64 {
        self.items
    }

    /// How the batch arrived.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The payload, read-only.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The payload, for processors that change attributes; they must not add or remove items,
    /// since the count was taken on receipt.
    pub fn payload_mut(&mut self) -> &mut Payload {
        &mut self.payload
    }
}
