//! Whole spans and log records read in place from encoded requests, for exporters that
//! write every field (Elasticsearch documents) without materialising prost structs.
//!
//! Meant for bytes a validating walk (or prost's encoder) produced. Given anything else this
//! never panics: a malformed part ends the walk with an error, or an attribute iteration early.

use super::reader::{RECURSION_LIMIT, Reader, Wire, WireError};

/// An `AnyValue` as found on the wire; strings are bytes (UTF-8 in validated requests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnyRef<'a> {
    /// No value set.
    Empty,
    /// A string.
    Str(&'a [u8]),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// An encoded `ArrayValue`: walk it with [`array_values`].
    Array(&'a [u8]),
    /// An encoded `KeyValueList`: walk it with [`KeyValues::new`] on field 1.
    Kvlist(&'a [u8]),
}

/// Reads an encoded `AnyValue` (the last value field wins, as in prost's oneof merge).
pub fn any_ref(buf: &[u8]) -> Result<AnyRef<'_>, WireError> {
    let mut value = AnyRef::Empty;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        value = match (field, wire) {
            (1, Wire::Len) => AnyRef::Str(r.len_delimited()?),
            (2, Wire::Varint) => AnyRef::Bool(r.varint()? != 0),
            (3, Wire::Varint) => AnyRef::Int(r.varint()? as i64),
            (4, Wire::Fixed64) => AnyRef::Double(f64::from_bits(r.fixed64()?)),
            (5, Wire::Len) => AnyRef::Array(r.len_delimited()?),
            (6, Wire::Len) => AnyRef::Kvlist(r.len_delimited()?),
            (7, Wire::Len) => AnyRef::Bytes(r.len_delimited()?),
            _ => {
                r.skip(wire, field, RECURSION_LIMIT)?;
                value
            }
        };
    }
    Ok(value)
}

/// The values of an encoded `ArrayValue`, in order; stops at the first malformed one.
pub fn array_values(buf: &[u8]) -> impl Iterator<Item = AnyRef<'_>> {
    len_fields(buf, 1).map_while(|body| any_ref(body).ok())
}

/// Every payload of length-delimited field `field` of a message; stops at malformed bytes.
fn len_fields(buf: &[u8], field: u32) -> LenFields<'_> {
    LenFields { r: Reader::new(buf), field }
}

/// See [`len_fields`].
struct LenFields<'a> {
    r: Reader<'a>,
    field: u32,
}

impl<'a> Iterator for LenFields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.r.is_empty() {
            let Ok((field, wire)) = self.r.key() else {
                self.r = Reader::new(&[]);
                return None;
            };
            let found = match wire {
                Wire::Len => self.r.len_delimited().map(|body| (field == self.field).then_some(body)),
                _ => self.r.skip(wire, field, RECURSION_LIMIT).map(|()| None),
            };
            match found {
                Ok(Some(body)) => return Some(body),
                Ok(None) => {}
                Err(_) => {
                    self.r = Reader::new(&[]);
                    return None;
                }
            }
        }
        None
    }
}

/// The `KeyValue`s in field `field` of a message (attributes), as (key, value).
#[derive(Clone)]
pub struct KeyValues<'a> {
    fields: LenFields<'a>,
}

impl<'a> KeyValues<'a> {
    /// The key-values in field `field` of the encoded message `buf`.
    pub fn new(buf: &'a [u8], field: u32) -> Self {
        KeyValues { fields: len_fields(buf, field) }
    }
}

impl Clone for LenFields<'_> {
    fn clone(&self) -> Self {
        LenFields { r: self.r.clone(), field: self.field }
    }
}

impl<'a> Iterator for KeyValues<'a> {
    type Item = (&'a [u8], AnyRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let body = self.fields.next()?;
        let (mut key, mut value) = (&[][..], AnyRef::Empty);
        let mut r = Reader::new(body);
        while !r.is_empty() {
            let step = r.key().and_then(|(field, wire)| match (field, wire) {
                (1, Wire::Len) => r.len_delimited().map(|k| key = k),
                (2, Wire::Len) => r.len_delimited().and_then(any_ref).map(|v| value = v),
                _ => r.skip(wire, field, RECURSION_LIMIT),
            });
            if step.is_err() {
                return None;
            }
        }
        Some((key, value))
    }
}

/// An instrumentation scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeRef<'a> {
    /// Its name (empty if unset).
    pub name: &'a [u8],
    /// Its version (empty if unset).
    pub version: &'a [u8],
}

