//! Differential tests: the walker accepts exactly what prost accepts.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use prost::Message;
use seedwatch_loadgen::traffic::{Dialect, TrafficConfig, request};
use seedwatch_semconv::AttrValue;

use super::*;

/// A visitor that wants nothing: validation only.
struct Validate;
impl TraceVisitor<'_> for Validate {}

fn samples() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dialect in [Dialect::GenAi, Dialect::OpenLlmetry, Dialect::OpenInference, Dialect::OpenLit, Dialect::Mixed] {
        let cfg = TrafficConfig { dialect, services: 3, error_rate: 0.3, traces_per_request: 2 };
        let mut req = request(&cfg, 7);
        // Events, links, nested values and unknown content too.
        let span = &mut req.resource_spans[0].scope_spans[0].spans[1];
        span.events.push(Default::default());
        span.links.push(Default::default());
        span.attributes.push(KeyValue {
            key: "nested".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue { value: Some(any_value::Value::BytesValue(vec![1, 2])) }],
                })),
            }),
            ..Default::default()
        });
        out.push(req.encode_to_vec());
    }
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/otlp-spec-examples/trace.json"
    ));
    if let Ok(json) = spec {
        let req: ExportTraceServiceRequest = serde_json::from_str(&json).expect("spec example");
        out.push(req.encode_to_vec());
    }
    out
}

/// Everything a walk visits, in order, strings as bytes.
#[derive(Debug, Default, PartialEq)]
struct Visits<'a> {
    events: Vec<Visit<'a>>,
}

#[derive(Debug, PartialEq)]
enum Visit<'a> {
    Resource(Option<&'a [u8]>),
    Attribute(&'a [u8], RawValue<'a>),
    Span(SpanRef<'a>),
}

impl<'a> TraceVisitor<'a> for Visits<'a> {
    fn resource(&mut self, r: Option<&'a [u8]>) {
        self.events.push(Visit::Resource(r));
    }
    fn span_attribute(&mut self, k: &'a str, v: AttrValue<'a>) {
        let raw = match v {
            AttrValue::Str(s) => RawValue::Str(s.as_bytes()),
            AttrValue::Int(i) => RawValue::Int(i),
            AttrValue::Double(d) => RawValue::Double(d),
            AttrValue::Bool(b) => RawValue::Bool(b),
        };
        self.events.push(Visit::Attribute(k.as_bytes(), raw));
    }
    fn span(&mut self, s: &SpanRef<'a>) {
        self.events.push(Visit::Span(s.clone()));
    }
}

impl<'a> ValidatedVisitor<'a> for Visits<'a> {
    fn resource(&mut self, r: Option<&'a [u8]>) {
        self.events.push(Visit::Resource(r));
    }
    fn span_attribute(&mut self, k: &'a [u8], v: RawValue<'a>) {
        self.events.push(Visit::Attribute(k, v));
    }
    fn span(&mut self, s: &SpanRef<'a>) {
        self.events.push(Visit::Span(s.clone()));
    }
}

/// The validating walk accepts what prost accepts; on what it accepts, the cheaper second walk
/// visits exactly the same; on what it rejects, the second walk does not panic.
fn agree(bytes: &[u8]) {
    let prost_ok = ExportTraceServiceRequest::decode(bytes).is_ok();
    let mut validating = Visits::default();
    let ours = walk_request(bytes, &mut validating);
    assert_eq!(ours.is_ok(), prost_ok, "walker {ours:?} vs prost ok={prost_ok} on {bytes:02x?}");
    let mut second = Visits::default();
    let again = walk_validated(bytes, &mut second);
    if ours.is_ok() {
        assert_eq!(again, Ok(()));
        assert_eq!(second, validating, "the validated walk differs on {bytes:02x?}");
    }
}

#[test]
fn valid_requests_are_accepted() {
    for s in samples() {
        walk_request(&s, &mut Validate).expect("valid");
        agree(&s);
    }
}

