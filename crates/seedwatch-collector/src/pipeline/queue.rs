//! The one bounded queue used on every hop of the pipeline.
//!
//! Capacity is counted in items (spans, data points, log records), not in requests, and in the
//! bytes batches hold against the memory limiter, so memory stays bounded whatever the request
//! sizes; a queue is full at whichever limit comes first. A sender either waits for room or, with
//! [`QueueSender::send_timeout`], gives the item back so the receiver can answer the OTLP
//! retryable status: nothing is ever dropped here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Something that occupies a number of slots in a queue.
pub trait Weighted {
    /// The number of items this value holds.
    fn weight(&self) -> u64;
    /// The bytes it holds in memory (0: not counted in bytes).
    fn bytes(&self) -> u64 {
        0
    }
}

impl<T: Weighted> Weighted for Arc<T> {
    fn weight(&self) -> u64 {
        self.as_ref().weight()
    }
    fn bytes(&self) -> u64 {
        self.as_ref().bytes()
    }
}

impl Weighted for super::Batch {
    fn weight(&self) -> u64 {
        self.items()
    }
    fn bytes(&self) -> u64 {
        self.held_bytes()
    }
}

/// What a queue's size and capacity count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueUnit {
    /// Spans, data points, log records (the in-memory queues).
    Items,
    /// Bytes on disk (durable queues).
    Bytes,
}

/// Depth and capacity of one queue, shared with the metrics and health endpoints.
#[derive(Debug)]
pub struct QueueStats {
    name: String,
    capacity: u64,
    size: AtomicU64,
    unit: QueueUnit,
    /// In-memory queues: capacity and size in bytes held.
    byte_capacity: u64,
    bytes: AtomicU64,
}

impl QueueStats {
    /// Stats of a queue counted in bytes.
    pub(crate) fn bytes(name: String, capacity: u64) -> Self {
        QueueStats {
            name,
            capacity,
            size: AtomicU64::new(0),
            unit: QueueUnit::Bytes,
            byte_capacity: 0,
            bytes: AtomicU64::new(0),
        }
    }
    /// Bytes of memory the queued batches hold (in-memory queues).
    pub fn held_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// Capacity in bytes of memory held (in-memory queues; 0 for durable ones).
    pub fn byte_capacity(&self) -> u64 {
        self.byte_capacity
    }
    pub(crate) fn add(&self, n: u64) {
        self.size.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn sub(&self, n: u64) {
        let _ = self.size.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| Some(s.saturating_sub(n)));
    }
    /// What size and capacity count.
    pub fn unit(&self) -> QueueUnit {
        self.unit
    }
    /// The queue's name (the `queue` label).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Capacity, in [`QueueStats::unit`]s.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }
    /// Currently queued, in [`QueueStats::unit`]s.
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }
}

/// Why an item could not be queued; the item is handed back.
#[derive(Debug)]
pub enum SendError<T> {
    /// No room within the allowed wait.
    Full(T),
    /// The consumer is gone (shutting down).
    Closed(T),
}

/// The producing side of a bounded queue. Cloneable; the queue closes when all are dropped.
#[derive(Debug)]
pub struct QueueSender<T> {
    tx: mpsc::UnboundedSender<Queued<T>>,
    permits: Arc<Semaphore>,
    byte_permits: Arc<Semaphore>,
    stats: Arc<QueueStats>,
}

/// An item with the room it takes, freed when it is taken out.
#[derive(Debug)]
struct Queued<T> {
    item: T,
    slots: OwnedSemaphorePermit,
    bytes: OwnedSemaphorePermit,
}

impl<T> Queued<T> {
    /// Takes the item out, updating the queue's size.
    fn take(self, stats: &QueueStats) -> T {
        stats.size.fetch_sub(self.slots.num_permits() as u64, Ordering::Relaxed);
        stats.bytes.fetch_sub(self.bytes.num_permits() as u64, Ordering::Relaxed);
        self.item
    }
}

impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        QueueSender {
            tx: self.tx.clone(),
            permits: self.permits.clone(),
            byte_permits: self.byte_permits.clone(),
            stats: self.stats.clone(),
        }
    }
}

