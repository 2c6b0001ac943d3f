//! Deterministic failure injection: a rate of 0.1 fails exactly every 10th call, so a run of
//! any length shows failures in proportion (random draws left short runs without any).

use std::sync::atomic::{AtomicU64, Ordering};

/// Fails every `n`-th call.
#[derive(Debug)]
pub struct EveryNth {
    n: Option<u64>,
    calls: AtomicU64,
}

impl EveryNth {
    /// `rate` in 0..=1; 0 never fails.
    pub fn new(rate: f64) -> EveryNth {
        let n = (rate > 0.0).then(|| (1.0 / rate).round().max(1.0) as u64);
        EveryNth { n, calls: AtomicU64::new(0) }
    }

    /// True when this call should fail.
    pub fn hit(&self) -> bool {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        self.n.is_some_and(|n| call.is_multiple_of(n))
    }
}

#[cfg(test)]
mod tests {
    use super::EveryNth;

    #[test]
    fn fails_in_proportion() {
        let tenth = EveryNth::new(0.1);
        assert_eq!((0..100).filter(|_| tenth.hit()).count(), 10);
        let never = EveryNth::new(0.0);
        assert!(!(0..100).any(|_| never.hit()));
        let always = EveryNth::new(1.0);
        assert!((0..5).all(|_| always.hit()));
    }
}
