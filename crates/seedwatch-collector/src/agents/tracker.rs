//! Every agent instance seen through any signal, with what decides its health; re-evaluated
//! each tick. State changes update the series, become log records for the exporters, and are
//! returned to the caller (alert delivery).
//!
//! Bounded under floods: identities and check names are cut to `limits.max_string_bytes`, an
//! instance keeps at most `max_checks_per_agent` checks, and at most `max_agents` instances are
//! tracked. When the tracker is full a new instance is not tracked (counted) — a live instance
//! is never pushed out, and an alert is only ever resolved by recovery or, with the reason, by
//! `retention`.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hashbrown::{Equivalent, HashMap};

use super::config::AgentHealthConfig;
use super::records::state_change_records;
use super::state::{HealthState, Observed, evaluate};
use super::view::{AgentCounts, AgentPage, AgentView, PageRequest, Position};
use super::window::RateWindow;
use crate::alerting::{Alert, AlertCenter, severity};
use crate::clock::unix_now;
use crate::derived_metrics::{CounterFamily, DerivedRegistry, GaugeFamily, SeriesLimits};
use crate::limits::{StringCap, StringKind};
use crate::processors::LogEmitter;

mod sync;
pub use sync::{AgentDelta, SharedAgent, SharedAgentState};

/// How often, at most, the tracker logs that it is full.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(60);

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

/// The series the tracker keeps.
#[derive(Debug)]
pub struct TrackerMetrics {
    /// `{ns}_agent_up{service,instance}`: 0 when down.
    pub up: Arc<GaugeFamily>,
    /// `{ns}_agent_health_state{service,instance,state}`: 1 for the current state, 0 for the others.
    pub state: Arc<GaugeFamily>,
    /// `seedwatch_agent_state_changes_total{state}`.
    pub changes: Arc<CounterFamily>,
    /// `seedwatch_agents_forgotten_total{reason}`: retention.
    pub forgotten: Arc<CounterFamily>,
    /// `seedwatch_agents_untracked_total`: instances heard from while the tracker was full.
    pub untracked: Arc<CounterFamily>,
}

impl TrackerMetrics {
    /// Registers the series on `registry`: the per-instance ones under `namespace` with
    /// `limits`, the collector's own counters with `meta`.
    pub fn register(registry: &DerivedRegistry, namespace: &str, limits: SeriesLimits, meta: SeriesLimits) -> Self {
        TrackerMetrics {
            up: registry.gauge(
                &format!("{namespace}_agent_up"),
                "1 while the agent instance sends telemetry, 0 once it is down",
                &["service", "instance"],
                limits,
            ),
            state: registry.gauge(
                &format!("{namespace}_agent_health_state"),
                "1 for the agent instance's current health state, 0 for the others",
                &["service", "instance", "state"],
                limits,
            ),
            changes: registry.counter(
                "seedwatch_agent_state_changes",
                "Agent health state changes, by the state entered",
                &["state"],
                meta,
            ),
            forgotten: registry.counter(
                "seedwatch_agents_forgotten",
                "Agent instances forgotten: unseen for the retention period",
                &["reason"],
                meta,
            ),
            untracked: registry.counter(
                "seedwatch_agents_untracked",
                "Telemetry from agent instances not tracked because max_agents instances already were",
                &[],
                meta,
            ),
        }
    }
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
    /// Since the Unix epoch, by the tracker's monotonic clock.
    last_seen: Duration,
    last_seen_unix: f64,
    tool_calls: RateWindow,
    tool_errors: RateWindow,
    llm_calls: RateWindow,
    llm_errors: RateWindow,
    memory: Option<f64>,
    cpu_percent: Option<f64>,
    checks: BTreeMap<Box<str>, HealthState>,
    /// Checks reported beyond `max_checks_per_agent` (ignored).
    checks_ignored: bool,
    /// `None` until first evaluated.
    state: Option<HealthState>,
    reasons: Vec<String>,
    since_unix: f64,
    /// Shared state: activity not yet sent, by window bucket (tool calls, tool errors, LLM
    /// calls, LLM errors).
    unsent: Vec<(u64, [u32; 4])>,
    /// Shared state: something besides activity changed since the last sync.
    dirty: bool,
}