/// The consuming side of a bounded queue.
#[derive(Debug)]
pub struct QueueReceiver<T> {
    rx: mpsc::UnboundedReceiver<Queued<T>>,
    stats: Arc<QueueStats>,
}

/// Creates a queue holding at most `capacity` items (at least 1), not counted in bytes.
pub fn bounded<T: Weighted>(name: impl Into<String>, capacity: u64) -> (QueueSender<T>, QueueReceiver<T>) {
    bounded_in_bytes(name, capacity, u32::MAX as u64)
}

/// Creates a queue holding at most `capacity` items and `max_bytes` bytes (each at least 1).
pub fn bounded_in_bytes<T: Weighted>(
    name: impl Into<String>,
    capacity: u64,
    max_bytes: u64,
) -> (QueueSender<T>, QueueReceiver<T>) {
    let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS as u64);
    let byte_capacity = max_bytes.clamp(1, Semaphore::MAX_PERMITS as u64);
    let (tx, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(QueueStats {
        name: name.into(),
        capacity,
        size: AtomicU64::new(0),
        unit: QueueUnit::Items,
        byte_capacity,
        bytes: AtomicU64::new(0),
    });
    let permits = Arc::new(Semaphore::new(capacity as usize));
    let byte_permits = Arc::new(Semaphore::new(byte_capacity as usize));
    (QueueSender { tx, permits, byte_permits, stats: stats.clone() }, QueueReceiver { rx, stats })
}

impl<T: Weighted> QueueSender<T> {
    /// Slots this item takes: its weight, at least one, at most the whole queue (so an
    /// oversized request still fits into an empty queue instead of waiting forever); the
    /// same for its bytes.
    fn room(&self, item: &T) -> (u32, u32) {
        let slots = item.weight().clamp(1, self.stats.capacity).min(u32::MAX as u64) as u32;
        let bytes = item.bytes().min(self.stats.byte_capacity).min(u32::MAX as u64) as u32;
        (slots, bytes)
    }

    async fn acquire(&self, item: &T) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let (slots, bytes) = self.room(item);
        let slots = self.permits.clone().acquire_many_owned(slots).await.ok()?;
        let bytes = self.byte_permits.clone().acquire_many_owned(bytes).await.ok()?;
        Some((slots, bytes))
    }

    /// Queues the item, waiting as long as it takes for room. Fails only when closed.
    pub async fn send(&self, item: T) -> Result<(), SendError<T>> {
        match self.acquire(&item).await {
            Some((slots, bytes)) => self.push(item, slots, bytes),
            None => Err(SendError::Closed(item)),
        }
    }

    /// Queues the item if room appears within `wait`; otherwise hands it back as `Full`.
    pub async fn send_timeout(&self, item: T, wait: Duration) -> Result<(), SendError<T>> {
        if self.tx.is_closed() {
            return Err(SendError::Closed(item));
        }
        if wait.is_zero() {
            return self.try_send(item);
        }
        match tokio::time::timeout(wait, self.acquire(&item)).await.ok().flatten() {
            Some((slots, bytes)) => self.push(item, slots, bytes),
            None => Err(SendError::Full(item)),
        }
    }

    /// Queues the item only if there is room now; never waits.
    pub fn try_send(&self, item: T) -> Result<(), SendError<T>> {
        if self.tx.is_closed() {
            return Err(SendError::Closed(item));
        }
        let (slots, bytes) = self.room(&item);
        let Ok(slots) = self.permits.clone().try_acquire_many_owned(slots) else { return Err(SendError::Full(item)) };
        match self.byte_permits.clone().try_acquire_many_owned(bytes) {
            Ok(bytes) => self.push(item, slots, bytes),
            Err(_) => Err(SendError::Full(item)),
        }
    }

    fn push(&self, item: T, slots: OwnedSemaphorePermit, bytes: OwnedSemaphorePermit) -> Result<(), SendError<T>> {
        self.stats.size.fetch_add(slots.num_permits() as u64, Ordering::Relaxed);
        self.stats.bytes.fetch_add(bytes.num_permits() as u64, Ordering::Relaxed);
        self.tx.send(Queued { item, slots, bytes }).map_err(|err| SendError::Closed(err.0.take(&self.stats)))
    }

    /// The queue's depth and capacity.
    pub fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }
}