#[test]
fn walker_and_prost_agree_on_mutated_requests() {
    let mut rng = fastrand::Rng::with_seed(42);
    let samples = samples();
    for round in 0..30_000 {
        let mut b = samples[round % samples.len()].clone();
        match rng.u8(0..5) {
            0 => {
                let i = rng.usize(0..b.len());
                b[i] = rng.u8(..);
            }
            1 => b.truncate(rng.usize(0..b.len())),
            2 => {
                let i = rng.usize(0..=b.len());
                let junk: Vec<u8> = (0..rng.usize(1..6)).map(|_| rng.u8(..)).collect();
                b.splice(i..i, junk);
            }
            3 => {
                for _ in 0..rng.usize(1..4) {
                    let i = rng.usize(0..b.len());
                    b[i] ^= 1 << rng.u8(0..8);
                }
            }
            _ => b = (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect(),
        }
        agree(&b);
    }
}

#[test]
fn recursion_limit_matches_prost() {
    for depth in 90..110 {
        let mut v = AnyValue { value: Some(any_value::Value::StringValue("leaf".into())) };
        for _ in 0..depth {
            v = AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![v] })) };
        }
        let mut req =
            request(&TrafficConfig { dialect: Dialect::GenAi, services: 1, error_rate: 0.0, traces_per_request: 1 }, 1);
        req.resource_spans[0].scope_spans[0].spans[0].attributes.push(KeyValue {
            key: "deep".into(),
            value: Some(v),
            ..Default::default()
        });
        agree(&req.encode_to_vec());
    }
}

#[test]
fn visitor_sees_spans_and_scalar_attributes_as_prost_decodes_them() {
    struct Collect<'a> {
        attrs: Vec<(&'a str, AttrValue<'a>)>,
        spans: Vec<SpanRef<'a>>,
        resources: usize,
    }
    impl<'a> TraceVisitor<'a> for Collect<'a> {
        fn resource(&mut self, r: Option<&'a [u8]>) {
            self.resources += usize::from(r.is_some());
        }
        fn span_attribute(&mut self, k: &'a str, v: AttrValue<'a>) {
            self.attrs.push((k, v));
        }
        fn span(&mut self, s: &SpanRef<'a>) {
            self.spans.push(s.clone());
        }
    }
    let bytes = &samples()[4];
    let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("decode");
    let mut c = Collect { attrs: vec![], spans: vec![], resources: 0 };
    walk_request(bytes, &mut c).expect("walk");
    let spans: Vec<_> = decoded.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect();
    assert_eq!(c.resources, 1);
    assert_eq!(c.spans.len(), spans.len());
    for (ours, theirs) in c.spans.iter().zip(&spans) {
        assert_eq!(ours.trace_id, theirs.trace_id.as_slice());
        assert_eq!(ours.span_id, theirs.span_id.as_slice());
        assert_eq!(ours.parent_span_id, theirs.parent_span_id.as_slice());
        assert_eq!(ours.name, theirs.name);
        assert_eq!(
            (ours.start_time_unix_nano, ours.end_time_unix_nano),
            (theirs.start_time_unix_nano, theirs.end_time_unix_nano)
        );
        assert_eq!(ours.status_code, theirs.status.as_ref().map_or(0, |s| s.code));
        assert_eq!(ours.kind, theirs.kind);
    }
    let scalar_attrs = spans
        .iter()
        .flat_map(|s| &s.attributes)
        .filter(|kv| {
            matches!(
                kv.value.as_ref().and_then(|v| v.value.as_ref()),
                Some(
                    any_value::Value::StringValue(_)
                        | any_value::Value::IntValue(_)
                        | any_value::Value::DoubleValue(_)
                        | any_value::Value::BoolValue(_)
                )
            )
        })
        .count();
    assert_eq!(c.attrs.len(), scalar_attrs);
}
