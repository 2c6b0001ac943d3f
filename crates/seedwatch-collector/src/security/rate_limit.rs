//! Token buckets per credential and per client address, for requests and for bytes.
//!
//! Bytes are charged as a body arrives, after the request was admitted, so a bucket may go
//! into debt; while it is in debt the next request is refused. (`governor` cannot do this: it
//! admits a cost only up front and refuses one larger than the burst outright, and a request's
//! size is not known until it has been read.)

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::RateLimit;

/// Keys tracked at once per limiter; beyond it, full buckets are forgotten first.
const MAX_KEYS: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant, rate: f64, capacity: f64) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.at = now;
    }
}

/// One dimension (requests or bytes) of a keyed limit.
#[derive(Debug)]
struct Buckets<K> {
    rate: f64,
    capacity: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(rate: f64, burst: Duration) -> Option<Self> {
        (rate > 0.0).then(|| Buckets {
            rate,
            capacity: (rate * burst.as_secs_f64()).max(1.0),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes `cost` if the bucket is not in debt; `Err(wait)` says how long until it is not.
    fn take(&self, key: &K, cost: f64, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (rate, capacity) = (self.rate, self.capacity);
            buckets.retain(|_, b| {
                b.refill(now, rate, capacity);
                b.tokens < capacity
            });
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket { tokens: self.capacity, at: now });
        bucket.refill(now, self.rate, self.capacity);
        if bucket.tokens < cost.min(self.capacity) {
            let short = cost.min(self.capacity) - bucket.tokens;
            return Err(Duration::from_secs_f64(short / self.rate));
        }
        bucket.tokens -= cost;
        Ok(())
    }

    /// Charges `cost` after the fact, into debt if need be.
    fn charge(&self, key: &K, cost: f64, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(key) {
            bucket.refill(now, self.rate, self.capacity);
            bucket.tokens -= cost;
        }
    }
}

/// A request and byte limit for keys of type `K`.
#[derive(Debug)]
pub struct KeyedLimit<K> {
    requests: Option<Buckets<K>>,
    bytes: Option<Buckets<K>>,
}

/// Which limit refused a request (the `limit` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// Requests per second.
    Requests,
    /// Bytes per second.
    Bytes,
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    /// The limit as configured; `None` when it limits nothing.
    pub fn new(config: &RateLimit) -> Option<Self> {
        let requests = Buckets::new(config.requests_per_second, config.burst);
        let bytes = Buckets::new(config.bytes_per_second.as_u64() as f64, config.burst);
        (requests.is_some() || bytes.is_some()).then_some(KeyedLimit { requests, bytes })
    }

    /// Admits one request for `key`, or says which limit it is over and how long to wait.
    pub fn admit(&self, key: &K) -> Result<(), (Exceeded, Duration)> {
        let now = Instant::now();
        if let Some(bytes) = &self.bytes {
            // Nothing taken yet: a bucket in debt refuses until it has paid it back.
            bytes.take(key, 0.0, now).map_err(|wait| (Exceeded::Bytes, wait))?;
        }
        if let Some(requests) = &self.requests {
            requests.take(key, 1.0, now).map_err(|wait| (Exceeded::Requests, wait))?;
        }
        Ok(())
    }

    /// Charges bytes read for `key`.
    pub fn charge_bytes(&self, key: &K, bytes: u64) {
        if let Some(b) = &self.bytes {
            b.charge(key, bytes as f64, Instant::now());
        }
    }

    /// Whether bytes are limited (only then need bodies be counted).
    pub fn limits_bytes(&self) -> bool {
        self.bytes.is_some()
    }
}

#[cfg(test)]
mod tests {
    use bytesize::ByteSize;

    use super::*;

    #[test]
    fn requests_beyond_the_burst_are_refused_until_the_bucket_refills() {
        let limit = RateLimit { requests_per_second: 10.0, burst: Duration::from_secs(1), ..RateLimit::default() };
        let limit = KeyedLimit::new(&limit).expect("valid test input");
        for _ in 0..10 {
            limit.admit(&"a").expect("valid test input");
        }
        let (which, wait) = limit.admit(&"a").expect_err("should fail");
        assert_eq!(which, Exceeded::Requests);
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        limit.admit(&"b").expect("valid test input");
    }

    #[test]
    fn bytes_are_charged_after_the_fact_and_debt_refuses_the_next_request() {
        let limit =
            RateLimit { bytes_per_second: ByteSize::kib(1), burst: Duration::from_secs(1), ..RateLimit::default() };
        let limit = KeyedLimit::new(&limit).expect("valid test input");
        limit.admit(&1).expect("valid test input");
        limit.charge_bytes(&1, 4096);
        let (which, wait) = limit.admit(&1).expect_err("should fail");
        assert_eq!(which, Exceeded::Bytes);
        assert!(wait >= Duration::from_secs(2), "{wait:?}");
        assert!(KeyedLimit::<u8>::new(&RateLimit::default()).is_none());
    }
}
