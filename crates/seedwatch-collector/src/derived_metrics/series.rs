//! A family's series: bounded in number, expiring when not updated.

use std::time::{Duration, Instant};

use hashbrown::HashMap;

use super::labels::{LabelKey, LabelRef};
use crate::limits::{StringCap, StringKind};

/// How many series a family may hold and how long an idle one lives.
#[derive(Debug, Clone, Copy)]
pub struct SeriesLimits {
    /// Label combinations per family; updates for new combinations beyond it go to the
    /// overflow series and are counted.
    pub max_series: usize,
    /// A series not updated for this long is dropped from the exposition and from memory.
    pub ttl: Duration,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    touched: Instant,
}

/// Series of one family.
#[derive(Debug)]
pub(super) struct Series<V> {
    map: HashMap<LabelKey, Entry<V>>,
    limits: SeriesLimits,
    strings: StringCap,
    arity: usize,
    /// Updates that went to the overflow series.
    pub(super) overflowed: u64,
}

impl<V> Series<V> {
    pub(super) fn new(arity: usize, limits: SeriesLimits, strings: StringCap) -> Self {
        Series { map: HashMap::new(), limits, strings, arity, overflowed: 0 }
    }

    fn key<'a>(&self, labels: &'a [&'a str]) -> LabelRef<'a> {
        LabelRef { values: labels, max: self.strings.max() }
    }

    /// Applies `f` to the series for `labels`, creating it with `make` if needed.
    pub(super) fn update(&mut self, labels: &[&str], now: Instant, make: impl FnOnce() -> V, f: impl FnOnce(&mut V)) {
        debug_assert_eq!(labels.len(), self.arity);
        let lookup = self.key(labels);
        if lookup.needs_cut() {
            self.strings.truncations().count(StringKind::Label);
        }
        if let Some(e) = self.map.get_mut(&lookup) {
            e.touched = now;
            f(&mut e.value);
            return;
        }
        let key = if self.map.len() < self.limits.max_series {
            LabelKey::from_ref(&lookup)
        } else {
            self.overflowed += 1;
            LabelKey::overflow(self.arity)
        };
        let e = self.map.entry(key).or_insert_with(|| Entry { value: make(), touched: now });
        e.touched = now;
        f(&mut e.value);
    }

    /// Drops the series for `labels`, if it exists.
    pub(super) fn remove(&mut self, labels: &[&str]) {
        let key = self.key(labels);
        self.map.remove(&key);
    }

    /// Drops series idle for longer than the TTL.
    pub(super) fn expire(&mut self, now: Instant) {
        let ttl = self.limits.ttl;
        self.map.retain(|_, e| now.saturating_duration_since(e.touched) <= ttl);
    }

    /// The series for `labels`, if it exists.
    pub(super) fn get(&self, labels: &[&str]) -> Option<&V> {
        self.map.get(&self.key(labels)).map(|e| &e.value)
    }

    /// Every series, sorted by labels for a stable exposition.
    pub(super) fn sorted(&self) -> Vec<(&LabelKey, &V)> {
        let mut all: Vec<_> = self.map.iter().map(|(k, e)| (k, &e.value)).collect();
        all.sort_by(|a, b| a.0.values().cmp(b.0.values()));
        all
    }

    /// Every series' label values with `value` of it, unordered.
    pub(super) fn snapshot<T>(&self, value: impl Fn(&V) -> T) -> Vec<(Vec<String>, T)> {
        self.map.iter().map(|(k, e)| (k.values().map(str::to_owned).collect(), value(&e.value))).collect()
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}
