//! A bounded batch queue between many producers and one worker. Producers lock, push and
//! unlock; the worker takes everything queued at once (swapping in the buffer it emptied last
//! time, so neither side allocates once warm), and is woken only when a batch is full, a
//! flush asks, or it closes.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

struct State<T> {
    items: Vec<T>,
    pushed: u64,
    done: u64,
    /// A flush waits for `done` to reach this.
    flush_to: u64,
    closed: bool,
}

/// See the module docs.
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    /// The worker waits here.
    wake: Condvar,
    /// Flushes wait here.
    progress: Condvar,
    wake_at: usize,
    capacity: usize,
}

impl<T> Queue<T> {
    /// A queue that wakes its worker at `wake_at` items and holds at most `capacity`.
    pub(crate) fn new(wake_at: usize, capacity: usize) -> Queue<T> {
        Queue {
            state: Mutex::new(State { items: Vec::new(), pushed: 0, done: 0, flush_to: 0, closed: false }),
            wake: Condvar::new(),
            progress: Condvar::new(),
            wake_at: wake_at.max(1),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Items are plain data: a panic elsewhere while the lock was held leaves them usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item`; gives it back when the queue is full or closed.
    pub(crate) fn push(&self, item: T) -> Option<T> {
        let mut s = self.lock();
        if s.closed || s.items.len() >= self.capacity {
            return Some(item);
        }
        s.items.push(item);
        s.pushed += 1;
        let wake = s.items.len() == self.wake_at;
        drop(s);
        if wake {
            self.wake.notify_one();
        }
        None
    }

    /// The worker's loop: takes batches and hands each item to `run`, until closed and empty.
    /// A panicking `run` loses that item only.
    pub(crate) fn serve(&self, interval: Duration, mut run: impl FnMut(T)) {
        let mut batch = Vec::new();
        loop {
            let mut s = self.lock();
            let deadline = Instant::now() + interval;
            while !s.closed && s.items.len() < self.wake_at && s.flush_to <= s.done {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                s = self.wake.wait_timeout(s, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
            }
            if s.items.is_empty() {
                if s.closed {
                    return;
                }
                continue;
            }
            std::mem::swap(&mut s.items, &mut batch);
            drop(s);
            let n = batch.len() as u64;
            for item in batch.drain(..) {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(item)));
            }
            self.lock().done += n;
            self.progress.notify_all();
        }
    }

    /// Waits (at most `timeout`) until every item queued before the call is done; false on
    /// timeout.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let mut s = self.lock();
        let target = s.pushed;
        if s.done >= target {
            return true;
        }
        s.flush_to = s.flush_to.max(target);
        self.wake.notify_one();
        let (s, _) =
            self.progress.wait_timeout_while(s, timeout, |s| s.done < target).unwrap_or_else(PoisonError::into_inner);
        s.done >= target
    }

    /// Refuses new items; the worker ends once the queue is empty.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    /// Items waiting now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread::JoinHandle;

    use super::*;

    /// A worker serving `q` that adds up the items, each after `each` saw it; the sum so far
    /// and the thread.
    fn summing_worker(
        q: &Arc<Queue<usize>>,
        interval: Duration,
        each: fn(usize),
    ) -> (Arc<AtomicUsize>, JoinHandle<()>) {
        let seen = Arc::new(AtomicUsize::new(0));
        let (q, sum) = (q.clone(), seen.clone());
        let worker = std::thread::spawn(move || {
            q.serve(interval, |n| {
                each(n);
                sum.fetch_add(n, Ordering::SeqCst);
            })
        });
        (seen, worker)
    }

    fn wait_for(seen: &AtomicUsize, n: usize, what: &str) {
        let waited = Instant::now();
        while seen.load(Ordering::SeqCst) < n {
            assert!(waited.elapsed() < Duration::from_secs(10), "{what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn a_full_queue_gives_items_back_and_a_closed_one_takes_none() {
        let q = Queue::new(10, 2);
        assert_eq!(q.push(1), None);
        assert_eq!(q.push(2), None);
        assert_eq!(q.push(3), Some(3));
        assert_eq!(q.len(), 2);
        q.close();
        assert_eq!(q.push(4), Some(4));
    }

    #[test]
    fn flush_waits_for_what_was_queued_before_it_and_close_drains() {
        let q = Arc::new(Queue::new(1000, 10_000));
        // A long interval: only the flush may wake the worker before the batch is full.
        let (seen, worker) =
            summing_worker(&q, Duration::from_secs(60), |_| std::thread::sleep(Duration::from_micros(50)));
        for _ in 0..100 {
            assert_eq!(q.push(1), None);
        }
        assert!(q.flush(Duration::from_secs(10)));
        assert_eq!(seen.load(Ordering::SeqCst), 100);
        for _ in 0..50 {
            assert_eq!(q.push(2), None);
        }
        q.close();
        worker.join().unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 200);
    }

    #[test]
    fn a_full_batch_wakes_the_worker_before_the_interval() {
        let q = Arc::new(Queue::new(4, 100));
        let (seen, worker) = summing_worker(&q, Duration::from_secs(3600), |_| {});
        for _ in 0..3 {
            q.push(1);
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(seen.load(Ordering::SeqCst), 0, "woken before the batch was full");
        q.push(1);
        wait_for(&seen, 4, "a full batch did not wake the worker");
        q.close();
        worker.join().unwrap();
    }

    #[test]
    fn the_interval_wakes_the_worker_for_a_single_item() {
        let q = Arc::new(Queue::new(1000, 10_000));
        let (seen, worker) = summing_worker(&q, Duration::from_millis(20), |_| {});
        q.push(1);
        wait_for(&seen, 1, "the interval never woke the worker");
        q.close();
        worker.join().unwrap();
    }

    #[test]
    fn a_panicking_item_loses_only_itself() {
        let q = Arc::new(Queue::new(1, 100));
        let (seen, worker) = summing_worker(&q, Duration::from_millis(10), |n| assert!(n != 0, "bad item"));
        q.push(0);
        q.push(5);
        assert!(q.flush(Duration::from_secs(10)));
        q.close();
        worker.join().unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 5);
    }
}
