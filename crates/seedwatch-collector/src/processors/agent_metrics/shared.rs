//! Hooking this processor's agent health and workflow roll-up into the state replicas share
//! through Redis (see `crate::shared`): one participant each in the sync thread.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::rollup::Rollup;
use crate::agents::{AgentTracker, RateWindow, SharedAgentState};
use crate::shared::{Participant, RedisLink, agents, workflows};

/// Workflows claimed per script call; more calls follow while a claim comes back full.
const CLAIM_BATCH: usize = 1000;

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
}

impl AgentsSync {
    pub(super) fn new(tracker: Arc<AgentTracker>) -> Self {
        tracker.share();
        AgentsSync { tracker, seen: Mutex::new((0, -1)), unpublished: Mutex::default() }
    }

    fn now_unix() -> Duration {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
    }
}

impl Participant for AgentsSync {
    fn sync(&self, link: &RedisLink, lead: bool, lead_changed: bool) {
        let config = self.tracker.config();
        let now = Instant::now();
        let oldest = RateWindow::oldest_bucket(Self::now_unix(), config.window);
        let keep = config.retention.as_secs() + config.window.as_secs();
        let deltas = self.tracker.take_deltas();
        let (seq, statever) = *self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // The lease holder makes the verdicts: it does not read them back.
        let ask_statever = if lead && !lead_changed { i64::MIN } else { statever };
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
            if lead_changed {
                self.tracker.announce_current();
            }
            let (states, expired) = self.tracker.evaluate_shared(now);
            let mut unpublished = self.unpublished.lock().unwrap_or_else(|p| p.into_inner());
            unpublished.0.extend(states);
            unpublished.1.extend(expired);
            if agents::publish_states(link, &unpublished.0, &unpublished.1).is_ok() {
                *unpublished = Default::default();
            }
        } else if lead_changed {
            self.tracker.withdraw_alerts();
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
        let deltas = self.rollup.take_deltas();
        let keep = (self.max_wait * 2 + self.idle).as_millis() as u64;
        match workflows::push(link, &deltas, keep) {
            Ok(()) => true,
            Err(_) => {
                self.rollup.restore(deltas);
                false
            }
        }
    }
}

impl Participant for WorkflowsSync {
    fn sync(&self, link: &RedisLink, _lead: bool, _lead_changed: bool) {
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
