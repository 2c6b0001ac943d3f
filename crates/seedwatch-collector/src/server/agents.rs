//! `GET /api/v1/agents`: every tracked agent instance, worst state first.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AdminState;
use crate::agents::{AgentCounts, AgentView};

/// The body of `GET /api/v1/agents`; also read back by `seedwatch health --agents`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentsReport {
    /// How many instances are in each state.
    pub counts: AgentCounts,
    /// Every instance, worst state first.
    pub agents: Vec<AgentView>,
}

pub(super) async fn list(State(state): State<AdminState>) -> Response {
    match &state.agents {
        Some(tracker) => {
            Json(AgentsReport { counts: tracker.counts(), agents: tracker.snapshot(Instant::now()) }).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": "agents are not tracked: enable the agent_metrics processor in the config"
            })),
        )
            .into_response(),
    }
}
