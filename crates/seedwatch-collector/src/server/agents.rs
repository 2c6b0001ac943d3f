//! `GET /api/v1/agents[?limit=N&after=CURSOR&state=STATE]`: tracked agent instances, worst
//! state first, one page at a time (default 100, at most 1000), with the counts of all of them
//! and the cursor of the next page — so the answer stays small however many are tracked.

use std::collections::HashMap;
use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AdminState;
use crate::agents::{DEFAULT_PAGE, HealthState, MAX_PAGE, PageRequest, Position};

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Reads the query; the error names the parameter and what it takes.
fn page_request(query: &HashMap<String, String>) -> Result<PageRequest, String> {
    let mut request = PageRequest { limit: DEFAULT_PAGE, ..Default::default() };
    for (key, value) in query {
        match key.as_str() {
            "limit" => {
                request.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| format!("`limit` must be a number from 1 to {MAX_PAGE}, found `{value}`"))?;
            }
            "after" => {
                let position =
                    Position::decode(value).ok_or("`after` must be the `next` cursor of a previous page".to_owned())?;
                request.after = Some(position);
            }
            "state" => {
                let state = HealthState::ALL.into_iter().find(|s| s.as_str() == value).ok_or_else(|| {
                    format!("`state` must be one of healthy, degraded, unhealthy, down; found `{value}`")
                })?;
                request.state = Some(state);
            }
            other => return Err(format!("unknown parameter `{other}`; use limit, after or state")),
        }
    }
    Ok(request)
}

pub(super) async fn list(State(state): State<AdminState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(tracker) = &state.agents else {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": "agents are not tracked: enable the agent_metrics processor in the config"
            })),
        )
            .into_response();
    };
    match page_request(&query) {
        Ok(request) => Json(tracker.page(Instant::now(), &request)).into_response(),
        Err(message) => bad_request(message),
    }
}
