//! One validating pass over an encoded `ExportTraceServiceRequest`, visiting what derivation
//! needs (resources, span attributes, span headers) as borrowed slices. Every field of the
//! schema is checked as prost would check it, so bytes this accepts decode with prost.

use seedwatch_semconv::AttrValue;

use super::reader::{Reader, Wire, WireError, bytes, check_string, expect, message, string, varint};

/// The fixed part of a span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanRef<'a> {
    /// 16 bytes when valid.
    pub trace_id: &'a [u8],
    /// 8 bytes when valid.
    pub span_id: &'a [u8],
    /// Empty or 8 bytes when valid.
    pub parent_span_id: &'a [u8],
    /// The span name.
    pub name: &'a str,
    /// `SpanKind` as an integer.
    pub kind: i32,
    /// Start, Unix nanoseconds.
    pub start_time_unix_nano: u64,
    /// End, Unix nanoseconds.
    pub end_time_unix_nano: u64,
    /// `StatusCode` as an integer (0 unset, 1 ok, 2 error).
    pub status_code: i32,
    /// The whole encoded span, for the rare reader of a field the walks skip (events: see
    /// [`exception_type`](super::exception_type)).
    pub encoded: &'a [u8],
}

/// Receives what the walk finds, in wire order within each span.
pub trait TraceVisitor<'a> {
    /// Whether [`span_attribute`](Self::span_attribute) is wanted; a visitor that only counts
    /// spans says no, and the walk then only checks attributes (cheaper: no `&str` is made).
    const WANTS_ATTRIBUTES: bool = true;
    /// The resource (encoded `Resource`) of the spans that follow, if the request has one.
    fn resource(&mut self, _resource: Option<&'a [u8]>) {}
    /// One scalar attribute of the span being walked (arrays, maps and bytes are skipped).
    fn span_attribute(&mut self, _key: &'a str, _value: AttrValue<'a>) {}
    /// The span just walked; its attributes were passed before.
    fn span(&mut self, _span: &SpanRef<'a>) {}
}

/// Walks and validates a whole request.
pub fn walk_request<'a>(buf: &'a [u8], v: &mut impl TraceVisitor<'a>) -> Result<(), WireError> {
    let depth = super::reader::RECURSION_LIMIT;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => resource_spans(message(&mut r, wire, depth)?, depth - 1, v)?,
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

fn resource_spans<'a>(buf: &'a [u8], depth: u32, v: &mut impl TraceVisitor<'a>) -> Result<(), WireError> {
    // The resource may come after the spans on the wire: find it first (without descending).
    let mut resource = None;
    let mut find = Reader::new(buf);
    while !find.is_empty() {
        let (field, wire) = find.key()?;
        match (field, wire) {
            (1, Wire::Len) => resource = Some(find.len_delimited()?),
            (_, Wire::Len) => drop(find.len_delimited()?),
            _ => find.skip(wire, field, depth)?,
        }
    }
    v.resource(resource);
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => resource_message(message(&mut r, wire, depth)?, depth - 1)?,
            2 => scope_spans(message(&mut r, wire, depth)?, depth - 1, v)?,
            3 => check_string(&mut r, wire)?,
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

/// Validates an encoded `Resource`.
pub fn resource_message(buf: &[u8], depth: u32) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => check_key_value(message(&mut r, wire, depth)?, depth - 1)?,
            2 => drop(varint(&mut r, wire)?),
            3 => entity_ref(message(&mut r, wire, depth)?, depth - 1)?,
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

fn entity_ref(buf: &[u8], depth: u32) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1..=4 => check_string(&mut r, wire)?,
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

fn scope_spans<'a>(buf: &'a [u8], depth: u32, v: &mut impl TraceVisitor<'a>) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => scope(message(&mut r, wire, depth)?, depth - 1)?,
            2 => span(message(&mut r, wire, depth)?, depth - 1, v)?,
            3 => check_string(&mut r, wire)?,
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

fn scope(buf: &[u8], depth: u32) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 | 2 => check_string(&mut r, wire)?,
            3 => check_key_value(message(&mut r, wire, depth)?, depth - 1)?,
            4 => drop(varint(&mut r, wire)?),
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

fn span<'a, V: TraceVisitor<'a>>(buf: &'a [u8], depth: u32, v: &mut V) -> Result<(), WireError> {
    let mut s = SpanRef { encoded: buf, ..SpanRef::default() };
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => s.trace_id = bytes(&mut r, wire)?,
            2 => s.span_id = bytes(&mut r, wire)?,
            3 => check_string(&mut r, wire)?,
            4 => s.parent_span_id = bytes(&mut r, wire)?,
            5 => s.name = string(&mut r, wire)?,
            6 => s.kind = varint(&mut r, wire)? as i32,
            7 => {
                expect(wire, Wire::Fixed64)?;
                s.start_time_unix_nano = r.fixed64()?;
            }
            8 => {
                expect(wire, Wire::Fixed64)?;
                s.end_time_unix_nano = r.fixed64()?;
            }
            9 if V::WANTS_ATTRIBUTES => {
                key_value(message(&mut r, wire, depth)?, depth - 1, &mut |k, val| v.span_attribute(k, val))?
            }
            9 => check_key_value(message(&mut r, wire, depth)?, depth - 1)?,
            10 | 12 | 14 => drop(varint(&mut r, wire)?),
            11 => event(message(&mut r, wire, depth)?, depth - 1)?,
            13 => link(message(&mut r, wire, depth)?, depth - 1)?,
            15 => s.status_code = status(message(&mut r, wire, depth)?, depth - 1)?,
            16 => {
                expect(wire, Wire::Fixed32)?;
                r.fixed32()?;
            }
            _ => r.skip(wire, field, depth)?,
        }
    }
    v.span(&s);
    Ok(())
}

