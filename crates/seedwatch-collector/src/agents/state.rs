//! The health state of one agent instance, from what was observed of it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::config::AgentHealthConfig;

/// An agent instance's health, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Sending telemetry, errors and memory under the thresholds, its own checks pass.
    Healthy,
    /// Working with problems: tool errors or memory over the threshold, or a check it reports
    /// as degraded.
    Degraded,
    /// Not doing its job: LLM calls failing over the threshold, or a check it reports as
    /// unhealthy.
    Unhealthy,
    /// Silent for longer than `down_after`.
    Down,
}

impl HealthState {
    /// Every state, best first (the `state` label values).
    pub const ALL: [HealthState; 4] =
        [HealthState::Healthy, HealthState::Degraded, HealthState::Unhealthy, HealthState::Down];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Degraded => "degraded",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Down => "down",
        }
    }

    /// Whether entering this state raises an alert.
    pub fn alerts(self) -> bool {
        matches!(self, HealthState::Unhealthy | HealthState::Down)
    }

    /// The state an agent's own report maps to (`seedwatch.health.status`: 0 ok, 1 degraded,
    /// 2 or more unhealthy).
    pub fn from_reported(value: f64) -> HealthState {
        if value >= 2.0 {
            HealthState::Unhealthy
        } else if value >= 1.0 {
            HealthState::Degraded
        } else {
            HealthState::Healthy
        }
    }
}

impl fmt::Display for HealthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is known of an instance at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Seconds since it last sent anything.
    pub silent_seconds: f64,
    /// Tool errors per second over the window.
    pub tool_error_rate: f64,
    /// LLM errors per second over the window.
    pub llm_error_rate: f64,
    /// Last reported memory, bytes.
    pub memory_bytes: Option<f64>,
    /// Its own checks that do not pass: (check, state).
    pub failing_checks: Vec<(String, HealthState)>,
}

/// The state and every reason for it (empty when healthy).
pub fn evaluate(o: &Observed, c: &AgentHealthConfig) -> (HealthState, Vec<String>) {
    if o.silent_seconds >= c.down_after.as_secs_f64() {
        let why = format!("no telemetry for {:.0}s (down after {:.0}s)", o.silent_seconds, c.down_after.as_secs_f64());
        return (HealthState::Down, vec![why]);
    }
    let mut state = HealthState::Healthy;
    let mut reasons = Vec::new();
    let mut flag = |s: HealthState, why: String| {
        state = state.max(s);
        reasons.push(why);
    };
    let window = humantime::format_duration(c.window);
    if o.llm_error_rate > c.llm_error_rate {
        let why = format!("LLM errors {:.3}/s over {window} (threshold {}/s)", o.llm_error_rate, c.llm_error_rate);
        flag(HealthState::Unhealthy, why);
    }
    if o.tool_error_rate > c.tool_error_rate {
        let why = format!("tool errors {:.3}/s over {window} (threshold {}/s)", o.tool_error_rate, c.tool_error_rate);
        flag(HealthState::Degraded, why);
    }
    if let Some(m) = o.memory_bytes
        && m > c.memory_bytes
    {
        let gib = |b: f64| b / (1024.0 * 1024.0 * 1024.0);
        flag(HealthState::Degraded, format!("memory {:.2} GiB (threshold {:.2} GiB)", gib(m), gib(c.memory_bytes)));
    }
    for (check, s) in &o.failing_checks {
        flag(*s, format!("its own check `{check}` reports {s}"));
    }
    (state, reasons)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_worst_condition_wins_and_every_reason_is_given() {
        let c = AgentHealthConfig::default();
        assert_eq!(evaluate(&Observed::default(), &c), (HealthState::Healthy, vec![]));
        let tools = Observed { tool_error_rate: 0.2, ..Default::default() };
        assert_eq!(evaluate(&tools, &c).0, HealthState::Degraded);
        let both = Observed { tool_error_rate: 0.2, llm_error_rate: 0.06, ..Default::default() };
        let (state, reasons) = evaluate(&both, &c);
        assert_eq!(state, HealthState::Unhealthy);
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        let memory = Observed { memory_bytes: Some(9.0 * 1024.0 * 1024.0 * 1024.0), ..Default::default() };
        assert_eq!(evaluate(&memory, &c).0, HealthState::Degraded);
        let at_threshold = Observed { tool_error_rate: 0.1, llm_error_rate: 0.05, ..Default::default() };
        assert_eq!(evaluate(&at_threshold, &c).0, HealthState::Healthy, "over, not at, the threshold");
        let check =
            Observed { failing_checks: vec![("database".into(), HealthState::Unhealthy)], ..Default::default() };
        let (state, reasons) = evaluate(&check, &c);
        assert_eq!(state, HealthState::Unhealthy);
        assert!(reasons[0].contains("database"));
    }

    #[test]
    fn silence_means_down_whatever_else() {
        let c = AgentHealthConfig { down_after: Duration::from_secs(60), ..Default::default() };
        let o = Observed { silent_seconds: 60.0, llm_error_rate: 1.0, ..Default::default() };
        assert_eq!(evaluate(&o, &c).0, HealthState::Down);
        let o = Observed { silent_seconds: 59.0, ..Default::default() };
        assert_eq!(evaluate(&o, &c).0, HealthState::Healthy);
        assert_eq!(HealthState::from_reported(0.0), HealthState::Healthy);
        assert_eq!(HealthState::from_reported(1.0), HealthState::Degraded);
        assert_eq!(HealthState::from_reported(2.0), HealthState::Unhealthy);
    }
}
