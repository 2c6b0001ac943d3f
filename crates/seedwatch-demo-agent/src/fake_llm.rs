//! A local fake OpenAI-compatible endpoint: `POST /v1/chat/completions` answers with a
//! canned completion and realistic token usage (cached and reasoning tokens included), and
//! with a 429 rate-limit error on every 1/rate-th request. `GET /v1/models` answers for the
//! health check.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// The model the fake endpoint says answered (a dated version, priced as its base model).
pub const RESPONSE_MODEL: &str = "gpt-4o-2024-08-06";

struct Fake {
    errors: crate::failures::EveryNth,
}

/// Starts the endpoint on a free loopback port; returns its base URL (`http://…/v1`).
pub async fn start(error_rate: f64) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/v1/chat/completions", post(complete))
        .route("/v1/models", get(models))
        .with_state(Arc::new(Fake { errors: crate::failures::EveryNth::new(error_rate) }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "fake LLM endpoint stopped");
        }
    });
    Ok(format!("http://{addr}/v1"))
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": RESPONSE_MODEL, "object": "model"}]}))
}

async fn complete(State(fake): State<Arc<Fake>>, Json(request): Json<Value>) -> Response {
    if fake.errors.hit() {
        let body = json!({"error": {"type": "rate_limit_error", "code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-4o"}});
        return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    }
    let prompt_len = request["messages"]
        .as_array()
        .map_or(0, |m| m.iter().map(|x| x["content"].as_str().map_or(0, str::len)).sum::<usize>());
    let prompt_tokens = 200 + prompt_len as u64 / 4 + fastrand::u64(0..800);
    let completion_tokens = 50 + fastrand::u64(0..400);
    let cached = if fastrand::bool() { prompt_tokens / 2 } else { 0 };
    let body = json!({
        "id": format!("chatcmpl-{}", fastrand::u64(..)),
        "object": "chat.completion",
        "model": RESPONSE_MODEL,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "The model grows on glucose minimal media; biomass flux 0.87 h^-1."}}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": 0}
        }
    });
    Json(body).into_response()
}
