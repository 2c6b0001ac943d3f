//! Differential tests: the walker accepts exactly what prost accepts.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use prost::Message;
use seedwatch_loadgen::traffic::{Dialect, TrafficConfig, request};
use seedwatch_semconv::AttrValue;

use super::*;

/// A visitor that wants nothing: validation only (attributes checked, not handed over).
struct Validate;
impl TraceVisitor<'_> for Validate {
    const WANTS_ATTRIBUTES: bool = false;
}

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
    let checking = walk_request(bytes, &mut Validate);
    assert_eq!(checking.is_ok(), prost_ok, "checking walk {checking:?} vs prost ok={prost_ok} on {bytes:02x?}");
    let mut second = Visits::default();
    let again = walk_validated(bytes, &mut second);
    for visit in &second.events {
        if let Visit::Span(s) = visit {
            // Never panics, whatever the span's bytes.
            let _ = super::exception_type(s.encoded);
        }
    }
    if ours.is_ok() {
        assert_eq!(again, Ok(()));
        assert_eq!(second, validating, "the validated walk differs on {bytes:02x?}");
    }
}

#[test]
fn the_exception_type_is_read_from_the_first_exception_event() {
    use opentelemetry_proto::tonic::trace::v1::Span;
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    let string = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
        ..Default::default()
    };
    let event = |name: &str, attrs: Vec<KeyValue>| Event { name: name.into(), attributes: attrs, ..Default::default() };
    let cases = [
        (vec![], None),
        (vec![event("log", vec![string("exception.type", "NotThis")])], None),
        (
            vec![
                event(
                    "exception",
                    vec![string("exception.message", "slow down"), string("exception.type", "openai.RateLimitError")],
                ),
                event("exception", vec![string("exception.type", "Second")]),
            ],
            Some("openai.RateLimitError"),
        ),
        (vec![event("exception", vec![string("exception.message", "no type")])], None),
    ];
    for (events, expected) in cases {
        let encoded = Span { name: "chat".into(), events, ..Default::default() }.encode_to_vec();
        assert_eq!(super::exception_type(&encoded), expected);
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

/// Whether a value read in place is the one prost decodes.
fn same_value(ours: AnyRef<'_>, theirs: Option<&AnyValue>) -> bool {
    use any_value::Value as V;
    match (ours, theirs.and_then(|v| v.value.as_ref())) {
        (AnyRef::Empty, None) => true,
        (AnyRef::Str(a), Some(V::StringValue(b))) => a == b.as_bytes(),
        (AnyRef::Bool(a), Some(V::BoolValue(b))) => a == *b,
        (AnyRef::Int(a), Some(V::IntValue(b))) => a == *b,
        (AnyRef::Double(a), Some(V::DoubleValue(b))) => a.to_bits() == b.to_bits(),
        (AnyRef::Bytes(a), Some(V::BytesValue(b))) => a == b.as_slice(),
        (AnyRef::Array(a), Some(V::ArrayValue(b))) => {
            let ours: Vec<_> = array_values(a).collect();
            ours.len() == b.values.len() && ours.iter().zip(&b.values).all(|(x, y)| same_value(*x, Some(y)))
        }
        (AnyRef::Kvlist(a), Some(V::KvlistValue(b))) => same_attributes(KeyValues::new(a, 1), &b.values),
        _ => false,
    }
}

fn same_attributes(ours: KeyValues<'_>, theirs: &[KeyValue]) -> bool {
    let ours: Vec<_> = ours.collect();
    ours.len() == theirs.len()
        && ours.iter().zip(theirs).all(|((k, v), kv)| *k == kv.key.as_bytes() && same_value(*v, kv.value.as_ref()))
}

#[test]
fn whole_spans_read_in_place_are_what_prost_decodes() {
    for bytes in samples() {
        let req = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("valid");
        let theirs: Vec<_> = req
            .resource_spans
            .iter()
            .flat_map(|rs| rs.scope_spans.iter().flat_map(move |ss| ss.spans.iter().map(move |s| (rs, ss, s))))
            .collect();
        let mut n = 0;
        each_span(&bytes, |origin, ours| {
            let (rs, ss, s) = theirs[n];
            n += 1;
            assert_eq!(ours.trace_id, s.trace_id.as_slice());
            assert_eq!(ours.span_id, s.span_id.as_slice());
            assert_eq!(ours.parent_span_id, s.parent_span_id.as_slice());
            assert_eq!(ours.name, s.name.as_bytes());
            assert_eq!(ours.kind, s.kind);
            assert_eq!(
                (ours.start_time_unix_nano, ours.end_time_unix_nano),
                (s.start_time_unix_nano, s.end_time_unix_nano)
            );
            let status = s.status.clone().unwrap_or_default();
            assert_eq!((ours.status_code, ours.status_message), (status.code, status.message.as_bytes()));
            assert!(same_attributes(ours.attributes(), &s.attributes), "attributes of {:?}", s.name);
            let events: Vec<_> = ours.events().collect();
            assert_eq!(events.len(), s.events.len());
            for (e, theirs) in events.iter().zip(&s.events) {
                assert_eq!((e.time_unix_nano, e.name), (theirs.time_unix_nano, theirs.name.as_bytes()));
                assert!(same_attributes(e.attributes(), &theirs.attributes));
            }
            let links: Vec<_> = ours.links().collect();
            assert_eq!(links.len(), s.links.len());
            for (l, theirs) in links.iter().zip(&s.links) {
                assert_eq!((l.trace_id, l.span_id), (theirs.trace_id.as_slice(), theirs.span_id.as_slice()));
            }
            let resource = rs.resource.as_ref().map(|r| r.encode_to_vec());
            assert_eq!(origin.resource.map(|r| r.encoded.to_vec()), resource);
            if let (Some(ours), Some(theirs)) = (origin.resource, rs.resource.as_ref()) {
                assert!(same_attributes(ours.attributes(), &theirs.attributes));
            }
            let scope = ss.scope.clone().unwrap_or_default();
            assert_eq!((origin.scope.name, origin.scope.version), (scope.name.as_bytes(), scope.version.as_bytes()));
        })
        .expect("walks");
        assert_eq!(n, theirs.len(), "every span visited");
    }
}

#[test]
fn whole_log_records_read_in_place_are_what_prost_decodes() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let text = |v: &str| Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) });
    let record = |n: u64| LogRecord {
        time_unix_nano: n,
        observed_time_unix_nano: n + 1,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: if n.is_multiple_of(2) { text("hello") } else { None },
        attributes: vec![KeyValue { key: "k".into(), value: text("v"), ..Default::default() }],
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        event_name: if n.is_multiple_of(3) { "e".into() } else { String::new() },
        ..Default::default()
    };
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                scope: Some(Default::default()),
                log_records: (0..6).map(record).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let bytes = req.encode_to_vec();
    let theirs = &req.resource_logs[0].scope_logs[0].log_records;
    let mut n = 0;
    each_log(&bytes, |origin, ours| {
        let r = &theirs[n];
        n += 1;
        assert!(origin.resource.is_none());
        assert_eq!((ours.time_unix_nano, ours.observed_time_unix_nano), (r.time_unix_nano, r.observed_time_unix_nano));
        assert_eq!((ours.severity_number, ours.severity_text), (r.severity_number, r.severity_text.as_bytes()));
        assert!(same_value(ours.body, r.body.as_ref()));
        assert_eq!((ours.trace_id, ours.span_id), (r.trace_id.as_slice(), r.span_id.as_slice()));
        assert_eq!(ours.event_name, r.event_name.as_bytes());
        assert!(same_attributes(ours.attributes(), &r.attributes));
        assert_eq!(ours.encoded, r.encode_to_vec().as_slice());
    })
    .expect("walks");
    assert_eq!(n, theirs.len());
}

