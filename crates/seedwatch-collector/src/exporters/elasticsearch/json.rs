//! OTLP values as JSON, and small helpers for building documents.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as V};
use serde_json::{Map, Value};

/// An OTLP value as JSON: maps become objects, bytes become hex, non-finite doubles null.
pub(super) fn any(value: Option<&AnyValue>) -> Value {
    match value.and_then(|v| v.value.as_ref()) {
        None => Value::Null,
        Some(V::StringValue(s)) => Value::String(s.clone()),
        Some(V::BoolValue(b)) => Value::Bool(*b),
        Some(V::IntValue(i)) => Value::from(*i),
        Some(V::DoubleValue(d)) => serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number),
        Some(V::ArrayValue(a)) => Value::Array(a.values.iter().map(|v| any(Some(v))).collect()),
        Some(V::KvlistValue(kv)) => Value::Object(attributes(&kv.values)),
        Some(V::BytesValue(b)) => Value::String(hex::encode(b)),
        // A dictionary reference (profiles only); nothing to resolve it against here.
        Some(V::StringValueStrindex(_)) => Value::Null,
    }
}

/// Attributes as one JSON object, keys as received (dots kept in the key).
pub(super) fn attributes(kvs: &[KeyValue]) -> Map<String, Value> {
    kvs.iter().map(|kv| (kv.key.clone(), any(kv.value.as_ref()))).collect()
}

/// Sets `path` (dot-separated) in `doc`, creating objects on the way; a non-object in the
/// way is left alone and the value is not set.
pub(super) fn set_path(doc: &mut Map<String, Value>, path: &str, value: Value) {
    if value.is_null() {
        return;
    }
    let mut parts = path.split('.').peekable();
    let mut at = doc;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            at.insert(part.to_owned(), value);
            return;
        }
        let next = at.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(next) = next else { return };
        at = next;
    }
}

/// Lower-case hex of an id; `None` for an empty (absent) or all-zero id.
pub(super) fn id_hex(id: &[u8]) -> Option<String> {
    (!id.is_empty() && id.iter().any(|b| *b != 0)).then(|| hex::encode(id))
}

/// RFC 3339 with nanoseconds, UTC.
pub(super) fn timestamp(unix_nanos: u64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(unix_nanos)).unwrap_or(jiff::Timestamp::UNIX_EPOCH).to_string()
}

/// `YYYY.MM.DD` of a time, UTC.
pub(super) fn day(unix_nanos: u64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(unix_nanos))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y.%m.%d")
        .to_string()
}
