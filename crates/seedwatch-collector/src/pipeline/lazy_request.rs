//! An OTLP export request as it travels the pipeline: the protobuf bytes it arrived or was
//! stored as, decoded into prost structs only when a consumer needs the structure (then only
//! once, shared by every exporter), encoded again only if it was changed or never encoded.

use std::sync::OnceLock;

use bytes::Bytes;
use prost::Message;

/// A request, encoded, decoded, or both.
#[derive(Debug)]
pub struct LazyRequest<T> {
    raw: Option<Bytes>,
    decoded: OnceLock<T>,
}

impl<T: Message + Default> LazyRequest<T> {
    /// Takes bytes that were validated or checked (a checksum) before: they are decoded when
    /// first needed, and bytes that turn out not to be a request decode to an empty one.
    pub fn from_checked(raw: Bytes) -> LazyRequest<T> {
        LazyRequest { raw: Some(raw), decoded: OnceLock::new() }
    }

    /// True while the data is the bytes it came as, not (yet) decoded or changed.
    pub fn is_raw_only(&self) -> bool {
        self.raw.is_some() && self.decoded.get().is_none()
    }

    /// The request, if it was decoded already.
    pub fn decoded(&self) -> Option<&T> {
        self.decoded.get()
    }

    /// The request as prost structs, decoded on first use.
    pub fn request(&self) -> &T {
        self.decoded.get_or_init(|| match self.raw.as_ref().map(|raw| T::decode(raw.clone())) {
            Some(Ok(request)) => request,
            // Unreachable for what the receivers validated and the durable queue checked.
            Some(Err(err)) => {
                tracing::error!(error = %err, "checked request bytes failed to decode; dropping them");
                T::default()
            }
            None => T::default(),
        })
    }

    /// The request for changing it; the bytes no longer match and are dropped.
    pub fn request_mut(&mut self) -> &mut T {
        self.request();
        self.raw = None;
        self.decoded.get_mut().unwrap_or_else(|| unreachable!("initialised just above"))
    }

    /// The encoded request: the bytes it came as, or the decoded request encoded anew.
    pub fn encoded(&self) -> Bytes {
        match &self.raw {
            Some(raw) => raw.clone(),
            None => Bytes::from(self.request().encode_to_vec()),
        }
    }
}

impl<T> From<T> for LazyRequest<T> {
    fn from(request: T) -> Self {
        LazyRequest { raw: None, decoded: OnceLock::from(request) }
    }
}

impl<T: Clone> Clone for LazyRequest<T> {
    fn clone(&self) -> Self {
        LazyRequest { raw: self.raw.clone(), decoded: self.decoded.clone() }
    }
}

impl<T: Message + Default + PartialEq> PartialEq for LazyRequest<T> {
    fn eq(&self, other: &Self) -> bool {
        self.request() == other.request()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

    use super::*;

    fn request() -> ExportLogsServiceRequest {
        let record = LogRecord { time_unix_nano: 7, ..LogRecord::default() };
        let scope = ScopeLogs { log_records: vec![record], ..ScopeLogs::default() };
        ExportLogsServiceRequest { resource_logs: vec![ResourceLogs { scope_logs: vec![scope], ..Default::default() }] }
    }

    #[test]
    fn checked_bytes_stay_raw_are_passed_on_as_they_are_and_decode_on_demand() {
        let raw = Bytes::from(request().encode_to_vec());
        let data = LazyRequest::<ExportLogsServiceRequest>::from_checked(raw.clone());
        assert!(data.is_raw_only() && data.decoded().is_none());
        assert_eq!(data.encoded(), raw, "the same bytes, not encoded anew");
        assert_eq!(data.request(), &request());
        assert!(!data.is_raw_only());
        assert_eq!(data.encoded(), raw);
    }

    #[test]
    fn changes_drop_the_bytes_and_built_requests_encode() {
        let mut data = LazyRequest::<ExportLogsServiceRequest>::from_checked(Bytes::from(request().encode_to_vec()));
        data.request_mut().resource_logs[0].schema_url = "changed".into();
        let again = ExportLogsServiceRequest::decode(data.encoded()).expect("decode");
        assert_eq!(again.resource_logs[0].schema_url, "changed");
        let built = LazyRequest::from(request());
        assert_eq!(ExportLogsServiceRequest::decode(built.encoded()).expect("decode"), request());
        assert_eq!(built, LazyRequest::from_checked(Bytes::from(request().encode_to_vec())));
    }

    #[test]
    fn bytes_that_are_no_request_decode_to_an_empty_one() {
        let data = LazyRequest::<ExportLogsServiceRequest>::from_checked(Bytes::from_static(&[0x0a, 0x05, 0x01]));
        assert_eq!(data.request(), &ExportLogsServiceRequest::default());
    }
}
