//! Spans as they travel the pipeline: the validated protobuf bytes as received, decoded into
//! prost structs only when a consumer needs the whole structure (and then only once, shared by
//! every exporter). The derivation reads the bytes in place.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use super::lazy_request::LazyRequest;
use crate::otlp_wire::{SpanRef, TraceVisitor, WireError, walk_request};

/// A trace export request, encoded, decoded, or both, and its span count.
#[derive(Debug, Clone)]
pub struct TraceData {
    body: LazyRequest<ExportTraceServiceRequest>,
    spans: u64,
}

/// What one validating pass over received bytes found.
#[derive(Debug, Default)]
struct Scan {
    spans: u64,
    bad_ids: u64,
}

impl TraceVisitor<'_> for Scan {
    const WANTS_ATTRIBUTES: bool = false;

    fn span(&mut self, s: &SpanRef<'_>) {
        self.spans += 1;
        if span_ids_problem(s.trace_id, s.span_id, s.parent_span_id).is_some() {
            self.bad_ids += 1;
        }
    }
}

/// What is wrong with a span's ids, if anything: the one rule receivers apply to spans.
pub fn span_ids_problem(trace_id: &[u8], span_id: &[u8], parent_span_id: &[u8]) -> Option<&'static str> {
    let valid = |id: &[u8], len| id.len() == len && id.iter().any(|b| *b != 0);
    if !valid(trace_id, 16) {
        Some("trace_id must be 16 bytes and not all zero")
    } else if !valid(span_id, 8) {
        Some("span_id must be 8 bytes and not all zero")
    } else if !(parent_span_id.is_empty() || parent_span_id.len() == 8) {
        Some("parent_span_id must be empty or 8 bytes")
    } else {
        None
    }
}

impl TraceData {
    /// Validates received protobuf in one pass without decoding it. Requests in which some
    /// span has invalid ids are decoded, so the receiver can drop those spans and report them.
    pub fn from_protobuf(raw: Bytes) -> Result<TraceData, WireError> {
        let mut scan = Scan::default();
        walk_request(&raw, &mut scan)?;
        if scan.bad_ids > 0 {
            let request = ExportTraceServiceRequest::decode(raw).map_err(|_| WireError("malformed request"))?;
            return Ok(TraceData::from(request));
        }
        // Keep a copy of our own: `raw` may be a view into a transport's read buffer, and holding
        // that in the pipeline stops the buffer from being reused, which costs more than a copy.
        let raw = Bytes::copy_from_slice(&raw);
        Ok(TraceData { body: LazyRequest::from_checked(raw), spans: scan.spans })
    }

    /// Takes bytes this collector encoded or validated itself and has checked since (the
    /// durable queue's records, under a checksum) as they are, without a second walk. Bytes
    /// that are not a valid request anyway never cause a panic: readers stop with an error.
    pub fn from_checked(raw: Bytes, spans: u64) -> TraceData {
        TraceData { body: LazyRequest::from_checked(raw), spans }
    }

    /// True while the data is the received bytes, not (yet) decoded or changed. Such data has
    /// no span with invalid ids.
    pub fn is_raw_only(&self) -> bool {
        self.body.is_raw_only()
    }

    /// Number of spans (counted anew once decoded, since a decoded request can be changed).
    pub fn spans(&self) -> u64 {
        match self.body.decoded() {
            Some(request) => count_spans(request),
            None => self.spans,
        }
    }

    /// The request as prost structs, decoded on first use.
    pub fn request(&self) -> &ExportTraceServiceRequest {
        self.body.request()
    }

    /// The request for changing it; the received bytes no longer match and are dropped.
    pub fn request_mut(&mut self) -> &mut ExportTraceServiceRequest {
        self.body.request_mut()
    }

    /// The encoded request: the received bytes, or the decoded request encoded anew.
    pub fn encoded(&self) -> Bytes {
        self.body.encoded()
    }
}

fn count_spans(request: &ExportTraceServiceRequest) -> u64 {
    request.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len() as u64).sum()
}

impl From<ExportTraceServiceRequest> for TraceData {
    fn from(request: ExportTraceServiceRequest) -> Self {
        let spans = count_spans(&request);
        TraceData { body: LazyRequest::from(request), spans }
    }
}

impl PartialEq for TraceData {
    fn eq(&self, other: &Self) -> bool {
        self.body == other.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(n: usize) -> ExportTraceServiceRequest {
        let cfg = seedwatch_loadgen::traffic::TrafficConfig {
            dialect: seedwatch_loadgen::traffic::Dialect::Mixed,
            services: 1,
            error_rate: 0.0,
            traces_per_request: n,
        };
        seedwatch_loadgen::traffic::request(&cfg, 3)
    }

    #[test]
    fn valid_bytes_stay_raw_and_decode_on_demand() {
        let req = request(2);
        let raw = Bytes::from(req.encode_to_vec());
        let data = TraceData::from_protobuf(raw.clone()).expect("valid");
        assert!(data.is_raw_only());
        assert_eq!(data.spans(), 20);
        assert_eq!(data.encoded(), raw, "forwarded as received");
        assert_eq!(data.request(), &req);
        assert!(!data.is_raw_only());
    }

    #[test]
    fn bad_ids_are_decoded_for_the_receiver_to_drop() {
        let mut req = request(1);
        req.resource_spans[0].scope_spans[0].spans[0].span_id = vec![0; 8];
        let data = TraceData::from_protobuf(Bytes::from(req.encode_to_vec())).expect("well-formed");
        assert!(!data.is_raw_only());
        assert_eq!(data.request(), &req);
    }

    #[test]
    fn changes_drop_the_received_bytes() {
        let req = request(1);
        let mut data = TraceData::from_protobuf(Bytes::from(req.encode_to_vec())).expect("valid");
        data.request_mut().resource_spans[0].schema_url = "changed".into();
        assert!(!data.is_raw_only());
        let re = ExportTraceServiceRequest::decode(data.encoded()).expect("decode");
        assert_eq!(re.resource_spans[0].schema_url, "changed");
    }

    #[test]
    fn malformed_bytes_are_refused() {
        assert!(TraceData::from_protobuf(Bytes::from_static(&[0x0a, 0x05, 0x01])).is_err());
    }
}
