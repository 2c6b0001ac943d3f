//! Per-agent health: every agent instance (`service.name` + `service.instance.id`, else
//! `host.name`) seen through any signal gets a state — healthy, degraded, unhealthy, down —
//! with the reasons, from:
//!
//! | condition (defaults: the monitoring guide's alert rules) | state |
//! |---|---|
//! | nothing received for `down_after` (60 s) | down |
//! | LLM errors over `llm_error_rate` (0.05/s) in `window` (5 m) | unhealthy |
//! | one of its own checks reports unhealthy (`seedwatch.health.status` ≥ 2) | unhealthy |
//! | tool errors over `tool_error_rate` (0.1/s) in `window` | degraded |
//! | memory over `memory_bytes` (8 GiB) | degraded |
//! | one of its own checks reports degraded (`seedwatch.health.status` = 1) | degraded |
//!
//! The worst applicable state wins; every condition that holds is a reason. Exposed as
//! `{ns}_agent_up{service,instance}`, `{ns}_agent_health_state{service,instance,state}`,
//! `GET /api/v1/agents`, a summary in `/health/detailed`, and `seedwatch health --agents`.
//! Every change is a log record (`event.name = seedwatch.agent.health_changed`) for the
//! exporters. Instances unseen for `retention` are forgotten; at most `max_agents` are kept,
//! and while that many are tracked new ones are counted, not tracked (a live instance is never
//! pushed out). Memory per instance is bounded: identities and check names are cut to
//! `limits.max_string_bytes`, checks to `max_checks_per_agent` (see `docs/operations.md`).

mod config;
mod records;
mod state;
mod tracker;
mod view;
mod window;

pub use config::AgentHealthConfig;
pub use state::{HealthState, Observed, evaluate};
pub use tracker::{Activity, AgentDelta, AgentTracker, SharedAgent, SharedAgentState, StateChange, TrackerMetrics};
pub use view::{AgentCounts, AgentPage, AgentView, DEFAULT_PAGE, MAX_PAGE, PageRequest, Position};
pub use window::RateWindow;

#[cfg(test)]
mod tests;
