//! `/metrics` in the Prometheus text format 0.0.4, or OpenMetrics when the `Accept` header asks.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AdminState;
use crate::telemetry::{ExpositionFormat, encode};

pub(super) async fn metrics(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    let format = ExpositionFormat::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let registries: Vec<_> = state.registries.iter().collect();
    let others: Vec<&dyn crate::telemetry::Exposition> = state.expositions.iter().map(|e| e.as_ref()).collect();
    match encode(&registries, &others, format) {
        Ok(body) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics").into_response(),
    }
}
