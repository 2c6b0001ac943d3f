//! Strings the collector keeps beyond the request that brought them — agent ids, service and
//! check names, label values, alert labels and annotations, workflow names — are cut to a
//! configured length, visibly and without merging distinct values: the kept prefix is followed
//! by `…#` and 8 hex digits of a hash of the whole value. Every cut is counted by kind.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::xxh3_64;

/// The default longest string kept, in bytes.
pub const DEFAULT_MAX_STRING_BYTES: usize = 256;

/// The shortest cap allowed: room for a prefix besides the marker.
pub const MIN_MAX_STRING_BYTES: usize = 32;

/// What follows the kept prefix: `…#` (4 bytes) and 8 hex digits.
const MARKER_BYTES: usize = 4 + 8;

/// What kind of string was cut: the `kind` label of `seedwatch_strings_truncated_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringKind {
    /// A label value of a derived metric.
    Label,
    /// An agent's `service.name` or instance id.
    Agent,
    /// The name of a health check an agent reports.
    Check,
    /// An alert label or annotation.
    Alert,
    /// A workflow name or id held by the roll-up.
    Workflow,
    /// A resource attribute kept for a workflow summary.
    Resource,
}

impl StringKind {
    /// Every kind, in label order.
    pub const ALL: [StringKind; 6] = [
        StringKind::Label,
        StringKind::Agent,
        StringKind::Check,
        StringKind::Alert,
        StringKind::Workflow,
        StringKind::Resource,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            StringKind::Label => "label",
            StringKind::Agent => "agent",
            StringKind::Check => "check",
            StringKind::Alert => "alert",
            StringKind::Workflow => "workflow",
            StringKind::Resource => "resource",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How many strings of each kind were cut.
#[derive(Debug, Default)]
pub struct Truncations {
    counts: [AtomicU64; StringKind::ALL.len()],
}

impl Truncations {
    /// Counts one cut.
    pub fn count(&self, kind: StringKind) {
        self.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Cuts of `kind` so far.
    pub fn get(&self, kind: StringKind) -> u64 {
        self.counts[kind.index()].load(Ordering::Relaxed)
    }
}

/// `value` if it fits in `max` bytes, else its longest prefix (at a character boundary) that
/// leaves room for `…#` and 8 hex digits of the whole value's hash; at most `max` bytes.
/// Two values that differ anywhere stay distinct (up to a 32-bit hash collision).
#[inline]
pub fn capped(value: &str, max: usize) -> Cow<'_, str> {
    if value.len() <= max { Cow::Borrowed(value) } else { Cow::Owned(cut(value, max)) }
}

#[cold]
fn cut(value: &str, max: usize) -> String {
    let mut end = max.saturating_sub(MARKER_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let hash = xxh3_64(value.as_bytes()) as u32;
    format!("{}…#{hash:08x}", &value[..end])
}

/// The configured cap with the counters it reports to; cheap to clone.
#[derive(Debug, Clone)]
pub struct StringCap {
    max: usize,
    truncations: Arc<Truncations>,
}

impl Default for StringCap {
    fn default() -> Self {
        StringCap::new(DEFAULT_MAX_STRING_BYTES)
    }
}

impl StringCap {
    /// A cap of `max` bytes (at least [`MIN_MAX_STRING_BYTES`]) with its own counters.
    pub fn new(max: usize) -> Self {
        StringCap { max: max.max(MIN_MAX_STRING_BYTES), truncations: Arc::default() }
    }

    /// The longest string kept, in bytes.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The counters of what was cut.
    pub fn truncations(&self) -> &Arc<Truncations> {
        &self.truncations
    }

    /// `value` cut to the cap (see [`capped`]), counted under `kind` when it was cut.
    pub fn cap<'a>(&self, value: &'a str, kind: StringKind) -> Cow<'a, str> {
        self.cap_to(value, self.max, kind)
    }

    /// Like [`StringCap::cap`] with another length (annotations get several times the cap).
    pub fn cap_to<'a>(&self, value: &'a str, max: usize, kind: StringKind) -> Cow<'a, str> {
        let out = capped(value, max.max(MIN_MAX_STRING_BYTES));
        if matches!(out, Cow::Owned(_)) {
            self.truncations.count(kind);
        }
        out
    }

    /// [`StringCap::cap`] into an owned string.
    pub fn owned(&self, value: &str, kind: StringKind) -> String {
        self.cap(value, kind).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_kept_as_they_are() {
        assert!(matches!(capped("agent-1", 32), Cow::Borrowed("agent-1")));
        let exact = "x".repeat(32);
        assert_eq!(capped(&exact, 32), exact);
    }

    #[test]
    fn long_values_are_cut_visibly_and_stay_distinct() {
        let a = format!("{}a", "x".repeat(3 << 20));
        let b = format!("{}b", "x".repeat(3 << 20));
        let (ca, cb) = (capped(&a, 256), capped(&b, 256));
        assert!(ca.len() <= 256 && cb.len() <= 256, "{} {}", ca.len(), cb.len());
        assert!(ca.starts_with("xxxx") && ca.contains("…#"), "{ca}");
        assert_ne!(ca, cb, "values differing after the cut stay distinct");
        assert_eq!(ca, capped(&a, 256), "the same value is always cut the same way");
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        let value = "é".repeat(200);
        for max in MIN_MAX_STRING_BYTES..80 {
            let c = capped(&value, max);
            assert!(c.len() <= max, "{max}: {}", c.len());
            assert!(c.starts_with('é'));
        }
    }

    #[test]
    fn cuts_are_counted_by_kind() {
        let cap = StringCap::new(40);
        let long = "y".repeat(100);
        assert_eq!(cap.cap("short", StringKind::Agent), "short");
        assert!(cap.cap(&long, StringKind::Agent).len() <= 40);
        assert!(cap.cap_to(&long, 60, StringKind::Alert).len() <= 60);
        assert_eq!(cap.truncations().get(StringKind::Agent), 1);
        assert_eq!(cap.truncations().get(StringKind::Alert), 1);
        assert_eq!(cap.truncations().get(StringKind::Label), 0);
        assert_eq!(StringCap::new(1).max(), MIN_MAX_STRING_BYTES);
    }
}
