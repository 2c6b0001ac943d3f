//! The leader lease: one replica at a time evaluates agent health and sends the alerts of
//! shared state (agent states, budget thresholds), so that each goes out once whatever the
//! number of replicas. The well-known single-instance Redis lock: `SET key id NX PX ttl` to
//! take it, renewed by its holder only (compare and extend in one script). A replica believes
//! it holds the lease only until `ttl` after its last successful renewal, less a margin, so
//! that two replicas never both believe it (given clocks that run at the same rate).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::link::RedisLink;
use crate::derived_metrics::{DerivedRegistry, GaugeFamily, SeriesLimits};

const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// Whether this replica holds the lease now: what the holders of shared alerts ask.
pub trait Leadership: Send + Sync + std::fmt::Debug {
    /// True while this replica holds the lease.
    fn held(&self) -> bool;
}

impl Leadership for Lease {
    fn held(&self) -> bool {
        Lease::held(self)
    }
}

/// This replica's claim on the lease.
#[derive(Debug)]
pub struct Lease {
    link: Arc<RedisLink>,
    id: String,
    held: AtomicBool,
    valid_until: Mutex<Option<Instant>>,
    gauge: Arc<GaugeFamily>,
}

impl Lease {
    /// A lease not yet taken, under a random identity of this replica.
    pub fn new(link: Arc<RedisLink>, registry: &DerivedRegistry) -> Arc<Lease> {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let id = format!("{host}/{}/{:016x}", std::process::id(), fastrand::u64(..));
        let gauge = registry.gauge(
            "seedwatch_redis_leader",
            "1 on the replica that holds the lease: it evaluates agent health and sends shared-state alerts",
            &[],
            SeriesLimits { max_series: 1, ttl: Duration::MAX },
        );
        gauge.set(&[], 0.0);
        Arc::new(Lease { link, id, held: AtomicBool::new(false), valid_until: Mutex::new(None), gauge })
    }

    /// This replica's identity in the lease.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Takes or renews the lease; returns whether this replica holds it now.
    pub fn renew(&self) -> bool {
        let ttl = self.link.config().lease_ttl;
        let started = Instant::now();
        let key = self.link.key("leader");
        let got = self.link.call("lease", |c| {
            redis::Script::new(RENEW).key(&key).arg(&self.id).arg(ttl.as_millis() as u64).invoke::<i64>(c)
        });
        let mut until = self.valid_until.lock().unwrap_or_else(|p| p.into_inner());
        match got {
            Ok(1) => *until = Some(started + ttl.mul_f64(0.8)),
            Ok(_) => *until = None,
            // Unknown: keep believing only until the last renewal runs out.
            Err(_) => {}
        }
        drop(until);
        self.held()
    }

    /// Whether this replica holds the lease now.
    pub fn held(&self) -> bool {
        let now_held = self.valid_until.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|u| Instant::now() < u);
        let before = self.held.swap(now_held, Ordering::Relaxed);
        if before != now_held {
            self.gauge.set(&[], if now_held { 1.0 } else { 0.0 });
            if now_held {
                tracing::info!(id = %self.id, "this replica now holds the shared-state lease");
            } else {
                tracing::info!(id = %self.id, "this replica no longer holds the shared-state lease");
            }
        }
        now_held
    }

    /// Gives the lease up (at shutdown), so that another replica takes over at once.
    pub fn release(&self) {
        *self.valid_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let key = self.link.key("leader");
        let _ = self.link.call("lease", |c| redis::Script::new(RELEASE).key(&key).arg(&self.id).invoke::<i64>(c));
        self.held();
    }
}
