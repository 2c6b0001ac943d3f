//! What differs between the three OTLP export services, in one place for both transports.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use bytes::Bytes;

use crate::pipeline::{Payload, Signal, TraceData};

/// One OTLP export service.
pub trait OtlpSignal: Send + Sync + 'static {
    /// The signal.
    const SIGNAL: Signal;
    /// The gRPC service name.
    const SERVICE: &'static str;
    /// The export request message.
    type Request: prost::Message + Default + DeserializeOwned + Send + 'static;
    /// The export response message.
    type Response: prost::Message + Default + Serialize + Send + 'static;
    /// Wraps a decoded request for the pipeline.
    fn payload(request: Self::Request) -> Payload;
    /// Validates and wraps a protobuf request; the error says what is malformed.
    fn from_protobuf(bytes: Bytes) -> Result<Payload, String> {
        <Self::Request as prost::Message>::decode(bytes).map(Self::payload).map_err(|e| e.to_string())
    }
    /// The response, with partial success when items were rejected.
    fn response(rejected: u64, message: String) -> Self::Response;
}

/// Traces.
pub struct Traces;
/// Metrics.
pub struct Metrics;
/// Logs.
pub struct Logs;

impl OtlpSignal for Traces {
    const SIGNAL: Signal = Signal::Traces;
    const SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    type Request = ExportTraceServiceRequest;
    type Response = ExportTraceServiceResponse;
    fn payload(request: Self::Request) -> Payload {
        Payload::Traces(request.into())
    }
    fn from_protobuf(bytes: Bytes) -> Result<Payload, String> {
        TraceData::from_protobuf(bytes).map(Payload::Traces).map_err(|e| e.to_string())
    }
    fn response(rejected: u64, message: String) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: (rejected > 0)
                .then_some(ExportTracePartialSuccess { rejected_spans: rejected as i64, error_message: message }),
        }
    }
}

impl OtlpSignal for Metrics {
    const SIGNAL: Signal = Signal::Metrics;
    const SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    type Request = ExportMetricsServiceRequest;
    type Response = ExportMetricsServiceResponse;
    fn payload(request: Self::Request) -> Payload {
        Payload::Metrics(request)
    }
    fn response(rejected: u64, message: String) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then_some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected as i64,
                error_message: message,
            }),
        }
    }
}

impl OtlpSignal for Logs {
    const SIGNAL: Signal = Signal::Logs;
    const SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    type Request = ExportLogsServiceRequest;
    type Response = ExportLogsServiceResponse;
    fn payload(request: Self::Request) -> Payload {
        Payload::Logs(request.into())
    }
    fn response(rejected: u64, message: String) -> Self::Response {
        ExportLogsServiceResponse {
            partial_success: (rejected > 0)
                .then_some(ExportLogsPartialSuccess { rejected_log_records: rejected as i64, error_message: message }),
        }
    }
}
