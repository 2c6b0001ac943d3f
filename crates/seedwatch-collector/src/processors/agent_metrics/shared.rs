//! Hooking this processor's agent health and workflow roll-up into the state replicas share
//! through Redis (see `crate::shared`): one participant each in the sync thread.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::rollup::Rollup;
use crate::agents::{AgentTracker, RateWindow, SharedAgentState};
use crate::shared::{Participant, RedisLink, agents, workflows};

/// Workflows claimed per script call; more calls follow while a claim comes back full.
const CLAIM_BATCH: usize = 1000;
/// Traces per push: Redis runs one script at a time, so a push is cut to keep each short.
const PUSH_BATCH: usize = 2000;

/// Verdicts and forgotten instances (service, instance) not yet written to Redis.
type Unpublished = (Vec<SharedAgentState>, Vec<(String, String)>);

/// The agent tracker's exchange.
#[derive(Debug)]
pub(super) struct AgentsSync {
    tracker: Arc<AgentTracker>,
    /// (last change seen, verdicts' version seen).
    seen: Mutex<(i64, i64)>,
    /// Verdicts the lease holder could not write yet.
    unpublished: Mutex<Unpublished>,
    /// Whether this replica's alert center has the agents' alerts: only while it holds the
    /// lease (on losing it they are dropped, even while Redis is unreachable).
    announced: Mutex<bool>,
}

impl AgentsSync {
    pub(super) fn new(tracker: Arc<AgentTracker>) -> Self {
        tracker.share();
        AgentsSync { tracker, seen: Mutex::new((0, -1)), unpublished: Mutex::default(), announced: Mutex::new(false) }
    }

    fn now_unix() -> Duration {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
    }
}

impl Participant for AgentsSync {
    fn sync(&self, link: &RedisLink, lead: bool) {
        let mut announced = self.announced.lock().unwrap_or_else(|p| p.into_inner());
        if !lead && *announced {
            self.tracker.withdraw_alerts();
            *announced = false;
        }
        let config = self.tracker.config();
        let now = Instant::now();
        let oldest = RateWindow::oldest_bucket(Self::now_unix(), config.window);
        let keep = config.retention.as_secs() + config.window.as_secs();
        let deltas = self.tracker.take_deltas();
        let (seq, statever) = *self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // The lease holder makes the verdicts: it reads them back only when it just took over.
        let ask_statever = if lead && *announced { i64::MIN } else { statever };
        let synced = match agents::sync(link, &deltas, seq, ask_statever, oldest, keep) {
            Ok(s) => s,
            Err(_) => {
                self.tracker.restore(deltas);
                return;
            }
        };
        self.tracker.merge(synced.agents, now);
        if let Some(states) = &synced.states {
            self.tracker.adopt(states, now);
        }
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = (synced.seq, synced.statever);
        if lead {
            if !*announced {
                self.tracker.announce_current();
                *announced = true;
            }
            let (states, expired) = self.tracker.evaluate_shared(now);
            let mut unpublished = self.unpublished.lock().unwrap_or_else(|p| p.into_inner());
            unpublished.0.extend(states);
            unpublished.1.extend(expired);
            if agents::publish_states(link, &unpublished.0, &unpublished.1).is_ok() {
                *unpublished = Default::default();
            }
        }
    }

    fn finish(&self, link: &RedisLink) {
        let deltas = self.tracker.take_deltas();
        let oldest = RateWindow::oldest_bucket(Self::now_unix(), self.tracker.config().window);
        let keep = self.tracker.config().retention.as_secs();
        if agents::sync(link, &deltas, i64::MAX, i64::MIN, oldest, keep).is_err() {
            tracing::warn!(instances = deltas.len(), "agent observations not handed to redis at shutdown");
        }
    }
}

/// The workflow roll-up's exchange.
#[derive(Debug)]
pub(super) struct WorkflowsSync {
    rollup: Arc<Rollup>,
    idle: Duration,
    max_wait: Duration,
}

impl WorkflowsSync {
    pub(super) fn new(rollup: Arc<Rollup>, idle: Duration, max_wait: Duration) -> Self {
        rollup.share();
        WorkflowsSync { rollup, idle, max_wait }
    }

    fn push(&self, link: &RedisLink) -> bool {
        let mut deltas = self.rollup.take_deltas();
        let keep = (self.max_wait * 2 + self.idle).as_millis() as u64;
        let mut sent = 0;
        while sent < deltas.len() {
            let chunk = &deltas[sent..(sent + PUSH_BATCH).min(deltas.len())];
            if workflows::push(link, chunk, keep).is_err() {
                self.rollup.restore(deltas.split_off(sent));
                return false;
            }
            sent += chunk.len();
        }
        true
    }
}

impl Participant for WorkflowsSync {
    fn sync(&self, link: &RedisLink, _lead: bool) {
        if !self.push(link) {
            return;
        }
        for _ in 0..10 {
            match workflows::claim(link, self.idle.as_millis() as u64, self.max_wait.as_millis() as u64, CLAIM_BATCH) {
                Ok(claimed) => {
                    let full = claimed.len() == CLAIM_BATCH;
                    self.rollup.close_claimed(claimed);
                    if !full {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }

    fn finish(&self, link: &RedisLink) {
        if !self.push(link) {
            tracing::warn!("workflow contributions not handed to redis at shutdown");
        }
    }
}