impl Agent {
    fn new(at: Duration, wall: f64) -> Self {
        Agent {
            last_seen: at,
            last_seen_unix: wall,
            tool_calls: RateWindow::default(),
            tool_errors: RateWindow::default(),
            llm_calls: RateWindow::default(),
            llm_errors: RateWindow::default(),
            memory: None,
            cpu_percent: None,
            checks: BTreeMap::new(),
            checks_ignored: false,
            state: None,
            reasons: Vec::new(),
            since_unix: wall,
            unsent: Vec::new(),
            dirty: true,
        }
    }

    fn current(&self) -> HealthState {
        self.state.unwrap_or(HealthState::Healthy)
    }
}

#[derive(Debug, Default)]
struct Agents {
    map: HashMap<Key, Agent>,
    /// Instances not tracked because the tracker was full, since start.
    untracked: u64,
    /// Untracked since the last warning, and when that was.
    untracked_unreported: u64,
    last_warning: Option<Instant>,
}

/// The per-instance health tracker, shared by the processor that feeds it and the admin API.
#[derive(Debug)]
pub struct AgentTracker {
    config: AgentHealthConfig,
    origin: Instant,
    /// `origin` as time since the Unix epoch: window buckets are numbered from the epoch, so
    /// that replicas sharing state number them alike.
    origin_unix: Duration,
    /// State is shared with other replicas: the sync thread evaluates (see `sync`).
    shared: AtomicBool,
    agents: Mutex<Agents>,
    metrics: TrackerMetrics,
    emitter: Option<LogEmitter>,
    alerts: Option<Arc<AlertCenter>>,
    strings: StringCap,
}

impl AgentTracker {
    /// A tracker with no instances yet; state changes go to `emitter` as log records, and
    /// unhealthy or down instances raise alerts in `alerts`. Identities and check names are
    /// cut by `strings`.
    pub fn new(
        config: AgentHealthConfig,
        metrics: TrackerMetrics,
        emitter: Option<LogEmitter>,
        alerts: Option<Arc<AlertCenter>>,
        strings: StringCap,
    ) -> Self {
        AgentTracker {
            config,
            origin: Instant::now(),
            origin_unix: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
            shared: AtomicBool::new(false),
            agents: Mutex::default(),
            metrics,
            emitter,
            alerts,
            strings,
        }
    }

