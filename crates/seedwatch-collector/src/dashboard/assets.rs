//! The page and its assets, embedded in the binary: the dashboard works offline.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (name, content type, bytes) of every asset under `/assets/`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("assets/app.css")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("assets/vendor/uplot/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("assets/vendor/uplot/uPlot.min.css")),
    ("favicon.svg", "image/svg+xml", include_bytes!("assets/favicon.svg")),
    ("uPlot.LICENSE.txt", "text/plain; charset=utf-8", include_bytes!("assets/vendor/uplot/LICENSE")),
];

const INDEX: &[u8] = include_bytes!("assets/index.html");

/// Only this origin's scripts and styles; no frames, no plugins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn respond(content_type: &'static str, body: &'static [u8], cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

pub(super) async fn index() -> Response {
    respond("text/html; charset=utf-8", INDEX, "no-cache")
}

pub(super) async fn file(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        // No validators to revalidate with, and a cached script from an older binary would
        // misread a newer API: fetched anew (they are small and local).
        Some((_, content_type, body)) => respond(content_type, body, "no-cache"),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
