//! Replay protection: a span is charged to budgets at most once. Marks of charged spans (see
//! [`Mark`]) live in the store, on disk, for `dedupe_window` after the span's end time; the
//! newest buckets are also held in memory (up to `dedupe_memory`), so that checking a fresh
//! span costs a hash-set lookup and only late or replayed spans are looked up on disk.
//!
//! The promise: every span whose end time lies within `dedupe_window` before its arrival (and
//! not more than `max_clock_skew` after it) is charged at most once, however often and however
//! much later it is sent again — after restarts too. Spans outside that range are not charged at
//! all (counted), so no replay of them can be charged either. When the marks would exceed
//! `dedupe_max_disk` the oldest buckets are forgotten early and the window shrinks accordingly
//! (`seedwatch_budget_dedupe_window_seconds`). A new span is taken for a charged one only if
//! its 64-bit fingerprint equals that of another span ending in the same 10 s: probability
//! n/2^64 for n spans in that bucket (below 3·10⁻¹⁴ at 50,000 spans/s).

use std::collections::BTreeMap;

use hashbrown::HashSet;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::store::{BUCKET_SECS, Mark, Snapshot, SpanKey, bucket_of};

/// What became of one span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not seen before: charge it.
    Fresh,
    /// Charged before: not again.
    Duplicate,
    /// Ended before the window (or no end time): not charged.
    TooOld,
    /// Ends further in the future than the allowed clock skew: not charged.
    Future,
}

impl Verdict {
    /// Every verdict, in discriminant order.
    pub const ALL: [Verdict; 4] = [Verdict::Fresh, Verdict::Duplicate, Verdict::TooOld, Verdict::Future];

    /// The `outcome` label of `seedwatch_budget_spans_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Fresh => "charged",
            Verdict::Duplicate => "duplicate",
            Verdict::TooOld => "too_old",
            Verdict::Future => "future",
        }
    }
}

/// The decision for one span before any disk lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Decided from memory (or the window).
    Decided(Verdict, Option<Mark>),
    /// Not in memory, and memory may not hold every mark of its bucket: ask the store.
    AskStore(Mark),
}

/// Marks of charged spans held in memory, and the window rules.
#[derive(Debug)]
pub(super) struct Dedupe {
    seed: u64,
    window: i64,
    skew: i64,
    /// Buckets before this were forgotten by the store.
    cutoff: i64,
    buckets: BTreeMap<i64, HashSet<u64>>,
    entries: usize,
    max_entries: usize,
    /// A bucket from this one on holds, when in memory, every mark there is of it; one absent
    /// from memory has none.
    complete_from: i64,
    /// Marks not yet committed: kept apart too, so that a bucket may leave memory before its
    /// marks are on disk and a replay still finds them.
    pending: HashSet<Mark>,
}

impl Dedupe {
    /// Memory of marks from what the store loaded.
    pub(super) fn new(snapshot: &Snapshot, window_secs: i64, skew_secs: i64, max_entries: usize) -> Self {
        let mut d = Dedupe {
            seed: snapshot.seed,
            window: window_secs,
            skew: skew_secs,
            cutoff: snapshot.cutoff,
            buckets: BTreeMap::new(),
            entries: 0,
            max_entries,
            complete_from: snapshot.recent_from,
            pending: HashSet::new(),
        };
        for (bucket, fingerprints) in &snapshot.recent {
            d.entries += fingerprints.len();
            d.buckets.insert(*bucket, fingerprints.iter().copied().collect());
        }
        d
    }

    /// The mark of a span.
    fn mark(&self, key: &SpanKey, end_unix: i64) -> Mark {
        Mark { bucket: bucket_of(end_unix), fingerprint: xxh3_64_with_seed(key, self.seed) }
    }

    /// The oldest end time (Unix seconds) still charged at `now`.
    pub(super) fn oldest_charged(&self, now: i64) -> i64 {
        (now - self.window).max(self.cutoff)
    }