fn scope(buf: &[u8]) -> Result<ScopeRef<'_>, WireError> {
    let mut s = ScopeRef::default();
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, Wire::Len) => s.name = r.len_delimited()?,
            (2, Wire::Len) => s.version = r.len_delimited()?,
            _ => r.skip(wire, field, RECURSION_LIMIT)?,
        }
    }
    Ok(s)
}

/// A resource: its encoded bytes (attributes in field 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceRef<'a> {
    /// The encoded `Resource`.
    pub encoded: &'a [u8],
}

impl<'a> ResourceRef<'a> {
    /// Its attributes.
    pub fn attributes(&self) -> KeyValues<'a> {
        KeyValues::new(self.encoded, 1)
    }
}

/// Everything of a span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FullSpan<'a> {
    /// Trace id bytes.
    pub trace_id: &'a [u8],
    /// Span id bytes.
    pub span_id: &'a [u8],
    /// Parent span id bytes (empty for a root).
    pub parent_span_id: &'a [u8],
    /// Name.
    pub name: &'a [u8],
    /// `SpanKind` as an integer.
    pub kind: i32,
    /// Start, Unix nanoseconds.
    pub start_time_unix_nano: u64,
    /// End, Unix nanoseconds.
    pub end_time_unix_nano: u64,
    /// `StatusCode` as an integer.
    pub status_code: i32,
    /// Status message.
    pub status_message: &'a [u8],
    /// The encoded span, for [`FullSpan::attributes`], events and links.
    pub encoded: &'a [u8],
}

/// A span event.
#[derive(Debug, Clone, Default)]
pub struct EventRef<'a> {
    /// Unix nanoseconds.
    pub time_unix_nano: u64,
    /// Name.
    pub name: &'a [u8],
    /// The encoded event (attributes in field 3).
    pub encoded: &'a [u8],
}

/// A span link.
#[derive(Debug, Clone, Default)]
pub struct LinkRef<'a> {
    /// Linked trace id bytes.
    pub trace_id: &'a [u8],
    /// Linked span id bytes.
    pub span_id: &'a [u8],
}

impl<'a> FullSpan<'a> {
    /// Its attributes.
    pub fn attributes(&self) -> KeyValues<'a> {
        KeyValues::new(self.encoded, 9)
    }

    /// Its events.
    pub fn events(&self) -> impl Iterator<Item = EventRef<'a>> {
        len_fields(self.encoded, 11).map_while(|body| event(body).ok())
    }

    /// Its links.
    pub fn links(&self) -> impl Iterator<Item = LinkRef<'a>> {
        len_fields(self.encoded, 13).map_while(|body| link(body).ok())
    }
}

impl<'a> EventRef<'a> {
    /// Its attributes.
    pub fn attributes(&self) -> KeyValues<'a> {
        KeyValues::new(self.encoded, 3)
    }
}

fn event(buf: &[u8]) -> Result<EventRef<'_>, WireError> {
    let mut e = EventRef { encoded: buf, ..Default::default() };
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, Wire::Fixed64) => e.time_unix_nano = r.fixed64()?,
            (2, Wire::Len) => e.name = r.len_delimited()?,
            _ => r.skip(wire, field, RECURSION_LIMIT)?,
        }
    }
    Ok(e)
}

fn link(buf: &[u8]) -> Result<LinkRef<'_>, WireError> {
    let mut l = LinkRef::default();
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, Wire::Len) => l.trace_id = r.len_delimited()?,
            (2, Wire::Len) => l.span_id = r.len_delimited()?,
            _ => r.skip(wire, field, RECURSION_LIMIT)?,
        }
    }
    Ok(l)
}

fn full_span(buf: &[u8]) -> Result<FullSpan<'_>, WireError> {
    let mut s = FullSpan { encoded: buf, ..Default::default() };
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, Wire::Len) => s.trace_id = r.len_delimited()?,
            (2, Wire::Len) => s.span_id = r.len_delimited()?,
            (4, Wire::Len) => s.parent_span_id = r.len_delimited()?,
            (5, Wire::Len) => s.name = r.len_delimited()?,
            (6, Wire::Varint) => s.kind = r.varint()? as i32,
            (7, Wire::Fixed64) => s.start_time_unix_nano = r.fixed64()?,
            (8, Wire::Fixed64) => s.end_time_unix_nano = r.fixed64()?,
            (15, Wire::Len) => {
                let mut st = Reader::new(r.len_delimited()?);
                while !st.is_empty() {
                    let (f, w) = st.key()?;
                    match (f, w) {
                        (2, Wire::Len) => s.status_message = st.len_delimited()?,
                        (3, Wire::Varint) => s.status_code = st.varint()? as i32,
                        _ => st.skip(w, f, RECURSION_LIMIT)?,
                    }
                }
            }
            _ => r.skip(wire, field, RECURSION_LIMIT)?,
        }
    }
    Ok(s)
}

