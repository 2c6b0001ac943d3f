//! One queued batch on disk: a 16-byte header and the OTLP export request as protobuf.
//!
//! ```text
//! [body length u32][crc32 of bytes 8.. and the body u32][items u32][signal u8][transport u8][0u16][body]
//! ```
//! All integers little-endian. The checksum catches a record torn by a crash or a bad disk.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;

use crate::pipeline::{Batch, LazyRequest, Payload, Signal, TraceData, Transport};

/// Header length in bytes.
pub(super) const HEADER: usize = 16;

/// What the header says about the record that follows it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub(super) body_len: u32,
    crc: u32,
    pub(super) items: u32,
    signal: u8,
    transport: u8,
}

impl Header {
    pub(super) fn parse(raw: &[u8; HEADER]) -> Header {
        let u32_at = |i: usize| u32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
        Header { body_len: u32_at(0), crc: u32_at(4), items: u32_at(8), signal: raw[12], transport: raw[13] }
    }

    /// The whole record's length on disk.
    pub(super) fn record_len(&self) -> u64 {
        HEADER as u64 + u64::from(self.body_len)
    }

    /// Whether `body` is what was written under this header.
    pub(super) fn checks(&self, raw_header: &[u8; HEADER], body: &[u8]) -> bool {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&raw_header[8..]);
        crc.update(body);
        crc.finalize() == self.crc
    }
}

fn transport_code(transport: Transport) -> u8 {
    match transport {
        Transport::Grpc => 0,
        Transport::HttpProtobuf => 1,
        Transport::HttpJson => 2,
        Transport::Internal => 3,
    }
}

/// Encodes a batch as one record, header included.
pub(super) fn encode(batch: &Batch) -> Vec<u8> {
    let body = match batch.payload() {
        Payload::Traces(data) => data.encoded(),
        Payload::Metrics(req) => Bytes::from(req.encode_to_vec()),
        Payload::Logs(data) => data.encoded(),
    };
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(batch.items().min(u64::from(u32::MAX)) as u32).to_le_bytes());
    out.extend_from_slice(&[batch.signal().index() as u8, transport_code(batch.transport()), 0, 0]);
    out.extend_from_slice(&body);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out[8..]);
    let crc = crc.finalize().to_le_bytes();
    out[4..8].copy_from_slice(&crc);
    out
}

/// Decodes a record body checked against its header; `None` if it is not a request we wrote
/// (traces are taken as they are: see [`TraceData::from_checked`]).
pub(super) fn decode(header: &Header, body: Vec<u8>) -> Option<Batch> {
    let body = Bytes::from(body);
    let payload = match Signal::ALL.get(usize::from(header.signal))? {
        // Checked by the record's checksum: the bytes are the ones validated before writing.
        Signal::Traces => Payload::Traces(TraceData::from_checked(body, u64::from(header.items))),
        Signal::Metrics => Payload::Metrics(ExportMetricsServiceRequest::decode(body).ok()?),
        // Checked likewise; decoded only if an exporter needs the structure.
        Signal::Logs => Payload::Logs(LazyRequest::from_checked(body)),
    };
    let transport = match header.transport {
        0 => Transport::Grpc,
        1 => Transport::HttpProtobuf,
        2 => Transport::HttpJson,
        _ => Transport::Internal,
    };
    Some(Batch::counted(payload, u64::from(header.items), transport))
}
