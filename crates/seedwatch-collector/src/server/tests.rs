use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use prometheus_client::registry::Registry;
use tower::ServiceExt;

use super::*;
use crate::health::{ComponentKind, ComponentStatus};
use crate::pipeline::QueueSet;
use crate::telemetry::SelfMetrics;

fn state() -> AdminState {
    let queues = QueueSet::default();
    let mut registry = Registry::default();
    let _metrics = SelfMetrics::register(&mut registry, queues.clone());
    AdminState {
        health: Arc::new(Health::new(queues)),
        registries: Arc::new(vec![registry]),
        expositions: Arc::new(Vec::new()),
        agents: None,
        budgets: None,
    }
}

async fn get(state: &AdminState, path: &str, accept: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get(path);
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    let resp = admin_router(state.clone()).oneshot(req.body(Body::empty()).expect("request")).await.expect("response");
    let status = resp.status();
    let ctype = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn readiness_follows_components_and_shutdown() {
    let s = state();
    s.health.register(ComponentKind::Receiver, "otlp/grpc", None);
    let (code, _, body) = get(&s, "/health/ready", None).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("otlp/grpc is starting"), "{body}");
    s.health.set(ComponentKind::Receiver, "otlp/grpc", ComponentStatus::Ok);
    assert_eq!(get(&s, "/health/ready", None).await.0, StatusCode::OK);
    s.health.begin_shutdown();
    let (code, _, body) = get(&s, "/health/ready", None).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("shutting down"));
}

#[tokio::test]
async fn health_reports_degraded_and_unhealthy_honestly() {
    let s = state();
    s.health.register(ComponentKind::Exporter, "file", None);
    s.health.set(ComponentKind::Exporter, "file", ComponentStatus::Ok);
    let (code, ctype, body) = get(&s, "/health", None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(ctype, "application/json");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "healthy");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["uptime_seconds"].as_f64().is_some());

    s.health.set(ComponentKind::Exporter, "file", ComponentStatus::Degraded("disk full".into()));
    let (code, _, body) = get(&s, "/health/detailed", None).await;
    assert_eq!(code, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "degraded");
    assert_eq!(v["components"]["exporters"]["file"]["status"], "degraded");
    assert_eq!(v["components"]["exporters"]["file"]["reason"], "disk full");

    s.health.set(ComponentKind::Exporter, "file", ComponentStatus::Failed("cannot open".into()));
    assert_eq!(get(&s, "/health", None).await.0, StatusCode::SERVICE_UNAVAILABLE);
    let (code, _, body) = get(&s, "/health/live", None).await;
    assert_eq!(code, StatusCode::OK, "liveness does not depend on exporters");
    assert!(body.contains("alive"));
}

#[tokio::test]
async fn metrics_negotiates_the_format() {
    let s = state();
    let (code, ctype, body) = get(&s, "/metrics", None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert!(body.contains("# TYPE seedwatch_receiver_accepted_spans_total counter"), "{body}");
    assert!(body.contains("seedwatch_receiver_accepted_spans_total{transport=\"grpc\"} 0"), "{body}");
    assert!(!body.contains("# EOF"));
    let (_, ctype, body) = get(&s, "/metrics", Some("application/openmetrics-text;version=1.0.0")).await;
    assert!(ctype.starts_with("application/openmetrics-text"));
    assert!(body.ends_with("# EOF\n"));
    assert!(body.contains("process_resident_memory_bytes"), "{body}");
}

#[tokio::test]
async fn agents_api_lists_tracked_instances_and_says_when_none_are_tracked() {
    let mut s = state();
    let (status, _, body) = get(&s, "/api/v1/agents", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("agent_metrics"), "{body}");

    let registry = crate::derived_metrics::DerivedRegistry::default();
    let limits = crate::derived_metrics::SeriesLimits { max_series: 100, ttl: std::time::Duration::from_secs(60) };
    let metrics = crate::agents::TrackerMetrics::register(&registry, "modelseed", limits, limits);
    let strings = registry.strings().clone();
    let tracker = Arc::new(crate::agents::AgentTracker::new(Default::default(), metrics, None, None, strings));
    let now = std::time::Instant::now();
    tracker.activity(
        "svc",
        "a-1",
        crate::agents::Activity { llm_calls: 30, llm_errors: 30, ..Default::default() },
        now,
    );
    tracker.seen("svc", "a-2", now);
    tracker.tick(now);
    s.agents = Some(tracker);
    let (status, _, body) = get(&s, "/api/v1/agents", None).await;
    assert_eq!(status, StatusCode::OK);
    let report: crate::agents::AgentPage = serde_json::from_str(&body).expect("json");
    assert_eq!(report.counts.total, 2);
    assert_eq!(report.counts.unhealthy, 1);
    assert_eq!(report.agents[0].instance, "a-1", "worst first");
    assert!(report.agents[0].reasons[0].contains("LLM errors"), "{body}");
    let (_, _, detailed) = get(&s, "/health/detailed", None).await;
    let detailed: serde_json::Value = serde_json::from_str(&detailed).expect("json");
    assert_eq!(detailed["agents"]["unhealthy"], 1);
    assert_eq!(detailed["status"], "healthy", "agents' health is not the collector's");
}
