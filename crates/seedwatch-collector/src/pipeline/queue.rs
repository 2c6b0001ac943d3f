//! The one bounded queue used on every hop of the pipeline.
//!
//! Capacity is counted in items (spans, data points, log records), not in requests, so memory
//! stays bounded whatever the request sizes. A sender either waits for room or, with
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
}

impl<T: Weighted> Weighted for Arc<T> {
    fn weight(&self) -> u64 {
        self.as_ref().weight()
    }
}

impl Weighted for super::Batch {
    fn weight(&self) -> u64 {
        self.items()
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
}

impl QueueStats {
    /// Stats of a queue counted in bytes.
    pub(crate) fn bytes(name: String, capacity: u64) -> Self {
        QueueStats { name, capacity, size: AtomicU64::new(0), unit: QueueUnit::Bytes }
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
    tx: mpsc::UnboundedSender<(T, OwnedSemaphorePermit)>,
    permits: Arc<Semaphore>,
    stats: Arc<QueueStats>,
}

impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        QueueSender { tx: self.tx.clone(), permits: self.permits.clone(), stats: self.stats.clone() }
    }
}

/// The consuming side of a bounded queue.
#[derive(Debug)]
pub struct QueueReceiver<T> {
    rx: mpsc::UnboundedReceiver<(T, OwnedSemaphorePermit)>,
    stats: Arc<QueueStats>,
}

/// Creates a queue holding at most `capacity` items (at least 1).
pub fn bounded<T: Weighted>(name: impl Into<String>, capacity: u64) -> (QueueSender<T>, QueueReceiver<T>) {
    let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS as u64);
    let (tx, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(QueueStats { name: name.into(), capacity, size: AtomicU64::new(0), unit: QueueUnit::Items });
    let permits = Arc::new(Semaphore::new(capacity as usize));
    (QueueSender { tx, permits, stats: stats.clone() }, QueueReceiver { rx, stats })
}

impl<T: Weighted> QueueSender<T> {
    /// Slots this item takes: its weight, at least one, at most the whole queue (so an
    /// oversized request still fits into an empty queue instead of waiting forever).
    fn slots(&self, item: &T) -> u32 {
        item.weight().clamp(1, self.stats.capacity) as u32
    }

    /// Queues the item, waiting as long as it takes for room. Fails only when closed.
    pub async fn send(&self, item: T) -> Result<(), SendError<T>> {
        let slots = self.slots(&item);
        match self.permits.clone().acquire_many_owned(slots).await {
            Ok(permit) => self.push(item, permit),
            Err(_) => Err(SendError::Closed(item)),
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
        let slots = self.slots(&item);
        let acquire = self.permits.clone().acquire_many_owned(slots);
        match tokio::time::timeout(wait, acquire).await.ok().and_then(Result::ok) {
            Some(permit) => self.push(item, permit),
            None => Err(SendError::Full(item)),
        }
    }

    /// Queues the item only if there is room now; never waits.
    pub fn try_send(&self, item: T) -> Result<(), SendError<T>> {
        if self.tx.is_closed() {
            return Err(SendError::Closed(item));
        }
        match self.permits.clone().try_acquire_many_owned(self.slots(&item)) {
            Ok(permit) => self.push(item, permit),
            Err(_) => Err(SendError::Full(item)),
        }
    }

    fn push(&self, item: T, permit: OwnedSemaphorePermit) -> Result<(), SendError<T>> {
        let slots = permit.num_permits() as u64;
        self.stats.size.fetch_add(slots, Ordering::Relaxed);
        self.tx.send((item, permit)).map_err(|err| {
            let (item, permit) = err.0;
            self.stats.size.fetch_sub(permit.num_permits() as u64, Ordering::Relaxed);
            SendError::Closed(item)
        })
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
        let (item, permit) = self.rx.recv().await?;
        self.stats.size.fetch_sub(permit.num_permits() as u64, Ordering::Relaxed);
        drop(permit);
        Some(item)
    }

    /// Takes the next item if one is queued now; never waits.
    pub fn try_recv(&mut self) -> Option<T> {
        let (item, permit) = self.rx.try_recv().ok()?;
        self.stats.size.fetch_sub(permit.num_permits() as u64, Ordering::Relaxed);
        drop(permit);
        Some(item)
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
