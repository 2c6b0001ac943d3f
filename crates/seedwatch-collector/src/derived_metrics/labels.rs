//! Label values as hash-map keys, looked up from borrowed `&[&str]` without allocating.
//! Values longer than the cap are kept cut (see [`crate::limits::capped`]), so a runaway
//! attribute cannot blow up memory or the exposition, and two long values stay two series.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use hashbrown::Equivalent;

use crate::limits::capped;

/// The label value every label of an overflow series carries.
pub const OVERFLOW: &str = "__overflow__";

/// Owned label values of one series, in the family's label order; each at most the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LabelKey(Box<[Box<str>]>);

/// Borrowed label values, for lookups, with the cap they are compared under.
pub(super) struct LabelRef<'a> {
    pub values: &'a [&'a str],
    pub max: usize,
}

impl LabelRef<'_> {
    fn capped(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.values.iter().map(|v| capped(v, self.max))
    }

    /// Whether some value is longer than the cap (and will be kept cut).
    pub(super) fn needs_cut(&self) -> bool {
        self.values.iter().any(|v| v.len() > self.max)
    }
}

fn hash_values<'a, H: Hasher>(values: impl Iterator<Item = &'a str>, state: &mut H) {
    for v in values {
        state.write(v.as_bytes());
        state.write_u8(0xff);
    }
}

impl LabelKey {
    pub(super) fn from_ref(r: &LabelRef<'_>) -> Self {
        LabelKey(r.capped().map(|v| Box::from(&*v)).collect())
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
        for v in self.capped() {
            state.write(v.as_bytes());
            state.write_u8(0xff);
        }
    }
}

impl Equivalent<LabelKey> for LabelRef<'_> {
    fn equivalent(&self, key: &LabelKey) -> bool {
        self.values.len() == key.0.len() && self.capped().zip(key.0.iter()).all(|(a, b)| *a == **b)
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
