//! Event counts over a sliding window, in a fixed number of buckets so that memory per agent
//! stays small whatever the window.

use std::time::Duration;

/// Buckets per window: the rate is exact to one bucket's width (window / 12).
const BUCKETS: usize = 12;

/// Counts of events in the last `window`, read as a rate per second.
#[derive(Debug, Clone, Default)]
pub struct RateWindow {
    /// (bucket number since the tracker's origin, count).
    buckets: [(u64, u32); BUCKETS],
}

impl RateWindow {
    fn bucket_of(at: Duration, window: Duration) -> u64 {
        let width = (window.as_millis() / BUCKETS as u128).max(1);
        (at.as_millis() / width) as u64
    }

    /// The number of the bucket `at` falls in (buckets are `window / 12` wide).
    pub fn bucket_number(at: Duration, window: Duration) -> u64 {
        Self::bucket_of(at, window)
    }

    /// The oldest bucket still in the window ending at `at`.
    pub fn oldest_bucket(at: Duration, window: Duration) -> u64 {
        Self::bucket_of(at, window).saturating_sub(BUCKETS as u64 - 1)
    }

    /// Replaces the counts with `buckets` (bucket number, count).
    pub fn replace(&mut self, buckets: impl IntoIterator<Item = (u64, u32)>) {
        self.buckets = [(0, 0); BUCKETS];
        for (b, n) in buckets {
            self.add_to_bucket(b, n);
        }
    }

    /// Adds `n` events to bucket `b` directly.
    pub fn add_to_bucket(&mut self, b: u64, n: u32) {
        if n == 0 {
            return;
        }
        let slot = &mut self.buckets[(b % BUCKETS as u64) as usize];
        if slot.0 < b {
            *slot = (b, 0);
        }
        if slot.0 == b {
            slot.1 = slot.1.saturating_add(n);
        }
    }

    /// Adds `n` events at `at` (time since the tracker's origin).
    pub fn add(&mut self, at: Duration, window: Duration, n: u32) {
        if n == 0 {
            return;
        }
        let b = Self::bucket_of(at, window);
        let slot = &mut self.buckets[(b % BUCKETS as u64) as usize];
        if slot.0 != b {
            *slot = (b, 0);
        }
        slot.1 = slot.1.saturating_add(n);
    }

    /// Events per second over the window ending at `at`.
    pub fn rate(&self, at: Duration, window: Duration) -> f64 {
        let now = Self::bucket_of(at, window);
        let oldest = now.saturating_sub(BUCKETS as u64 - 1);
        let events: u64 =
            self.buckets.iter().filter(|(b, _)| (oldest..=now).contains(b)).map(|(_, n)| u64::from(*n)).sum();
        events as f64 / window.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_only_the_window() {
        let w = Duration::from_secs(60);
        let mut r = RateWindow::default();
        r.add(Duration::from_secs(1), w, 30);
        r.add(Duration::from_secs(50), w, 30);
        assert!((r.rate(Duration::from_secs(55), w) - 1.0).abs() < 1e-9);
        // 61 s later the first 30 have left the window, the second 30 not yet.
        assert!((r.rate(Duration::from_secs(62), w) - 0.5).abs() < 1e-9);
        assert_eq!(r.rate(Duration::from_secs(200), w), 0.0);
        // A bucket reused after a full turn starts from zero.
        r.add(Duration::from_secs(241), w, 6);
        assert!((r.rate(Duration::from_secs(241), w) - 0.1).abs() < 1e-9);
    }
}
