//! `/health`, `/health/live`, `/health/ready`, `/health/detailed`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AdminState;
use crate::health::OverallStatus;

fn status_code(status: OverallStatus) -> StatusCode {
    match status {
        OverallStatus::Healthy | OverallStatus::Degraded => StatusCode::OK,
        OverallStatus::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Overall status, version and uptime; 503 when unhealthy.
pub(super) async fn summary(State(state): State<AdminState>) -> Response {
    let report = state.health.summary();
    (status_code(report.status), Json(report)).into_response()
}

/// The process is alive and serving HTTP.
pub(super) async fn live(State(state): State<AdminState>) -> Response {
    Json(json!({ "status": "alive", "uptime_seconds": state.health.uptime_seconds() })).into_response()
}

/// 200 once every receiver is bound and every exporter started; 503 before and while shutting down.
pub(super) async fn ready(State(state): State<AdminState>) -> Response {
    let reasons = state.health.readiness();
    if reasons.is_empty() {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not ready", "reasons": reasons }))).into_response()
    }
}

/// Every component and queue; 503 when unhealthy.
pub(super) async fn detailed(State(state): State<AdminState>) -> Response {
    let mut report = state.health.detailed();
    report.agents = state.agents.as_ref().map(|a| a.counts());
    (status_code(report.summary.status), Json(report)).into_response()
}
