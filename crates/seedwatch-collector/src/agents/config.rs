//! Thresholds of the per-agent health state.

use std::time::Duration;

use serde::Deserialize;

use crate::config::Problem;

/// How each agent instance's health is judged (defaults: the monitoring guide's alert rules).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentHealthConfig {
    /// An instance that sent nothing for this long is `down` (the guide's ServiceDown: 1 m).
    #[serde(default = "default_down_after", with = "humantime_serde")]
    pub down_after: Duration,
    /// The sliding window over which error rates are measured (the guide's `rate(...[5m])`).
    #[serde(default = "default_window", with = "humantime_serde")]
    pub window: Duration,
    /// Tool errors per second above which an instance is `degraded` (the guide's HighErrorRate).
    #[serde(default = "default_tool_error_rate")]
    pub tool_error_rate: f64,
    /// LLM errors per second above which an instance is `unhealthy` (the guide's LLMAPIFailures).
    #[serde(default = "default_llm_error_rate")]
    pub llm_error_rate: f64,
    /// Memory above which an instance is `degraded`, in bytes (the guide's HighMemoryUsage: 8 GB).
    #[serde(default = "default_memory_bytes")]
    pub memory_bytes: f64,
    /// An instance unseen for this long is forgotten (and its series removed).
    #[serde(default = "default_retention", with = "humantime_serde")]
    pub retention: Duration,
    /// Instances tracked at once. While that many are tracked, new instances are not (they
    /// are counted in `seedwatch_agents_untracked_total`); a tracked one is never pushed out.
    #[serde(default = "default_max_agents")]
    pub max_agents: usize,
    /// Health checks kept per instance (`seedwatch.health.status` points); more are ignored
    /// and say so in the instance's reasons.
    #[serde(default = "default_max_checks")]
    pub max_checks_per_agent: usize,
}

impl Default for AgentHealthConfig {
    fn default() -> Self {
        AgentHealthConfig {
            down_after: default_down_after(),
            window: default_window(),
            tool_error_rate: default_tool_error_rate(),
            llm_error_rate: default_llm_error_rate(),
            memory_bytes: default_memory_bytes(),
            retention: default_retention(),
            max_agents: default_max_agents(),
            max_checks_per_agent: default_max_checks(),
        }
    }
}

fn default_down_after() -> Duration {
    Duration::from_secs(60)
}
fn default_window() -> Duration {
    Duration::from_secs(300)
}
fn default_tool_error_rate() -> f64 {
    0.1
}
fn default_llm_error_rate() -> f64 {
    0.05
}
fn default_memory_bytes() -> f64 {
    8.0 * 1024.0 * 1024.0 * 1024.0
}
fn default_retention() -> Duration {
    Duration::from_secs(3600)
}
fn default_max_agents() -> usize {
    10_000
}
fn default_max_checks() -> usize {
    16
}

impl AgentHealthConfig {
    /// Pushes a problem for every bad value; paths under `path`.
    pub fn validate(&self, path: &str, problems: &mut Vec<Problem>) {
        let key = |k: &str| format!("{path}.{k}");
        if self.down_after.is_zero() {
            problems.push(Problem::new(key("down_after"), "must be longer than 0s, e.g. 60s"));
        }
        if self.window < Duration::from_secs(1) {
            problems.push(Problem::new(key("window"), "must be at least 1s, e.g. 5m"));
        }
        for (name, v) in [("tool_error_rate", self.tool_error_rate), ("llm_error_rate", self.llm_error_rate)] {
            if !(v.is_finite() && v >= 0.0) {
                problems.push(Problem::new(key(name), format!("must be a rate per second >= 0, found {v}")));
            }
        }
        if !(self.memory_bytes.is_finite() && self.memory_bytes > 0.0) {
            problems.push(Problem::new(key("memory_bytes"), "must be a number of bytes > 0, e.g. 8589934592"));
        }
        if self.retention < self.down_after {
            problems.push(Problem::new(
                key("retention"),
                "must be at least down_after, or instances would be forgotten before they are down",
            ));
        }
        if self.max_agents == 0 || self.max_agents > 1_000_000 {
            problems.push(Problem::found_expected(
                key("max_agents"),
                self.max_agents,
                "a number between 1 and 1000000",
            ));
        }
        if self.max_checks_per_agent > 256 {
            problems.push(Problem::found_expected(
                key("max_checks_per_agent"),
                self.max_checks_per_agent,
                "at most 256 checks per instance",
            ));
        }
    }
}
