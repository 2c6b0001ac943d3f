//! `GET /api/v1/budgets`: every budget with its spend this period, forecast and firing alerts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AdminState;
use crate::budgets::BudgetView;
use crate::clock::unix_now;

/// The body of `GET /api/v1/budgets`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BudgetsReport {
    /// Every budget, by name.
    pub budgets: Vec<BudgetView>,
}

pub(super) async fn list(State(state): State<AdminState>) -> Response {
    match &state.budgets {
        Some(budgets) => Json(BudgetsReport { budgets: budgets.views(unix_now()) }).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": "no budgets are configured: add them under processors.agent_metrics.budgets.limits"
            })),
        )
            .into_response(),
    }
}