fn event(buf: &[u8], depth: u32) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(wire, Wire::Fixed64)?;
                r.fixed64()?;
            }
            2 => check_string(&mut r, wire)?,
            3 => check_key_value(message(&mut r, wire, depth)?, depth - 1)?,
            4 => drop(varint(&mut r, wire)?),
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

fn link(buf: &[u8], depth: u32) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 | 2 => drop(bytes(&mut r, wire)?),
            3 => check_string(&mut r, wire)?,
            4 => check_key_value(message(&mut r, wire, depth)?, depth - 1)?,
            5 => drop(varint(&mut r, wire)?),
            6 => {
                expect(wire, Wire::Fixed32)?;
                r.fixed32()?;
            }
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

fn status(buf: &[u8], depth: u32) -> Result<i32, WireError> {
    let mut code = 0;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            2 => check_string(&mut r, wire)?,
            3 => code = varint(&mut r, wire)? as i32,
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(code)
}

/// Validates a `KeyValue`; hands scalar values to `visit`.
pub fn key_value<'a>(
    buf: &'a [u8],
    depth: u32,
    visit: &mut impl FnMut(&'a str, AttrValue<'a>),
) -> Result<(), WireError> {
    let (mut key, mut value) = ("", None);
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => key = string(&mut r, wire)?,
            2 => value = any_value(message(&mut r, wire, depth)?, depth - 1)?,
            3 => drop(varint(&mut r, wire)?),
            _ => r.skip(wire, field, depth)?,
        }
    }
    if let Some(value) = value {
        visit(key, value);
    }
    Ok(())
}

/// Validates a `KeyValue` without handing anything over.
fn check_key_value(buf: &[u8], depth: u32) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => check_string(&mut r, wire)?,
            2 => check_any_value(message(&mut r, wire, depth)?, depth - 1)?,
            3 => drop(varint(&mut r, wire)?),
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

/// Validates an `AnyValue` without handing anything over.
fn check_any_value(buf: &[u8], depth: u32) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => check_string(&mut r, wire)?,
            2 | 3 | 8 => drop(varint(&mut r, wire)?),
            4 => {
                expect(wire, Wire::Fixed64)?;
                r.fixed64()?;
            }
            5 | 6 => values(message(&mut r, wire, depth)?, depth - 1, field == 6)?,
            7 => drop(bytes(&mut r, wire)?),
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

/// Validates an `AnyValue`; returns it when it is a scalar (the last value field wins, as in
/// prost's oneof merge).
fn any_value(buf: &[u8], depth: u32) -> Result<Option<AttrValue<'_>>, WireError> {
    let mut value = None;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        value = match field {
            1 => Some(AttrValue::Str(string(&mut r, wire)?)),
            2 => Some(AttrValue::Bool(varint(&mut r, wire)? != 0)),
            3 => Some(AttrValue::Int(varint(&mut r, wire)? as i64)),
            4 => {
                expect(wire, Wire::Fixed64)?;
                Some(AttrValue::Double(f64::from_bits(r.fixed64()?)))
            }
            5 | 6 => {
                let inner = message(&mut r, wire, depth)?;
                values(inner, depth - 1, field == 6)?;
                None
            }
            7 => {
                bytes(&mut r, wire)?;
                None
            }
            8 => {
                varint(&mut r, wire)?;
                None
            }
            _ => {
                r.skip(wire, field, depth)?;
                value
            }
        };
    }
    Ok(value)
}

/// `ArrayValue` (repeated AnyValue) or `KeyValueList` (repeated KeyValue), field 1.
fn values(buf: &[u8], depth: u32, key_values: bool) -> Result<(), WireError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 if key_values => check_key_value(message(&mut r, wire, depth)?, depth - 1)?,
            1 => check_any_value(message(&mut r, wire, depth)?, depth - 1)?,
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}

/// Hands each scalar attribute of an encoded `Resource` to `visit` (already validated bytes;
/// a malformed one stops the walk with the error).
pub fn resource_attributes<'a>(buf: &'a [u8], mut visit: impl FnMut(&'a str, AttrValue<'a>)) -> Result<(), WireError> {
    let depth = super::reader::RECURSION_LIMIT;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match field {
            1 => key_value(message(&mut r, wire, depth)?, depth - 1, &mut visit)?,
            _ => r.skip(wire, field, depth)?,
        }
    }
    Ok(())
}
