//! Server spans for the agent's own HTTP API (the guide's `modelseed_requests_total{method,
//! endpoint}` and `modelseed_request_duration_seconds`): an axum middleware that wraps each
//! request in a `SERVER` span with `http.request.method`, `http.route` (the matched route
//! pattern, never the raw path: bounded label values) and `http.response.status_code`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::shared::SCOPE;

/// Use with `axum::middleware::from_fn(seedwatch_agent::track_requests)` on a `Router`.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let tracer = opentelemetry::global::tracer(SCOPE);
    let name = match &route {
        Some(r) => format!("{method} {r}"),
        None => method.clone(),
    };
    let mut attributes = vec![KeyValue::new("http.request.method", method)];
    if let Some(r) = route {
        attributes.push(KeyValue::new("http.route", r));
    }
    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(&tracer, &Context::current());
    let cx = Context::current_with_span(span);
    let response = next.run(request).with_context(cx.clone()).await;
    let status = response.status();
    let span = cx.span();
    span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status.as_u16())));
    if status.is_server_error() {
        span.set_attribute(KeyValue::new("error.type", status.as_u16().to_string()));
        span.set_status(Status::error(status.to_string()));
    }
    span.end();
    response
}
