//! Every agent instance seen through any signal, with what decides its health; re-evaluated
//! each tick. State changes update the series, become log records for the exporters, and are
//! returned to the caller (alert delivery).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hashbrown::{Equivalent, HashMap};
use serde::{Deserialize, Serialize};

use super::config::AgentHealthConfig;
use super::records::state_change_records;
use super::state::{HealthState, Observed, evaluate};
use super::window::RateWindow;
use crate::alerting::{Alert, AlertCenter, severity};
use crate::clock::unix_now;
use crate::derived_metrics::{CounterFamily, GaugeFamily};
use crate::processors::LogEmitter;

/// Self-reported checks kept per instance; more are ignored (and say so in the reasons).
const MAX_CHECKS: usize = 32;

/// What one batch of spans showed of an instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Tool calls.
    pub tool_calls: u32,
    /// Tool calls that failed.
    pub tool_errors: u32,
    /// LLM calls.
    pub llm_calls: u32,
    /// LLM calls that failed.
    pub llm_errors: u32,
}

/// A state change of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    /// `service.name`.
    pub service: String,
    /// `service.instance.id` (else `host.name`).
    pub instance: String,
    /// The state before (`None` when the instance is new).
    pub from: Option<HealthState>,
    /// The state now.
    pub to: HealthState,
    /// Why (empty when healthy).
    pub reasons: Vec<String>,
    /// Unix seconds.
    pub at: f64,
}

/// One instance as `GET /api/v1/agents` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentView {
    /// `service.name`.
    pub service: String,
    /// `service.instance.id` (else `host.name`).
    pub instance: String,
    /// Current state.
    pub state: HealthState,
    /// Why (empty when healthy).
    pub reasons: Vec<String>,
    /// Unix seconds of the last telemetry.
    pub last_seen: f64,
    /// Unix seconds since when the state holds.
    pub since: f64,
    /// Tool calls per second over the window.
    pub tool_call_rate: f64,
    /// Tool errors per second over the window.
    pub tool_error_rate: f64,
    /// LLM calls per second over the window.
    pub llm_call_rate: f64,
    /// LLM errors per second over the window.
    pub llm_error_rate: f64,
    /// Last reported memory, bytes.
    pub memory_bytes: Option<f64>,
    /// The agent's own checks and their state.
    pub checks: BTreeMap<String, HealthState>,
}

/// How many instances are in each state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentCounts {
    /// Instances tracked.
    pub total: usize,
    /// Healthy.
    pub healthy: usize,
    /// Degraded.
    pub degraded: usize,
    /// Unhealthy.
    pub unhealthy: usize,
    /// Down.
    pub down: usize,
}

/// The series the tracker keeps.
#[derive(Debug)]
pub struct TrackerMetrics {
    /// `{ns}_agent_up{service,instance}`: 0 when down.
    pub up: Arc<GaugeFamily>,
    /// `{ns}_agent_health_state{service,instance,state}`: 1 for the current state, 0 for the others.
    pub state: Arc<GaugeFamily>,
    /// `seedwatch_agent_state_changes_total{state}`.
    pub changes: Arc<CounterFamily>,
    /// `seedwatch_agents_forgotten_total{reason}`: retention or capacity.
    pub forgotten: Arc<CounterFamily>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    service: Box<str>,
    instance: Box<str>,
}

struct KeyRef<'a>(&'a str, &'a str);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (&*self.service, &*self.instance).hash(state);
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0, self.1).hash(state);
    }
}

impl From<&KeyRef<'_>> for Key {
    fn from(r: &KeyRef<'_>) -> Self {
        Key { service: r.0.into(), instance: r.1.into() }
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        *key.service == *self.0 && *key.instance == *self.1
    }
}

#[derive(Debug)]
struct Agent {
    /// Since the tracker's origin.
    last_seen: Duration,
    last_seen_unix: f64,
    tool_calls: RateWindow,
    tool_errors: RateWindow,
    llm_calls: RateWindow,
    llm_errors: RateWindow,
    memory: Option<f64>,
    checks: BTreeMap<String, HealthState>,
    /// `None` until first evaluated.
    state: Option<HealthState>,
    reasons: Vec<String>,
    since_unix: f64,
}

/// The per-instance health tracker, shared by the processor that feeds it and the admin API.
#[derive(Debug)]
pub struct AgentTracker {
    config: AgentHealthConfig,
    origin: Instant,
    agents: Mutex<HashMap<Key, Agent>>,
    metrics: TrackerMetrics,
    emitter: Option<LogEmitter>,
    alerts: Option<Arc<AlertCenter>>,
}

impl AgentTracker {
    /// A tracker with no instances yet; state changes go to `emitter` as log records, and
    /// unhealthy or down instances raise alerts in `alerts`.
    pub fn new(
        config: AgentHealthConfig,
        metrics: TrackerMetrics,
        emitter: Option<LogEmitter>,
        alerts: Option<Arc<AlertCenter>>,
    ) -> Self {
        AgentTracker { config, origin: Instant::now(), agents: Mutex::new(HashMap::new()), metrics, emitter, alerts }
    }