/// Everything of a log record.
#[derive(Debug, Clone, PartialEq)]
pub struct FullLog<'a> {
    /// Event time, Unix nanoseconds (0 if unset).
    pub time_unix_nano: u64,
    /// When it was observed, Unix nanoseconds (0 if unset).
    pub observed_time_unix_nano: u64,
    /// `SeverityNumber` as an integer.
    pub severity_number: i32,
    /// Severity text.
    pub severity_text: &'a [u8],
    /// The body.
    pub body: AnyRef<'a>,
    /// Trace id bytes (empty if unset).
    pub trace_id: &'a [u8],
    /// Span id bytes (empty if unset).
    pub span_id: &'a [u8],
    /// The event name field (empty if unset).
    pub event_name: &'a [u8],
    /// The encoded record, for [`FullLog::attributes`] and hashing.
    pub encoded: &'a [u8],
}

impl<'a> FullLog<'a> {
    /// Its attributes.
    pub fn attributes(&self) -> KeyValues<'a> {
        KeyValues::new(self.encoded, 6)
    }
}

fn full_log(buf: &[u8]) -> Result<FullLog<'_>, WireError> {
    let mut l = FullLog {
        time_unix_nano: 0,
        observed_time_unix_nano: 0,
        severity_number: 0,
        severity_text: &[],
        body: AnyRef::Empty,
        trace_id: &[],
        span_id: &[],
        event_name: &[],
        encoded: buf,
    };
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, Wire::Fixed64) => l.time_unix_nano = r.fixed64()?,
            (11, Wire::Fixed64) => l.observed_time_unix_nano = r.fixed64()?,
            (2, Wire::Varint) => l.severity_number = r.varint()? as i32,
            (3, Wire::Len) => l.severity_text = r.len_delimited()?,
            (5, Wire::Len) => l.body = any_ref(r.len_delimited()?)?,
            (9, Wire::Len) => l.trace_id = r.len_delimited()?,
            (10, Wire::Len) => l.span_id = r.len_delimited()?,
            (12, Wire::Len) => l.event_name = r.len_delimited()?,
            _ => r.skip(wire, field, RECURSION_LIMIT)?,
        }
    }
    Ok(l)
}

/// Where a record sits: its resource (if any) and scope.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// The resource, if the request has one for these records.
    pub resource: Option<ResourceRef<'a>>,
    /// The scope (default if absent).
    pub scope: ScopeRef<'a>,
}

/// Walks `resource_*` (field 1 of the request) → resource (1) and `scope_*` (2) → scope (1)
/// and records (field `records`), handing each record's bytes to `f`.
fn each_record<'a>(
    buf: &'a [u8],
    records: u32,
    mut f: impl FnMut(&Origin<'a>, &'a [u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    for resource_group in len_fields(buf, 1) {
        let resource = len_fields(resource_group, 1).last().map(|encoded| ResourceRef { encoded });
        for scope_group in len_fields(resource_group, 2) {
            let scope = match len_fields(scope_group, 1).last() {
                Some(body) => scope(body)?,
                None => ScopeRef::default(),
            };
            let origin = Origin { resource, scope };
            for record in len_fields(scope_group, records) {
                f(&origin, record)?;
            }
        }
    }
    Ok(())
}

/// Calls `f` with every span of an encoded `ExportTraceServiceRequest`.
pub fn each_span<'a>(buf: &'a [u8], mut f: impl FnMut(&Origin<'a>, &FullSpan<'a>)) -> Result<(), WireError> {
    each_record(buf, 2, |origin, body| {
        f(origin, &full_span(body)?);
        Ok(())
    })
}

/// Calls `f` with every log record of an encoded `ExportLogsServiceRequest`.
pub fn each_log<'a>(buf: &'a [u8], mut f: impl FnMut(&Origin<'a>, &FullLog<'a>)) -> Result<(), WireError> {
    each_record(buf, 2, |origin, body| {
        f(origin, &full_log(body)?);
        Ok(())
    })
}