#[test]
fn reading_whole_records_never_panics_on_damaged_bytes() {
    fn touch(v: AnyRef<'_>) -> usize {
        match v {
            AnyRef::Array(a) => array_values(a).map(touch).sum::<usize>() + 1,
            AnyRef::Kvlist(a) => KeyValues::new(a, 1).map(|(_, v)| touch(v)).sum::<usize>() + 1,
            _ => 1,
        }
    }
    let mut rng = fastrand::Rng::with_seed(7);
    let samples = samples();
    let mut seen = 0;
    for round in 0..20_000 {
        let mut b = samples[round % samples.len()].clone();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(0..b.len());
            b[i] = rng.u8(..);
        }
        if rng.bool() {
            b.truncate(rng.usize(0..b.len()));
        }
        let _ = each_span(&b, |origin, s| {
            seen += s.attributes().map(|(_, v)| touch(v)).sum::<usize>();
            seen += s.events().map(|e| e.attributes().count()).sum::<usize>() + s.links().count();
            seen += origin.resource.map_or(0, |r| r.attributes().count());
        });
        let _ = each_log(&b, |_, l| seen += touch(l.body) + l.attributes().count());
    }
    assert!(seen > 0, "the damaged requests were read at least in part");
}

#[test]
fn the_checking_walk_accepts_non_ascii_utf8_and_refuses_what_is_not_utf8() {
    let cfg = TrafficConfig { dialect: Dialect::GenAi, services: 1, error_rate: 0.0, traces_per_request: 1 };
    let mut req = request(&cfg, 1);
    let span = &mut req.resource_spans[0].scope_spans[0].spans[0];
    span.attributes.push(KeyValue {
        key: "modéle".into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue("µ-model ✓ é".into())) }),
        ..Default::default()
    });
    let good = req.encode_to_vec();
    walk_request(&good, &mut Validate).expect("non-ASCII UTF-8 is valid");
    agree(&good);
    // "é" (c3 a9) made into c3 28: not UTF-8, in a key and then in a value.
    let at = good.windows(2).position(|w| w == [0xc3, 0xa9]).expect("the key's é");
    for position in [at, good.windows(2).rposition(|w| w == [0xc3, 0xa9]).expect("the value's é")] {
        let mut bad = good.clone();
        bad[position + 1] = 0x28;
        assert!(walk_request(&bad, &mut Validate).is_err());
        agree(&bad);
    }
}
