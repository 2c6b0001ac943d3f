//! A memory limiter in bytes, like the OpenTelemetry Collector's `memory_limiter`: request
//! bodies being read, decompression output, decoded requests and queued batches reserve their
//! bytes here; the process's resident memory is sampled too, and what it holds beyond the
//! reservations (the process itself, its state, connection buffers, memory the allocator has
//! not returned yet) counts against the limit as well. Above the soft limit receivers refuse
//! new requests with the retryable answers they already use (HTTP 429/503 + Retry-After, gRPC
//! UNAVAILABLE + RetryInfo); a request being read whose next bytes would pass the limit is
//! refused the same way. What was accepted keeps its reservation until every exporter is done
//! with it, and is never dropped here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Longest pause between samples of resident memory while no data arrives. Idle, the
/// collector's memory changes slowly and nothing is being admitted; sampling it every
/// `check_interval` (20 ms) was most of an idle collector's CPU.
const IDLE_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Why data was refused: over which limit, with the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoryRefusal {
    /// Data held plus the process's own memory are above the soft limit: no new requests.
    #[error(
        "the collector uses {used} bytes (data it holds and its own memory), above its soft memory limit of {soft} bytes; retry later"
    )]
    Soft {
        /// Reserved bytes plus resident memory beyond them.
        used: u64,
        /// The soft limit.
        soft: u64,
    },
    /// Taking `wanted` more bytes would pass the limit.
    #[error("{wanted} more bytes would take the collector past its memory limit of {limit} bytes; retry later")]
    Hard {
        /// Bytes asked for.
        wanted: u64,
        /// The limit.
        limit: u64,
    },
}

/// The limiter; one per collector.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: u64,
    soft: u64,
    used: AtomicU64,
    rss: AtomicU64,
    /// Resident memory beyond the reservations at the last sample.
    overhead: AtomicU64,
    refused: AtomicU64,
    /// Data was admitted or reserved since the last sample.
    active: AtomicBool,
    /// The sampler is pausing longer than its interval; the next arrival wakes it.
    dozing: AtomicBool,
    wake: Notify,
}

impl MemoryLimiter {
    /// A limiter with a `limit` and a `soft` limit (bytes; soft at most the limit).
    pub fn new(limit: u64, soft: u64) -> Arc<Self> {
        Arc::new(MemoryLimiter {
            limit,
            soft: soft.min(limit),
            used: AtomicU64::new(0),
            rss: AtomicU64::new(0),
            overhead: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            active: AtomicBool::new(false),
            dozing: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// A limiter that never refuses (tests, embedding).
    pub fn unlimited() -> Arc<Self> {
        Self::new(u64::MAX, u64::MAX)
    }

    /// The limit, bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The soft limit, bytes.
    pub fn soft_limit(&self) -> u64 {
        self.soft
    }

    /// Bytes reserved now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Resident memory at the last sample, bytes.
    pub fn rss(&self) -> u64 {
        self.rss.load(Ordering::Relaxed)
    }

    /// Requests and reservations refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn refuse(&self, why: MemoryRefusal) -> MemoryRefusal {
        self.refused.fetch_add(1, Ordering::Relaxed);
        why
    }

    /// Resident memory beyond the reservations at the last sample, bytes.
    pub fn overhead(&self) -> u64 {
        self.overhead.load(Ordering::Relaxed)
    }

    /// Why new requests are refused now, if they are (nothing counted).
    pub fn refusing(&self) -> Option<MemoryRefusal> {
        let used = self.used().saturating_add(self.overhead());
        (used > self.soft).then_some(MemoryRefusal::Soft { used, soft: self.soft })
    }

    /// Marks data arriving: a dozing sampler samples now and at its interval from then on.
    fn arriving(&self) {
        if !self.active.load(Ordering::Relaxed) {
            self.active.store(true, Ordering::Relaxed);
            if self.dozing.swap(false, Ordering::AcqRel) {
                self.wake.notify_one();
            }
        }
    }

    /// Whether a new request may start now; a refusal is counted.
    pub fn admit(&self) -> Result<(), MemoryRefusal> {
        self.arriving();
        match self.refusing() {
            Some(why) => Err(self.refuse(why)),
            None => Ok(()),
        }
    }

    fn take(&self, n: u64) -> Result<(), MemoryRefusal> {
        self.arriving();
        let room = self.limit.saturating_sub(self.overhead());
        let taken = self.used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            used.checked_add(n).filter(|total| *total <= room)
        });
        taken.map(|_| ()).map_err(|_| self.refuse(MemoryRefusal::Hard { wanted: n, limit: self.limit }))
    }