    /// The thresholds in use.
    pub fn config(&self) -> &AgentHealthConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Agent>> {
        self.agents.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn since_origin(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.origin)
    }

    /// Updates (creating if needed) an instance heard from at `now`.
    fn touch(&self, service: &str, instance: &str, now: Instant, f: impl FnOnce(&mut Agent, Duration, Duration)) {
        let at = self.since_origin(now);
        let window = self.config.window;
        let wall = unix_now();
        let mut agents = self.lock();
        if !agents.contains_key(&KeyRef(service, instance)) && agents.len() >= self.config.max_agents {
            self.forget_longest_silent(&mut agents);
        }
        let agent = agents.entry_ref(&KeyRef(service, instance)).or_insert_with(|| Agent {
            last_seen: at,
            last_seen_unix: wall,
            tool_calls: RateWindow::default(),
            tool_errors: RateWindow::default(),
            llm_calls: RateWindow::default(),
            llm_errors: RateWindow::default(),
            memory: None,
            checks: BTreeMap::new(),
            state: None,
            reasons: Vec::new(),
            since_unix: wall,
        });
        agent.last_seen = agent.last_seen.max(at);
        agent.last_seen_unix = wall;
        f(agent, at, window);
    }

    /// The instance sent something (any signal).
    pub fn seen(&self, service: &str, instance: &str, now: Instant) {
        self.touch(service, instance, now, |_, _, _| {});
    }

    /// The instance sent spans showing this activity.
    pub fn activity(&self, service: &str, instance: &str, a: Activity, now: Instant) {
        self.touch(service, instance, now, |agent, at, window| {
            agent.tool_calls.add(at, window, a.tool_calls);
            agent.tool_errors.add(at, window, a.tool_errors);
            agent.llm_calls.add(at, window, a.llm_calls);
            agent.llm_errors.add(at, window, a.llm_errors);
        });
    }

    /// The instance reported its memory use.
    pub fn memory(&self, service: &str, instance: &str, bytes: f64, now: Instant) {
        if bytes.is_finite() && bytes >= 0.0 {
            self.touch(service, instance, now, |agent, _, _| agent.memory = Some(bytes));
        }
    }

    /// The instance reported the result of one of its own health checks.
    pub fn reported(&self, service: &str, instance: &str, check: &str, state: HealthState, now: Instant) {
        self.touch(service, instance, now, |agent, _, _| {
            if agent.checks.len() < MAX_CHECKS || agent.checks.contains_key(check) {
                agent.checks.insert(check.to_owned(), state);
            }
        });
    }

    fn observed(&self, agent: &Agent, at: Duration) -> Observed {
        let window = self.config.window;
        Observed {
            silent_seconds: at.saturating_sub(agent.last_seen).as_secs_f64(),
            tool_error_rate: agent.tool_errors.rate(at, window),
            llm_error_rate: agent.llm_errors.rate(at, window),
            memory_bytes: agent.memory,
            failing_checks: agent
                .checks
                .iter()
                .filter(|(_, s)| **s != HealthState::Healthy)
                .map(|(c, s)| (c.clone(), *s))
                .collect(),
        }
    }

    /// Re-evaluates every instance at `now`, forgets those unseen for the retention period,
    /// and returns the state changes (also emitted as log records and counted).
    pub fn tick(&self, now: Instant) -> Vec<StateChange> {
        let at = self.since_origin(now);
        let mut changes = Vec::new();
        let expired: Vec<Key>;
        {
            let mut agents = self.lock();
            let retention = self.config.retention;
            expired = agents
                .iter()
                .filter(|(_, a)| at.saturating_sub(a.last_seen) > retention)
                .map(|(k, _)| k.clone())
                .collect();
            for key in &expired {
                agents.remove(key);
                self.remove_series(key);
                self.metrics.forgotten.inc(&["retention"], 1.0);
            }
            for (key, agent) in agents.iter_mut() {
                let (state, reasons) = evaluate(&self.observed(agent, at), &self.config);
                let from = agent.state;
                agent.reasons = reasons;
                if from == Some(state) {
                    continue;
                }
                agent.state = Some(state);
                agent.since_unix = unix_now();
                self.set_series(key, state);
                self.metrics.changes.inc(&[state.as_str()], 1.0);
                // A new instance that is healthy is not news.
                if from.is_some() || state != HealthState::Healthy {
                    changes.push(StateChange {
                        service: key.service.to_string(),
                        instance: key.instance.to_string(),
                        from,
                        to: state,
                        reasons: agent.reasons.clone(),
                        at: agent.since_unix,
                    });
                }
            }
        }
        if let Some(alerts) = &self.alerts {
            for c in &changes {
                raise_or_resolve(alerts, c);
            }
            for key in &expired {
                let labels = [("scope", "agent"), ("service", &*key.service), ("instance", &*key.instance)];
                alerts.resolve(&labels, "the instance was forgotten after the retention period");
            }
        }
        if !changes.is_empty()
            && let Some(emitter) = &self.emitter
        {
            for c in &changes {
                tracing::info!(service = %c.service, instance = %c.instance, from = ?c.from, to = %c.to,
                    reasons = ?c.reasons, "agent health changed");
            }
            if !emitter.try_emit(state_change_records(&changes)) {
                tracing::warn!(changes = changes.len(), "agent state-change records dropped: the logs queue is full");
            }
        }
        changes
    }