    /// The thresholds in use.
    pub fn config(&self) -> &AgentHealthConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Agents> {
        self.agents.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn since_origin(&self, now: Instant) -> Duration {
        self.origin_unix + now.saturating_duration_since(self.origin)
    }

    /// Updates (creating if there is room) an instance heard from at `now`.
    fn touch(&self, service: &str, instance: &str, now: Instant, f: impl FnOnce(&mut Agent, Duration, Duration)) {
        let at = self.since_origin(now);
        let window = self.config.window;
        let wall = unix_now();
        let service = self.strings.cap(service, StringKind::Agent);
        let instance = self.strings.cap(instance, StringKind::Agent);
        let key = KeyRef(&service, &instance);
        let mut agents = self.lock();
        if agents.map.len() >= self.config.max_agents && !agents.map.contains_key(&key) {
            self.untracked(&mut agents, now);
            return;
        }
        let agent = agents.map.entry_ref(&key).or_insert_with(|| Agent::new(at, wall));
        agent.last_seen = agent.last_seen.max(at);
        agent.last_seen_unix = wall;
        agent.dirty = true;
        f(agent, at, window);
    }

    /// Counts an instance the full tracker could not take, warning at most once a minute.
    fn untracked(&self, agents: &mut Agents, now: Instant) {
        agents.untracked += 1;
        agents.untracked_unreported += 1;
        self.metrics.untracked.inc(&[], 1.0);
        if agents.last_warning.is_none_or(|last| now.saturating_duration_since(last) >= FULL_WARNING_EVERY) {
            tracing::warn!(
                max_agents = self.config.max_agents,
                untracked = agents.untracked_unreported,
                "the agent tracker is full: new instances are not tracked until silent ones pass the retention \
                 period (raise processors.agent_metrics.health.max_agents, or lower its retention)"
            );
            agents.last_warning = Some(now);
            agents.untracked_unreported = 0;
        }
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
            if self.shared.load(Ordering::Relaxed) {
                let bucket = RateWindow::bucket_number(at, window);
                let counts = [a.tool_calls, a.tool_errors, a.llm_calls, a.llm_errors];
                match agent.unsent.last_mut() {
                    Some((b, c)) if *b == bucket => {
                        c.iter_mut().zip(counts).for_each(|(c, n)| *c = c.saturating_add(n))
                    }
                    _ => agent.unsent.push((bucket, counts)),
                }
            }
        });
    }

    /// The instance reported its CPU use, in percent of one core.
    pub fn cpu(&self, service: &str, instance: &str, percent: f64, now: Instant) {
        if percent.is_finite() && percent >= 0.0 {
            self.touch(service, instance, now, |agent, _, _| agent.cpu_percent = Some(percent));
        }
    }

    /// The instance reported its memory use.
    pub fn memory(&self, service: &str, instance: &str, bytes: f64, now: Instant) {
        if bytes.is_finite() && bytes >= 0.0 {
            self.touch(service, instance, now, |agent, _, _| agent.memory = Some(bytes));
        }
    }

    /// The instance reported the result of one of its own health checks.
    pub fn reported(&self, service: &str, instance: &str, check: &str, state: HealthState, now: Instant) {
        let max_checks = self.config.max_checks_per_agent;
        let check = self.strings.cap(check, StringKind::Check);
        self.touch(service, instance, now, |agent, _, _| {
            if let Some(known) = agent.checks.get_mut(&*check) {
                *known = state;
            } else if agent.checks.len() < max_checks {
                agent.checks.insert(Box::from(&*check), state);
            } else {
                agent.checks_ignored = true;
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
                .map(|(c, s)| (c.to_string(), *s))
                .collect(),
        }
    }

    /// Re-evaluates every instance at `now`, forgets those unseen for the retention period,
    /// and returns the state changes (also emitted as log records and counted). With shared
    /// state this does nothing: the sync thread evaluates, on every replica's observations.
    pub fn tick(&self, now: Instant) -> Vec<StateChange> {
        if self.shared.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let evaluated = self.evaluate(now);
        self.announce(&evaluated.changes, &evaluated.expired);
        evaluated.changes
    }

    /// Re-evaluates every instance at `now` and forgets those unseen for the retention period.
    fn evaluate(&self, now: Instant) -> Evaluated {
        let at = self.since_origin(now);
        let mut changes = Vec::new();
        let mut entered = Vec::new();
        let expired: Vec<Key>;
        {
            let mut agents = self.lock();
            let retention = self.config.retention;
            expired = agents
                .map
                .iter()
                .filter(|(_, a)| at.saturating_sub(a.last_seen) > retention)
                .map(|(k, _)| k.clone())
                .collect();
            for key in &expired {
                agents.map.remove(key);
                self.remove_series(key);
                self.metrics.forgotten.inc(&["retention"], 1.0);
            }
            for (key, agent) in agents.map.iter_mut() {
                let (state, mut reasons) = evaluate(&self.observed(agent, at), &self.config);
                if agent.checks_ignored {
                    reasons.push(format!(
                        "reports more than {} checks; the others are ignored",
                        self.config.max_checks_per_agent
                    ));
                }
                let from = agent.state;
                agent.reasons = reasons;
                if from == Some(state) {
                    continue;
                }
                agent.state = Some(state);
                agent.since_unix = unix_now();
                self.set_series(key, state);
                self.metrics.changes.inc(&[state.as_str()], 1.0);
                entered.push((key.clone(), state, agent.since_unix, agent.reasons.clone()));
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
        Evaluated { changes, entered, expired }
    }

    /// Sends the alerts and log records of state changes and forgotten instances.
    fn announce(&self, changes: &[StateChange], expired: &[Key]) {
        if let Some(alerts) = &self.alerts {
            for c in changes {
                raise_or_resolve(alerts, c);
            }
            for key in expired {
                let labels = [("scope", "agent"), ("service", &*key.service), ("instance", &*key.instance)];
                alerts.resolve(&labels, "the instance was forgotten after the retention period");
            }
        }
        if !changes.is_empty()
            && let Some(emitter) = &self.emitter
        {
            for c in changes {
                tracing::info!(service = %c.service, instance = %c.instance, from = ?c.from, to = %c.to,
                    reasons = ?c.reasons, "agent health changed");
            }
            if !emitter.try_emit(state_change_records(changes)) {
                tracing::warn!(changes = changes.len(), "agent state-change records dropped: the logs queue is full");
            }
        }
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

    fn view(&self, key: &Key, a: &Agent, at: Duration) -> AgentView {
        let window = self.config.window;
        AgentView {
            service: key.service.to_string(),
            instance: key.instance.to_string(),
            state: a.current(),
            reasons: a.reasons.clone(),
            last_seen: a.last_seen_unix,
            since: a.since_unix,
            tool_call_rate: a.tool_calls.rate(at, window),
            tool_error_rate: a.tool_errors.rate(at, window),
            llm_call_rate: a.llm_calls.rate(at, window),
            llm_error_rate: a.llm_errors.rate(at, window),
            memory_bytes: a.memory,
            cpu_percent: a.cpu_percent,
            checks: a.checks.iter().map(|(c, s)| (c.to_string(), *s)).collect(),
        }
    }

    /// Every instance, worst state first, then by service and instance.
    pub fn snapshot(&self, now: Instant) -> Vec<AgentView> {
        let request = PageRequest { limit: usize::MAX, ..Default::default() };
        self.page(now, &request).agents
    }

    /// One page of instances in that order, after `request.after`; only the page is copied.
    pub fn page(&self, now: Instant, request: &PageRequest) -> AgentPage {
        let at = self.since_origin(now);
        let agents = self.lock();
        let counts = Self::count(&agents);
        let mut order: Vec<(&Key, &Agent)> = agents
            .map
            .iter()
            .filter(|(_, a)| request.state.is_none_or(|s| a.current() == s))
            .filter(|(k, a)| request.after.as_ref().is_none_or(|p| p.is_before(a.current(), &k.service, &k.instance)))
            .collect();
        fn position<'k>((k, a): &(&'k Key, &Agent)) -> (std::cmp::Reverse<HealthState>, &'k str, &'k str) {
            (std::cmp::Reverse(a.current()), &k.service, &k.instance)
        }
        let limit = request.limit.max(1);
        let more = order.len() > limit;
        if more {
            order.select_nth_unstable_by(limit - 1, |x, y| position(x).cmp(&position(y)));
            order.truncate(limit);
        }
        order.sort_unstable_by(|x, y| position(x).cmp(&position(y)));
        let next =
            order.last().filter(|_| more).map(|(k, a)| Position::of(a.current(), &k.service, &k.instance).encode());
        let views = order.iter().map(|(k, a)| self.view(k, a, at)).collect();
        AgentPage { counts, agents: views, next }
    }

    fn count(agents: &Agents) -> AgentCounts {
        let mut c = AgentCounts { total: agents.map.len(), untracked: agents.untracked, ..Default::default() };
        for a in agents.map.values() {
            match a.current() {
                HealthState::Healthy => c.healthy += 1,
                HealthState::Degraded => c.degraded += 1,
                HealthState::Unhealthy => c.unhealthy += 1,
                HealthState::Down => c.down += 1,
            }
        }
        c
    }

    /// How many instances are in each state.
    pub fn counts(&self) -> AgentCounts {
        Self::count(&self.lock())
    }
}

/// What one evaluation found.
#[derive(Debug, Default)]
struct Evaluated {
    /// State changes worth announcing (a new healthy instance is not).
    changes: Vec<StateChange>,
    /// Every instance whose state changed: the state, since when, why.
    entered: Vec<(Key, HealthState, f64, Vec<String>)>,
    /// Instances forgotten.
    expired: Vec<Key>,
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
