//! A second, cheaper pass over a trace request that [`walk_request`](super::walk_request)
//! already accepted: it descends only into what derivation reads (resources, span headers,
//! span attributes, status codes), skips every other field by its length, and hands strings
//! over as bytes, so only the few values a consumer keeps are UTF-8-checked, by it.
//!
//! Given bytes the validating walk did not accept, this never panics; it stops with an error
//! or visits what it could read.

use seedwatch_semconv::AttrValue;
use seedwatch_semconv::attributes::otel;

use super::reader::{Reader, Wire, WireError};
use super::traces::SpanRef;

/// A scalar attribute value as found on the wire; strings not yet checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawValue<'a> {
    /// String bytes (UTF-8 if the request was validated).
    Str(&'a [u8]),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
}

impl<'a> RawValue<'a> {
    /// The value for the classifier; `None` for a string that is not UTF-8.
    #[inline]
    pub fn decode(self) -> Option<AttrValue<'a>> {
        Some(match self {
            RawValue::Str(b) => AttrValue::Str(std::str::from_utf8(b).ok()?),
            RawValue::Int(i) => AttrValue::Int(i),
            RawValue::Double(d) => AttrValue::Double(d),
            RawValue::Bool(b) => AttrValue::Bool(b),
        })
    }
}

/// Receives what [`walk_validated`] finds, in wire order within each span.
pub trait ValidatedVisitor<'a> {
    /// The resource (encoded `Resource`) of the spans that follow, if the request has one.
    fn resource(&mut self, resource: Option<&'a [u8]>);
    /// One scalar attribute of the span being walked (arrays, maps and bytes are skipped).
    fn span_attribute(&mut self, key: &'a [u8], value: RawValue<'a>);
    /// The span just walked; its attributes were passed before.
    fn span(&mut self, span: &SpanRef<'a>);
}

/// Walks a request already accepted by [`walk_request`](super::walk_request).
pub fn walk_validated<'a>(buf: &'a [u8], v: &mut impl ValidatedVisitor<'a>) -> Result<(), WireError> {
    each_len_field(buf, |field, body| if field == 1 { resource_spans(body, v) } else { Ok(()) })
}

/// Calls `f` with the number and payload of every length-delimited field of a message, and
/// skips the rest.
#[inline]
fn each_len_field<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(u32, &'a [u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match wire {
            Wire::Len => f(field, r.len_delimited()?)?,
            _ => r.skip(wire, field, super::reader::RECURSION_LIMIT)?,
        }
    }
    Ok(())
}

fn resource_spans<'a>(buf: &'a [u8], v: &mut impl ValidatedVisitor<'a>) -> Result<(), WireError> {
    // The resource may come after the spans on the wire.
    let mut resource = None;
    each_len_field(buf, |field, body| {
        if field == 1 {
            resource = Some(body);
        }
        Ok(())
    })?;
    v.resource(resource);
    each_len_field(buf, |field, body| {
        if field == 2 {
            each_len_field(body, |f, span_body| if f == 2 { span(span_body, v) } else { Ok(()) })
        } else {
            Ok(())
        }
    })
}

fn span<'a>(buf: &'a [u8], v: &mut impl ValidatedVisitor<'a>) -> Result<(), WireError> {
    let mut s = SpanRef { encoded: buf, ..SpanRef::default() };
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, Wire::Len) => s.trace_id = r.len_delimited()?,
            (2, Wire::Len) => s.span_id = r.len_delimited()?,
            (4, Wire::Len) => s.parent_span_id = r.len_delimited()?,
            (5, Wire::Len) => s.name = std::str::from_utf8(r.len_delimited()?).unwrap_or_default(),
            (6, Wire::Varint) => s.kind = r.varint()? as i32,
            (7, Wire::Fixed64) => s.start_time_unix_nano = r.fixed64()?,
            (8, Wire::Fixed64) => s.end_time_unix_nano = r.fixed64()?,
            (9, Wire::Len) => attribute(r.len_delimited()?, v)?,
            (15, Wire::Len) => s.status_code = status_code(r.len_delimited()?)?,
            _ => r.skip(wire, field, super::reader::RECURSION_LIMIT)?,
        }
    }
    v.span(&s);
    Ok(())
}

fn attribute<'a>(buf: &'a [u8], v: &mut impl ValidatedVisitor<'a>) -> Result<(), WireError> {
    if let (key, Some(value)) = key_value(buf)? {
        v.span_attribute(key, value);
    }
    Ok(())
}

/// The key and scalar value of an encoded `KeyValue`.
fn key_value(buf: &[u8]) -> Result<(&[u8], Option<RawValue<'_>>), WireError> {
    let (mut key, mut value) = (&[][..], None);
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, Wire::Len) => key = r.len_delimited()?,
            (2, Wire::Len) => value = any_value(r.len_delimited()?)?,
            _ => r.skip(wire, field, super::reader::RECURSION_LIMIT)?,
        }
    }
    Ok((key, value))
}

/// The scalar in an `AnyValue` (the last value field wins, as in prost's oneof merge).
fn any_value(buf: &[u8]) -> Result<Option<RawValue<'_>>, WireError> {
    let mut value = None;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        value = match (field, wire) {
            (1, Wire::Len) => Some(RawValue::Str(r.len_delimited()?)),
            (2, Wire::Varint) => Some(RawValue::Bool(r.varint()? != 0)),
            (3, Wire::Varint) => Some(RawValue::Int(r.varint()? as i64)),
            (4, Wire::Fixed64) => Some(RawValue::Double(f64::from_bits(r.fixed64()?))),
            (5..=8, _) => {
                r.skip(wire, field, super::reader::RECURSION_LIMIT)?;
                None
            }
            _ => {
                r.skip(wire, field, super::reader::RECURSION_LIMIT)?;
                value
            }
        };
    }
    Ok(value)
}

/// The `exception.type` of the first `exception` event of an encoded span (read only for
/// failed spans that do not name their error type, so the walks need not descend into events).
pub fn exception_type(span: &[u8]) -> Option<&str> {
    let mut found = None;
    let _ = each_len_field(span, |field, event| {
        if field == 11 && found.is_none() {
            found = exception_of_event(event);
        }
        Ok(())
    });
    found
}

fn exception_of_event(event: &[u8]) -> Option<&str> {
    let (mut is_exception, mut exception_type) = (false, None);
    let mut r = Reader::new(event);
    while !r.is_empty() {
        let (field, wire) = r.key().ok()?;
        match (field, wire) {
            // Event.name
            (2, Wire::Len) => is_exception = r.len_delimited().ok()? == otel::EXCEPTION_EVENT.as_bytes(),
            // Event.attributes
            (3, Wire::Len) => {
                if let (key, Some(RawValue::Str(t))) = key_value(r.len_delimited().ok()?).ok()?
                    && key == otel::EXCEPTION_TYPE.as_bytes()
                {
                    exception_type = std::str::from_utf8(t).ok();
                }
            }
            _ => r.skip(wire, field, super::reader::RECURSION_LIMIT).ok()?,
        }
    }
    exception_type.filter(|_| is_exception)
}

fn status_code(buf: &[u8]) -> Result<i32, WireError> {
    let mut code = 0;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (3, Wire::Varint) => code = r.varint()? as i32,
            _ => r.skip(wire, field, super::reader::RECURSION_LIMIT)?,
        }
    }
    Ok(code)
}
