//! The axum routes.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use super::{CheckStatus, Health};
use crate::resources::Sampler;

/// The `/health`, `/health/live`, `/health/ready` and `/health/detailed` routes.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/health", get(basic))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/health/detailed", get(detailed))
        .with_state(health)
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

async fn basic(State(h): State<Health>) -> impl IntoResponse {
    Json(json!({"status": "healthy", "timestamp": now_seconds(), "version": h.version()}))
}

/// A sample over a short window, so the CPU figure means something on the first call.
async fn sample() -> crate::resources::Sample {
    let mut sampler = Sampler::new();
    sampler.sample();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    sampler.sample()
}

async fn live(State(h): State<Health>) -> impl IntoResponse {
    let s = sample().await;
    Json(json!({
        "status": "alive",
        "uptime": h.uptime(),
        "memory_usage": s.system_memory_percent,
        "cpu_usage": s.cpu_percent,
    }))
}

async fn ready(State(h): State<Health>) -> impl IntoResponse {
    let reports = h.run().await;
    let failing: Vec<String> = reports
        .iter()
        .filter(|(_, r)| r.affects_readiness && r.result.status == CheckStatus::Unhealthy)
        .map(|(name, r)| format!("{name}: {}", r.result.message))
        .collect();
    if failing.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        let names: Vec<&str> = failing.iter().filter_map(|f| f.split(':').next()).collect();
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "error": failing.join("; "), "failing": names})),
        )
    }
}

async fn detailed(State(h): State<Health>) -> impl IntoResponse {
    let (reports, s) = tokio::join!(h.run(), sample());
    let worst = reports.values().map(|r| r.result.status).max().unwrap_or(CheckStatus::Healthy);
    let stats = crate::telemetry_stats();
    let body = json!({
        "status": worst,
        "version": h.version(),
        "components": reports,
        "metrics": {
            "uptime_seconds": h.uptime(),
            "process_memory_bytes": s.memory_bytes,
            "process_cpu_percent": s.cpu_percent,
            "system_memory_percent": s.system_memory_percent,
            "telemetry": {
                "spans_exported": stats.spans_exported,
                "spans_dropped": stats.spans_dropped,
                "logs_exported": stats.logs_exported,
                "logs_dropped": stats.logs_dropped,
                "metric_exports_failed": stats.metric_exports_failed,
            },
        },
    });
    let code = if worst == CheckStatus::Unhealthy { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, Json(body))
}
