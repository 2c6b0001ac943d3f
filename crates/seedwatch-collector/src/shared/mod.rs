//! State several collector replicas share through Redis (`redis.url`, or
//! `SEEDWATCH_REDIS_URL` with the embedded config): budget spend with its replay protection,
//! agent health, and the workflow roll-up. docs/replicas.md has the picture; in short:
//!
//! - **Budgets** ([`spend`]): every flush sends the spans charged since the last one in one
//!   script call; Redis charges each span once by its mark; batches Redis does not take wait
//!   in the local [`outbox`] (redb) and go when it is back.
//! - **Agent health** ([`agents`]): each replica sends its observations every sync and reads
//!   back every replica's, merged; the holder of the [`lease`] evaluates and announces state
//!   changes once; the others adopt its verdicts.
//! - **Workflow roll-up** ([`workflows`]): contributions are added per trace in Redis, and
//!   closing is an atomic claim, so each summary is emitted once.
//!
//! The span path never waits on Redis: everything goes in batches from the flusher and from
//! one sync thread ([`SharedState::spawn`]).

pub mod agents;
mod config;
mod lease;
mod link;
mod outbox;
pub mod spend;
pub mod workflows;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use config::{RedisConfig, RedisTls};
pub use lease::{Leadership, Lease};
pub use link::{HEALTH_NAME, RedisLink, SharedError};
pub use outbox::Outbox;
pub use spend::{RedisSpendStore, from_pico, to_pico};
pub use workflows::{Claimed, WorkflowDelta};

use crate::derived_metrics::DerivedRegistry;
use crate::health::Health;

/// Something that exchanges its state with Redis at every sync.
pub trait Participant: Send + Sync + std::fmt::Debug {
    /// One exchange; `lead`: this replica holds the lease.
    fn sync(&self, link: &RedisLink, lead: bool);
    /// At shutdown: hands what is still held here to Redis, for the other replicas.
    fn finish(&self, link: &RedisLink);
}

/// The link, the lease and what syncs through them.
#[derive(Debug)]
pub struct SharedState {
    link: Arc<RedisLink>,
    lease: Arc<Lease>,
    participants: Mutex<Vec<Arc<dyn Participant>>>,
    stop: AtomicBool,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl SharedState {
    /// Sets up the link (nothing is connected until the first call) and the lease.
    pub fn new(
        config: RedisConfig,
        registry: &DerivedRegistry,
        health: Option<Arc<Health>>,
    ) -> Result<Arc<SharedState>, SharedError> {
        let link = RedisLink::new(config, registry, health)?;
        let lease = Lease::new(link.clone(), registry);
        Ok(Arc::new(SharedState {
            link,
            lease,
            participants: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            thread: Mutex::new(None),
        }))
    }

    /// The connection.
    pub fn link(&self) -> &Arc<RedisLink> {
        &self.link
    }

    /// The lease.
    pub fn lease(&self) -> &Arc<Lease> {
        &self.lease
    }

    /// Adds a participant to every sync.
    pub fn add(&self, participant: Arc<dyn Participant>) {
        self.participants.lock().unwrap_or_else(|p| p.into_inner()).push(participant);
    }

    fn participants(&self) -> Vec<Arc<dyn Participant>> {
        self.participants.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts the sync thread: every `sync_interval` it renews the lease and runs each
    /// participant's exchange.
    pub fn spawn(self: &Arc<Self>) {
        let me = self.clone();
        let spawned = std::thread::Builder::new().name("seedwatch-shared-sync".into()).spawn(move || {
            let interval = me.link.config().sync_interval;
            while !me.stop.load(Ordering::Relaxed) {
                let started = std::time::Instant::now();
                let lead = me.lease.renew();
                for p in me.participants() {
                    p.sync(&me.link, lead);
                }
                let rest = interval.saturating_sub(started.elapsed()).max(Duration::from_millis(10));
                me.sleep(rest);
            }
        });
        match spawned {
            Ok(handle) => *self.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle),
            Err(e) => tracing::error!(error = %e, "cannot start the shared-state sync thread"),
        }
    }

    /// Sleeps up to `d`, waking early when stopped.
    fn sleep(&self, d: Duration) {
        let step = Duration::from_millis(50);
        let end = std::time::Instant::now() + d;
        while !self.stop.load(Ordering::Relaxed) {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(step));
        }
    }

    /// Stops the sync thread, hands what is held here to Redis and gives the lease up.
    /// Blocks (on Redis): call it off the async workers.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        for p in self.participants() {
            p.finish(&self.link);
        }
        self.lease.release();
    }
}