    fn set_series(&self, key: &Key, state: HealthState) {
        let (s, i) = (&*key.service, &*key.instance);
        self.metrics.up.set(&[s, i], if state == HealthState::Down { 0.0 } else { 1.0 });
        for candidate in HealthState::ALL {
            self.metrics.state.set(&[s, i, candidate.as_str()], if candidate == state { 1.0 } else { 0.0 });
        }
    }

    fn remove_series(&self, key: &Key) {
        let (s, i) = (&*key.service, &*key.instance);
        self.metrics.up.remove(&[s, i]);
        for candidate in HealthState::ALL {
            self.metrics.state.remove(&[s, i, candidate.as_str()]);
        }
    }

    fn forget_longest_silent(&self, agents: &mut HashMap<Key, Agent>) {
        let oldest = agents.iter().min_by_key(|(_, a)| a.last_seen).map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            agents.remove(&key);
            self.remove_series(&key);
            self.metrics.forgotten.inc(&["capacity"], 1.0);
            if let Some(alerts) = &self.alerts {
                let labels = [("scope", "agent"), ("service", &*key.service), ("instance", &*key.instance)];
                alerts.resolve(&labels, "the instance was forgotten to make room for others");
            }
        }
    }

    /// Every instance, worst state first, then by service and instance.
    pub fn snapshot(&self, now: Instant) -> Vec<AgentView> {
        let at = self.since_origin(now);
        let window = self.config.window;
        let agents = self.lock();
        let mut out: Vec<AgentView> = agents
            .iter()
            .map(|(key, a)| AgentView {
                service: key.service.to_string(),
                instance: key.instance.to_string(),
                state: a.state.unwrap_or(HealthState::Healthy),
                reasons: a.reasons.clone(),
                last_seen: a.last_seen_unix,
                since: a.since_unix,
                tool_call_rate: a.tool_calls.rate(at, window),
                tool_error_rate: a.tool_errors.rate(at, window),
                llm_call_rate: a.llm_calls.rate(at, window),
                llm_error_rate: a.llm_errors.rate(at, window),
                memory_bytes: a.memory,
                checks: a.checks.clone(),
            })
            .collect();
        out.sort_by(|a, b| {
            b.state.cmp(&a.state).then_with(|| (&a.service, &a.instance).cmp(&(&b.service, &b.instance)))
        });
        out
    }

    /// How many instances are in each state.
    pub fn counts(&self) -> AgentCounts {
        let agents = self.lock();
        let mut c = AgentCounts { total: agents.len(), ..Default::default() };
        for a in agents.values() {
            match a.state.unwrap_or(HealthState::Healthy) {
                HealthState::Healthy => c.healthy += 1,
                HealthState::Degraded => c.degraded += 1,
                HealthState::Unhealthy => c.unhealthy += 1,
                HealthState::Down => c.down += 1,
            }
        }
        c
    }
}

/// `AgentDown` while down, `AgentUnhealthy` while unhealthy (both critical); the other is
/// resolved, and both on recovery.
fn raise_or_resolve(alerts: &AlertCenter, c: &StateChange) {
    let who = [("service", c.service.as_str()), ("instance", c.instance.as_str())];
    let matcher = |name: &'static str| [("alertname", name), ("scope", "agent"), who[0], who[1]];
    let description = if c.reasons.is_empty() { "no reason recorded".to_owned() } else { c.reasons.join("; ") };
    let (fire, resolve): (Option<(&str, &str)>, &[&str]) = match c.to {
        HealthState::Down => (Some((DOWN, "is down")), &[UNHEALTHY]),
        HealthState::Unhealthy => (Some((UNHEALTHY, "is unhealthy")), &[DOWN]),
        HealthState::Healthy | HealthState::Degraded => (None, &[DOWN, UNHEALTHY]),
    };
    for name in resolve {
        alerts.resolve(&matcher(name), &format!("the agent is {} now", c.to));
    }
    if let Some((name, what)) = fire {
        let summary = format!("Agent {}/{} {what}", c.service, c.instance);
        alerts.fire(Alert::new(name, severity::CRITICAL, "agent", &who, summary, description));
    }
}

/// `alertname` of an instance that is down.
pub const DOWN: &str = "AgentDown";
/// `alertname` of an instance that is unhealthy.
pub const UNHEALTHY: &str = "AgentUnhealthy";