    /// Decides what it can from the window and memory.
    pub(super) fn check(&self, key: &SpanKey, end_unix_nano: u64, now: i64) -> Check {
        let end = (end_unix_nano / 1_000_000_000) as i64;
        if end_unix_nano == 0 || end < self.oldest_charged(now) || bucket_of(end) < self.cutoff {
            return Check::Decided(Verdict::TooOld, None);
        }
        if end > now + self.skew {
            return Check::Decided(Verdict::Future, None);
        }
        let mark = self.mark(key, end);
        if self.buckets.get(&mark.bucket).is_some_and(|b| b.contains(&mark.fingerprint)) || self.pending.contains(&mark)
        {
            return Check::Decided(Verdict::Duplicate, None);
        }
        if mark.bucket >= self.complete_from {
            Check::Decided(Verdict::Fresh, Some(mark))
        } else {
            Check::AskStore(mark)
        }
    }

    /// Remembers a span being charged; false if it already was (a duplicate within one batch).
    pub(super) fn record(&mut self, mark: Mark) -> bool {
        if !self.pending.insert(mark) {
            return false;
        }
        if self.buckets.entry(mark.bucket).or_default().insert(mark.fingerprint) {
            self.entries += 1;
        }
        true
    }

    /// The marks to commit; they stay findable until [`Dedupe::committed`].
    pub(super) fn pending(&self) -> Vec<Mark> {
        self.pending.iter().copied().collect()
    }

    /// A commit of `marks` succeeded and the store's cutoff is now `cutoff`: they no longer
    /// need to be kept apart; forget expired buckets, then the oldest while over the memory
    /// budget (their marks are on disk).
    pub(super) fn committed(&mut self, marks: &[Mark], cutoff: i64, now: i64) {
        for m in marks {
            self.pending.remove(m);
        }
        self.cutoff = self.cutoff.max(cutoff);
        let expired = bucket_of(self.oldest_charged(now));
        while let Some(entry) = self.buckets.first_entry() {
            let bucket = *entry.key();
            if bucket >= expired && self.entries <= self.max_entries {
                break;
            }
            self.entries -= entry.remove().len();
            self.complete_from = self.complete_from.max(bucket + BUCKET_SECS);
        }
        let oldest_kept = self.cutoff;
        self.pending.retain(|m| m.bucket >= oldest_kept);
    }

    /// Marks held in memory.
    pub(super) fn entries(&self) -> usize {
        self.entries
    }