impl<T> QueueReceiver<T> {
    /// Takes the next item, freeing its slots; `None` once every sender is gone and the
    /// queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        Some(self.rx.recv().await?.take(&self.stats))
    }

    /// Takes the next item if one is queued now; never waits.
    pub fn try_recv(&mut self) -> Option<T> {
        Some(self.rx.try_recv().ok()?.take(&self.stats))
    }

    /// Stops accepting new items; those already queued can still be received.
    pub fn close(&mut self) {
        self.rx.close();
    }

    /// The queue's depth and capacity.
    pub fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Items(u64);
    impl Weighted for Items {
        fn weight(&self) -> u64 {
            self.0
        }
    }

    #[derive(Debug, PartialEq)]
    struct Sized(u64, u64);
    impl Weighted for Sized {
        fn weight(&self) -> u64 {
            self.0
        }
        fn bytes(&self) -> u64 {
            self.1
        }
    }

    #[tokio::test]
    async fn a_queue_is_full_at_whichever_limit_comes_first() {
        let (tx, mut rx) = bounded_in_bytes::<Sized>("q", 100, 1000);
        tx.try_send(Sized(1, 900)).expect("room");
        assert!(matches!(tx.try_send(Sized(1, 200)), Err(SendError::Full(_))), "bytes full, items not");
        assert_eq!((tx.stats().size(), tx.stats().held_bytes()), (1, 900));
        tx.try_send(Sized(50, 100)).expect("exactly the byte capacity");
        assert_eq!(rx.recv().await, Some(Sized(1, 900)));
        assert_eq!(tx.stats().held_bytes(), 100);
        assert!(matches!(tx.try_send(Sized(1, 5000)), Err(SendError::Full(_))), "an oversized one needs it all");
        assert_eq!(rx.recv().await, Some(Sized(50, 100)));
        tx.send_timeout(Sized(1, 5000), Duration::from_millis(10))
            .await
            .expect("an oversized one fits an emptied queue");
        tx.try_send(Sized(40, 0)).expect("items left");
        assert!(matches!(tx.try_send(Sized(60, 0)), Err(SendError::Full(_))), "items full");
    }

    #[tokio::test]
    async fn refuses_when_full_and_hands_the_item_back() {
        let (tx, mut rx) = bounded::<Items>("q", 10);
        tx.send_timeout(Items(6), Duration::ZERO).await.expect("room for 6");
        assert_eq!(tx.stats().size(), 6);
        match tx.send_timeout(Items(5), Duration::from_millis(10)).await {
            Err(SendError::Full(Items(5))) => {}
            other => panic!("expected Full, got {other:?}"),
        }
        assert_eq!(rx.recv().await, Some(Items(6)));
        assert_eq!(tx.stats().size(), 0);
        tx.send_timeout(Items(5), Duration::ZERO).await.expect("room after recv");
    }

    #[tokio::test]
    async fn oversized_item_fits_an_empty_queue() {
        let (tx, mut rx) = bounded::<Items>("q", 10);
        tx.send_timeout(Items(50), Duration::ZERO).await.expect("takes the whole queue");
        assert_eq!(tx.stats().size(), 10);
        assert_eq!(rx.recv().await, Some(Items(50)));
    }

    #[tokio::test]
    async fn closed_queue_hands_the_item_back() {
        let (tx, mut rx) = bounded::<Items>("q", 10);
        rx.close();
        assert!(matches!(tx.send_timeout(Items(1), Duration::ZERO).await, Err(SendError::Closed(Items(1)))));
        drop(rx);
        assert!(matches!(tx.send(Items(1)).await, Err(SendError::Closed(Items(1)))));
    }

    #[tokio::test]
    async fn blocking_send_waits_for_room() {
        let (tx, mut rx) = bounded::<Items>("q", 2);
        tx.send(Items(2)).await.expect("fits");
        let tx2 = tx.clone();
        let waiter = tokio::spawn(async move { tx2.send(Items(1)).await.is_ok() });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        assert_eq!(rx.recv().await, Some(Items(2)));
        assert!(waiter.await.expect("join"));
        assert_eq!(rx.recv().await, Some(Items(1)));
    }
}