    fn give_back(&self, n: u64) {
        let _ = self.used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| Some(used.saturating_sub(n)));
    }

    /// Reserves `n` bytes, refused if that would pass the limit.
    pub fn reserve(self: &Arc<Self>, n: u64) -> Result<Reservation, MemoryRefusal> {
        self.take(n)?;
        Ok(Reservation { limiter: self.clone(), bytes: AtomicU64::new(n) })
    }

    /// An empty reservation to grow as data arrives.
    pub fn empty(self: &Arc<Self>) -> Reservation {
        Reservation { limiter: self.clone(), bytes: AtomicU64::new(0) }
    }

    /// Records the process's resident memory: what it holds beyond the reservations counts
    /// against the limits from now on.
    pub fn observe_resident(&self, rss: u64) {
        let was_refusing = self.refusing().is_some();
        self.rss.store(rss, Ordering::Relaxed);
        self.overhead.store(rss.saturating_sub(self.used()), Ordering::Relaxed);
        match (was_refusing, self.refusing()) {
            (false, Some(why)) => tracing::warn!("memory limit: refusing new data: {why}"),
            (true, None) => tracing::info!(rss, soft_limit = self.soft, "memory limit: accepting new data again"),
            _ => {}
        }
    }

    /// Samples resident memory every `interval` while data arrives, for as long as the process
    /// runs. Without arrivals the pause doubles up to [`IDLE_SAMPLE_INTERVAL`]; the first
    /// arrival then wakes the sampler at once.
    pub async fn watch_resident(self: Arc<Self>, interval: Duration) {
        let mut statm = Statm::open();
        let mut pause = interval;
        loop {
            if pause <= interval {
                tokio::time::sleep(pause).await;
            } else {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = self.wake.notified() => {}
                }
            }
            if let Some(rss) = statm.as_mut().and_then(Statm::resident_bytes).or_else(resident_bytes) {
                self.observe_resident(rss);
            }
            pause = self.next_pause(pause, interval);
        }
    }

    /// The pause before the next sample, given the last one and the configured interval.
    fn next_pause(&self, last: Duration, interval: Duration) -> Duration {
        if self.active.swap(false, Ordering::AcqRel) {
            self.dozing.store(false, Ordering::Release);
            return interval;
        }
        let longer = (last * 2).min(IDLE_SAMPLE_INTERVAL.max(interval));
        if longer > interval {
            self.dozing.store(true, Ordering::Release);
            // Data that arrived between the swap and now would find the sampler not dozing yet.
            if self.active.load(Ordering::Acquire) {
                self.dozing.store(false, Ordering::Release);
                return interval;
            }
        }
        longer
    }
}

/// The process's resident memory, from `/proc/self/statm`.
pub fn resident_bytes() -> Option<u64> {
    let statm = procfs::process::Process::myself().ok()?.statm().ok()?;
    Some(statm.resident * procfs::page_size())
}

/// `/proc/self/statm` kept open and re-read from its start: sampled every 20 ms, opening it
/// anew each time (a path walk through /proc) cost more than half the idle collector's CPU.
struct Statm {
    file: std::fs::File,
    page: u64,
    buf: [u8; 128],
}

impl Statm {
    fn open() -> Option<Statm> {
        let file = std::fs::File::open("/proc/self/statm").ok()?;
        Some(Statm { file, page: procfs::page_size(), buf: [0; 128] })
    }

    /// Resident bytes: the second field, in pages.
    fn resident_bytes(&mut self) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(&mut self.buf, 0).ok()?;
        let text = std::str::from_utf8(self.buf.get(..n)?).ok()?;
        let pages: u64 = text.split_ascii_whitespace().nth(1)?.parse().ok()?;
        Some(pages * self.page)
    }
}

/// Bytes held against the limiter; given back when dropped. Grows as a request is read.
#[derive(Debug)]
pub struct Reservation {
    limiter: Arc<MemoryLimiter>,
    bytes: AtomicU64,
}

impl Reservation {
    /// Reserves `n` more bytes, refused if that would pass the limit.
    pub fn grow(&self, n: u64) -> Result<(), MemoryRefusal> {
        self.limiter.take(n)?;
        self.bytes.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }

    /// Moves up to `n` of the bytes held into a reservation of their own (the limiter's
    /// total does not change): what a request read and decoded becomes its queued batch's.
    pub fn split(&self, n: u64) -> Reservation {
        let moved = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| Some(held - held.min(n)))
            .map_or(0, |held| held.min(n));
        Reservation { limiter: self.limiter.clone(), bytes: AtomicU64::new(moved) }
    }

    /// Gives back up to `n` of the bytes held.
    pub fn release(&self, n: u64) {
        let released = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| Some(held - held.min(n)))
            .map_or(0, |held| held.min(n));
        self.limiter.give_back(released);
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.limiter.give_back(*self.bytes.get_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_count_until_dropped_and_the_limit_holds() {
        let m = MemoryLimiter::new(1000, 600);
        let a = m.reserve(500).expect("fits");
        assert!(m.admit().is_ok());
        a.grow(200).expect("700 fits");
        assert_eq!(m.admit(), Err(MemoryRefusal::Soft { used: 700, soft: 600 }));
        assert!(matches!(m.reserve(301), Err(MemoryRefusal::Hard { wanted: 301, .. })));
        let b = m.reserve(300).expect("exactly the limit");
        assert_eq!(m.used(), 1000);
        drop(a);
        drop(b);
        assert_eq!(m.used(), 0);
        assert!(m.admit().is_ok());
        assert_eq!(m.refused(), 2);
    }

    #[test]
    fn a_reservation_splits_and_releases_without_losing_count() {
        let m = MemoryLimiter::new(1000, 1000);
        let request = m.reserve(600).expect("fits");
        let batch = request.split(400);
        assert_eq!((request.bytes(), batch.bytes(), m.used()), (200, 400, 600));
        request.release(150);
        assert_eq!(m.used(), 450);
        let rest = request.split(1000);
        assert_eq!((request.bytes(), rest.bytes()), (0, 50));
        drop((request, rest));
        assert_eq!(m.used(), 400);
        drop(batch);
        assert_eq!(m.used(), 0);
    }

    #[test]
    fn memory_beyond_the_reservations_counts_against_the_limit() {
        let m = MemoryLimiter::new(1000, 600);
        let held = m.reserve(100).expect("fits");
        m.observe_resident(500);
        assert_eq!(m.overhead(), 400);
        assert!(m.admit().is_ok(), "500 of 600");
        assert!(matches!(m.reserve(501), Err(MemoryRefusal::Hard { .. })), "100 + 400 + 501 > 1000");
        let more = m.reserve(200).expect("100 + 400 + 200 fits");
        assert_eq!(m.admit(), Err(MemoryRefusal::Soft { used: 700, soft: 600 }));
        drop((held, more));
    }

    #[test]
    fn sampling_slows_down_while_idle_and_resumes_its_interval_when_data_arrives() {
        let limiter = MemoryLimiter::new(1 << 30, 1 << 29);
        let base = Duration::from_millis(20);
        let mut pause = base;
        let mut pauses = Vec::new();
        for _ in 0..10 {
            pause = limiter.next_pause(pause, base);
            pauses.push(pause);
        }
        assert_eq!(pauses[0], Duration::from_millis(40));
        assert!(pauses.windows(2).all(|w| w[1] >= w[0]), "{pauses:?}");
        assert_eq!(pauses[pauses.len() - 1], IDLE_SAMPLE_INTERVAL);
        assert!(limiter.dozing.load(Ordering::Relaxed));
        let _held = limiter.reserve(100).expect("room");
        assert!(!limiter.dozing.load(Ordering::Relaxed), "an arrival wakes the sampler");
        assert_eq!(limiter.next_pause(pause, base), base);
        assert_eq!(limiter.next_pause(base, base), Duration::from_millis(40), "idle again");
        limiter.admit().expect("admitted");
        assert_eq!(limiter.next_pause(Duration::from_millis(40), base), base);
        // A configured interval above the idle pause is kept as it is.
        let slow = Duration::from_secs(5);
        assert_eq!(limiter.next_pause(slow, slow), slow);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dozing_sampler_samples_as_soon_as_data_arrives() {
        let limiter = MemoryLimiter::new(1 << 40, 1 << 40);
        let watcher = tokio::spawn(limiter.clone().watch_resident(Duration::from_millis(20)));
        // Long enough idle for the pause to reach its longest.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(limiter.dozing.load(Ordering::Relaxed));
        limiter.rss.store(0, Ordering::Relaxed);
        let arrived = tokio::time::Instant::now();
        let _held = limiter.reserve(1).expect("room");
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        assert!(limiter.rss() > 0, "sampled on arrival");
        // No timer fired in between: the paused clock did not move.
        assert!(arrived.elapsed() < Duration::from_millis(20), "{:?}", arrived.elapsed());
        watcher.abort();
    }

    #[test]
    fn resident_memory_over_the_soft_limit_refuses_until_back_under_it() {
        let m = MemoryLimiter::new(1000, 600);
        m.observe_resident(1200);
        assert_eq!(m.admit(), Err(MemoryRefusal::Soft { used: 1200, soft: 600 }));
        assert!(m.reserve(1).is_err(), "past the limit nothing more is taken");
        m.observe_resident(800);
        assert!(m.admit().is_err());
        m.observe_resident(500);
        assert!(m.admit().is_ok());
        assert!(resident_bytes().is_some_and(|rss| rss > 0));
        // The kept-open reader agrees with a fresh read (within what a test thread allocates).
        let mut statm = Statm::open().expect("statm");
        let (kept, fresh) = (statm.resident_bytes().expect("kept"), resident_bytes().expect("fresh"));
        assert!(kept > 0 && kept.abs_diff(fresh) < 8 << 20, "{kept} vs {fresh}");
        let again = statm.resident_bytes().expect("read again from the start");
        assert!(again.abs_diff(kept) < 8 << 20, "{again} vs {kept}");
    }
}