    /// The window in force at `now`, seconds (shorter than configured once the disk cap
    /// forgot buckets early).
    pub(super) fn effective_window(&self, now: i64) -> i64 {
        now - self.oldest_charged(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_608_000;
    const NS: u64 = 1_000_000_000;

    fn key(n: u32) -> SpanKey {
        let mut k = [7u8; 24];
        k[..4].copy_from_slice(&n.to_le_bytes());
        k
    }

    fn empty() -> Snapshot {
        Snapshot { seed: 42, cutoff: i64::MIN, recent_from: i64::MIN, ..Default::default() }
    }

    fn charge(d: &mut Dedupe, n: u32, end: i64) -> Verdict {
        match d.check(&key(n), end as u64 * NS, NOW) {
            Check::Decided(Verdict::Fresh, Some(mark)) => {
                assert!(d.record(mark));
                Verdict::Fresh
            }
            Check::Decided(v, _) => v,
            Check::AskStore(_) => panic!("memory holds everything here"),
        }
    }

    #[test]
    fn a_span_is_charged_once_and_the_window_is_by_end_time() {
        let mut d = Dedupe::new(&empty(), 3600, 300, 1000);
        assert_eq!(charge(&mut d, 1, NOW - 5), Verdict::Fresh);
        assert_eq!(charge(&mut d, 1, NOW - 5), Verdict::Duplicate);
        assert_eq!(charge(&mut d, 2, NOW - 5), Verdict::Fresh);
        assert_eq!(charge(&mut d, 3, NOW - 3601), Verdict::TooOld);
        assert_eq!(charge(&mut d, 3, NOW - 3600), Verdict::Fresh, "the window's first second is in");
        assert_eq!(charge(&mut d, 4, NOW + 301), Verdict::Future);
        assert_eq!(charge(&mut d, 4, NOW + 300), Verdict::Fresh);
        assert_eq!(d.check(&key(5), 0, NOW), Check::Decided(Verdict::TooOld, None), "no end time");
        assert_eq!(d.pending().len(), 4);
    }

    #[test]
    fn memory_is_bounded_and_what_left_it_is_asked_of_the_store() {
        let mut d = Dedupe::new(&empty(), 3600, 300, 3);
        for n in 0..4 {
            charge(&mut d, n, NOW - 100 + i64::from(n) * 10);
        }
        let pending = d.pending();
        assert_eq!(d.entries(), 4, "nothing leaves before a commit");
        // A newer span arrives while the commit is under way: its bucket may leave memory,
        // and the span is still found.
        charge(&mut d, 9, NOW - 150);
        d.committed(&pending, i64::MIN, NOW);
        assert_eq!(d.entries(), 3, "the oldest buckets left");
        assert_eq!(d.check(&key(9), (NOW - 150) as u64 * NS, NOW), Check::Decided(Verdict::Duplicate, None));
        // Span 0 ended in a bucket that left memory and is committed: only the store can tell.
        assert!(matches!(d.check(&key(0), (NOW - 100) as u64 * NS, NOW), Check::AskStore(_)));
        assert_eq!(d.check(&key(3), (NOW - 70) as u64 * NS, NOW), Check::Decided(Verdict::Duplicate, None));
        assert!(matches!(d.check(&key(9), NOW as u64 * NS, NOW), Check::Decided(Verdict::Fresh, Some(_))));
    }

    #[test]
    fn the_store_cutoff_shrinks_the_window() {
        let mut d = Dedupe::new(&empty(), 3600, 300, 100);
        charge(&mut d, 1, NOW - 1000);
        let pending = d.pending();
        d.committed(&pending, NOW - 500, NOW);
        assert_eq!(d.effective_window(NOW), 500);
        assert_eq!(d.check(&key(1), (NOW - 1000) as u64 * NS, NOW), Check::Decided(Verdict::TooOld, None));
        assert_eq!(d.entries(), 0, "forgotten buckets leave memory");
    }

    #[test]
    fn marks_stay_pending_until_committed() {
        let mut d = Dedupe::new(&empty(), 3600, 300, 100);
        charge(&mut d, 1, NOW);
        let first = d.pending();
        charge(&mut d, 2, NOW);
        assert_eq!(d.pending().len(), 2, "a failed commit leaves them for the next");
        d.committed(&first, i64::MIN, NOW);
        assert_eq!(d.pending().len(), 1);
    }

    #[test]
    fn loaded_buckets_are_complete_and_older_ones_are_asked_for() {
        let probe = Dedupe::new(&empty(), 3600, 300, 10);
        let mark = probe.mark(&key(1), NOW - 5);
        let snapshot =
            Snapshot { recent: vec![(mark.bucket, vec![mark.fingerprint])], recent_from: mark.bucket, ..empty() };
        let d = Dedupe::new(&snapshot, 3600, 300, 10);
        assert_eq!(d.check(&key(1), (NOW - 5) as u64 * NS, NOW), Check::Decided(Verdict::Duplicate, None));
        assert!(matches!(d.check(&key(2), (NOW - 5) as u64 * NS, NOW), Check::Decided(Verdict::Fresh, _)));
        assert!(matches!(d.check(&key(2), (NOW - 500) as u64 * NS, NOW), Check::AskStore(_)));
    }
}
