//! The tracker's side of shared state (`redis`): what this replica observed goes out as
//! deltas, every replica's observations come back merged, and the replica holding the lease
//! evaluates them; the others adopt its verdicts, so that an instance's state is the same on
//! every replica whichever received its telemetry, and each change is announced once.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Agent, AgentTracker, Key, KeyRef, StateChange, raise_or_resolve};
use crate::agents::state::HealthState;
use crate::agents::window::RateWindow;
use crate::limits::StringKind;

/// What this replica observed of one instance since its last sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDelta {
    /// `service.name`.
    pub service: String,
    /// The instance.
    pub instance: String,
    /// Last seen, seconds since the Unix epoch.
    pub seen: f64,
    /// Memory reported, bytes.
    pub memory: Option<f64>,
    /// CPU reported, percent of one core.
    pub cpu: Option<f64>,
    /// Its own checks as last reported.
    pub checks: Vec<(String, HealthState)>,
    /// Activity by window bucket: tool calls, tool errors, LLM calls, LLM errors.
    pub buckets: Vec<(u64, [u32; 4])>,
}

/// One instance as every replica observed it together.
pub type SharedAgent = AgentDelta;

/// The lease holder's verdict on one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedAgentState {
    /// `service.name`.
    pub service: String,
    /// The instance.
    pub instance: String,
    /// The state.
    pub state: HealthState,
    /// Since when (Unix seconds).
    pub since: f64,
    /// Why.
    pub reasons: Vec<String>,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl AgentTracker {
    /// From now on the sync thread evaluates (see the module docs); `tick` does nothing.
    pub fn share(&self) {
        self.shared.store(true, Ordering::Relaxed);
    }

    /// What changed since the last call, per instance; taken out of the tracker (give it back
    /// with [`AgentTracker::restore`] if it could not be sent).
    pub fn take_deltas(&self) -> Vec<AgentDelta> {
        let mut agents = self.lock();
        agents
            .map
            .iter_mut()
            .filter(|(_, a)| a.dirty || !a.unsent.is_empty())
            .map(|(k, a)| {
                a.dirty = false;
                AgentDelta {
                    service: k.service.to_string(),
                    instance: k.instance.to_string(),
                    seen: secs(a.last_seen),
                    memory: a.memory,
                    cpu: a.cpu_percent,
                    checks: a.checks.iter().map(|(c, s)| (c.to_string(), *s)).collect(),
                    buckets: std::mem::take(&mut a.unsent),
                }
            })
            .collect()
    }

    /// Gives back deltas that could not be sent, to go with the next sync.
    pub fn restore(&self, deltas: Vec<AgentDelta>) {
        let mut agents = self.lock();
        for d in deltas {
            if let Some(a) = agents.map.get_mut(&KeyRef(&d.service, &d.instance)) {
                let mut buckets = d.buckets;
                buckets.append(&mut a.unsent);
                a.unsent = buckets;
                a.dirty = true;
            }
        }
    }

    /// Takes every replica's observations of these instances (creating those not tracked
    /// here while there is room): windows are the shared counts plus what is not sent yet.
    pub fn merge(&self, shared: Vec<SharedAgent>, now: Instant) {
        let at = self.since_origin(now);
        let window = self.config.window;
        let max_checks = self.config.max_checks_per_agent;
        let mut agents = self.lock();
        for s in shared {
            let service = self.strings.cap(&s.service, StringKind::Agent);
            let instance = self.strings.cap(&s.instance, StringKind::Agent);
            let key = KeyRef(&service, &instance);
            if agents.map.len() >= self.config.max_agents && !agents.map.contains_key(&key) {
                self.untracked(&mut agents, now);
                continue;
            }
            let seen = Duration::try_from_secs_f64(s.seen).unwrap_or_default();
            let agent = agents.map.entry_ref(&key).or_insert_with(|| {
                let mut a = Agent::new(seen, s.seen);
                a.dirty = false;
                a
            });
            if seen > agent.last_seen {
                agent.last_seen = seen.min(at);
                agent.last_seen_unix = s.seen;
            }
            agent.memory = s.memory.or(agent.memory);
            agent.cpu_percent = s.cpu.or(agent.cpu_percent);
            let checks: BTreeMap<Box<str>, HealthState> = s
                .checks
                .into_iter()
                .take(max_checks)
                .map(|(c, st)| (Box::from(&*self.strings.cap(&c, StringKind::Check)), st))
                .collect();
            if !checks.is_empty() {
                agent.checks = checks;
            }
            let oldest = RateWindow::oldest_bucket(at, window);
            let live = || s.buckets.iter().filter(|(b, _)| *b >= oldest);
            let unsent = || agent.unsent.iter().filter(|(b, _)| *b >= oldest);
            let column = |k: usize| -> Vec<(u64, u32)> { live().chain(unsent()).map(|(b, c)| (*b, c[k])).collect() };
            let columns = [column(0), column(1), column(2), column(3)];
            agent.tool_calls.replace(columns[0].iter().copied());
            agent.tool_errors.replace(columns[1].iter().copied());
            agent.llm_calls.replace(columns[2].iter().copied());
            agent.llm_errors.replace(columns[3].iter().copied());
        }
    }

    /// The lease holder: evaluates every instance at `now`, announces the changes (alerts and
    /// log records) and returns every new state, and the instances forgotten, for Redis.
    pub fn evaluate_shared(&self, now: Instant) -> (Vec<SharedAgentState>, Vec<(String, String)>) {
        let evaluated = self.evaluate(now);
        self.announce(&evaluated.changes, &evaluated.expired);
        let states = evaluated
            .entered
            .into_iter()
            .map(|(k, state, since, reasons)| SharedAgentState {
                service: k.service.to_string(),
                instance: k.instance.to_string(),
                state,
                since,
                reasons,
            })
            .collect();
        let expired = evaluated.expired.into_iter().map(|k| (k.service.to_string(), k.instance.to_string())).collect();
        (states, expired)
    }

    /// The other replicas: take the lease holder's verdicts, and forget instances unseen for
    /// the retention period (as it does).
    pub fn adopt(&self, states: &[SharedAgentState], now: Instant) {
        let at = self.since_origin(now);
        let mut agents = self.lock();
        for st in states {
            let service = self.strings.cap(&st.service, StringKind::Agent);
            let instance = self.strings.cap(&st.instance, StringKind::Agent);
            let key = KeyRef(&service, &instance);
            let Some(agent) = agents.map.get_mut(&key) else { continue };
            if agent.state != Some(st.state) {
                agent.state = Some(st.state);
                self.set_series(&Key::from(&key), st.state);
            }
            agent.since_unix = st.since;
            agent.reasons.clone_from(&st.reasons);
        }
        let retention = self.config.retention;
        let expired: Vec<Key> = agents
            .map
            .iter()
            .filter(|(_, a)| at.saturating_sub(a.last_seen) > retention)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            agents.map.remove(&key);
            self.remove_series(&key);
        }
    }

    /// On taking the lease: this replica's alert center gets the alerts of every instance
    /// that is down or unhealthy now (Alertmanager already has them from the previous holder:
    /// same labels, so no new notification).
    pub fn announce_current(&self) {
        let Some(alerts) = &self.alerts else { return };
        let current: Vec<StateChange> = self
            .lock()
            .map
            .iter()
            .filter(|(_, a)| a.state.is_some_and(HealthState::alerts))
            .map(|(k, a)| StateChange {
                service: k.service.to_string(),
                instance: k.instance.to_string(),
                from: a.state,
                to: a.current(),
                reasons: a.reasons.clone(),
                at: a.since_unix,
            })
            .collect();
        for c in &current {
            raise_or_resolve(alerts, c);
        }
    }

    /// On losing the lease: the new holder sends the agents' alerts from now on.
    pub fn withdraw_alerts(&self) {
        if let Some(alerts) = &self.alerts {
            alerts.forget(&[("scope", "agent")]);
        }
    }
}
