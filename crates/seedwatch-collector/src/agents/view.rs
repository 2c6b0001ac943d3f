//! What `GET /api/v1/agents` shows of the tracked instances: one page at a time, worst state
//! first, with a cursor for the next page, so an answer stays small however many are tracked.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::state::HealthState;

/// One instance as `GET /api/v1/agents` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentView {
    /// `service.name` (cut to `limits.max_string_bytes`).
    pub service: String,
    /// `service.instance.id` (else `host.name`), cut likewise.
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
    /// Last reported CPU use, percent of one core.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// The agent's own checks and their state.
    pub checks: BTreeMap<String, HealthState>,
}

/// How many instances are in each state, and how many could not be tracked.
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
    /// Telemetry arrivals from instances not tracked because the tracker was full (since start).
    #[serde(default)]
    pub untracked: u64,
}

impl AgentCounts {
    /// The worst state of any tracked instance.
    pub fn worst(&self) -> HealthState {
        if self.down > 0 {
            HealthState::Down
        } else if self.unhealthy > 0 {
            HealthState::Unhealthy
        } else if self.degraded > 0 {
            HealthState::Degraded
        } else {
            HealthState::Healthy
        }
    }
}

/// Default page size of `GET /api/v1/agents`.
pub const DEFAULT_PAGE: usize = 100;
/// Largest page size accepted.
pub const MAX_PAGE: usize = 1000;

/// Which page to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Instances per page (1..=[`MAX_PAGE`]).
    pub limit: usize,
    /// Start after this position (the `next` of the previous page).
    pub after: Option<Position>,
    /// Only instances in this state.
    pub state: Option<HealthState>,
}

/// Where an instance sorts: worst state first, then by service and instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    state: Reverse<HealthState>,
    service: String,
    instance: String,
}

impl Position {
    /// The position of an instance.
    pub fn of(state: HealthState, service: &str, instance: &str) -> Self {
        Position { state: Reverse(state), service: service.to_owned(), instance: instance.to_owned() }
    }

    /// Whether an instance in `state` sorts after this position.
    pub(super) fn is_before(&self, state: HealthState, service: &str, instance: &str) -> bool {
        (Reverse(state), service, instance) > (self.state, self.service.as_str(), self.instance.as_str())
    }

    /// An opaque cursor for URLs.
    pub fn encode(&self) -> String {
        let raw = serde_json::json!([self.state.0, self.service, self.instance]).to_string();
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor made by [`Position::encode`].
    pub fn decode(cursor: &str) -> Option<Position> {
        let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let (state, service, instance): (HealthState, String, String) = serde_json::from_slice(&raw).ok()?;
        Some(Position::of(state, &service, &instance))
    }
}

/// One page of instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentPage {
    /// How many instances are in each state (all of them, not just this page).
    pub counts: AgentCounts,
    /// This page, worst state first.
    pub agents: Vec<AgentView>,
    /// The cursor of the next page (`?after=`), absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_sort_worst_first_and_survive_a_round_trip() {
        let down = Position::of(HealthState::Down, "svc", "b");
        let healthy = Position::of(HealthState::Healthy, "svc", "a");
        assert!(down < healthy);
        assert!(down.is_before(HealthState::Healthy, "svc", "a"));
        assert!(down.is_before(HealthState::Down, "svc", "c"));
        assert!(!down.is_before(HealthState::Down, "svc", "b"));
        let odd = Position::of(HealthState::Degraded, "s\u{1f}x\"]", "é/=?&");
        assert_eq!(Position::decode(&odd.encode()), Some(odd));
        assert_eq!(Position::decode(&healthy.encode()), Some(healthy));
        assert_eq!(Position::decode("not a cursor!"), None);
        assert_eq!(Position::decode(""), None);
    }
}
