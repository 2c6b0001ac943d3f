//! Label values as hash-map keys, looked up from borrowed `&[&str]` without allocating.

use std::hash::{Hash, Hasher};

use hashbrown::Equivalent;

/// Longest label value kept; longer values are cut (at a character boundary) so a runaway
/// attribute cannot blow up memory or the exposition.
pub const MAX_LABEL_VALUE_BYTES: usize = 256;

/// The label value every label of an overflow series carries.
pub const OVERFLOW: &str = "__overflow__";

/// Owned label values of one series, in the family's label order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LabelKey(Box<[Box<str>]>);

/// Borrowed label values, for lookups.
pub(super) struct LabelRef<'a>(pub &'a [&'a str]);

fn truncate(value: &str) -> &str {
    if value.len() <= MAX_LABEL_VALUE_BYTES {
        return value;
    }
    let mut end = MAX_LABEL_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

fn hash_values<'a, H: Hasher>(values: impl Iterator<Item = &'a str>, state: &mut H) {
    for v in values {
        state.write(truncate(v).as_bytes());
        state.write_u8(0xff);
    }
}

impl LabelKey {
    pub(super) fn from_ref(r: &LabelRef<'_>) -> Self {
        LabelKey(r.0.iter().map(|v| Box::from(truncate(v))).collect())
    }

    pub(super) fn overflow(arity: usize) -> Self {
        LabelKey((0..arity).map(|_| Box::from(OVERFLOW)).collect())
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|v| &**v)
    }
}

impl Hash for LabelKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_values(self.values(), state);
    }
}

impl Hash for LabelRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_values(self.0.iter().copied(), state);
    }
}

impl Equivalent<LabelKey> for LabelRef<'_> {
    fn equivalent(&self, key: &LabelKey) -> bool {
        self.0.len() == key.0.len() && self.0.iter().zip(key.0.iter()).all(|(a, b)| truncate(a) == &**b)
    }
}

/// Writes `value` escaped for a label value in either exposition format.
pub(super) fn write_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
