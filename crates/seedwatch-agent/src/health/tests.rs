use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use super::checks::{DiskSpaceCheck, FileSystemCheck, FnCheck, HttpCheck, MemoryCheck};
use super::*;

async fn get(health: &Health, path: &str) -> (StatusCode, Value) {
    let response = router(health.clone()).oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

fn fixed(name: &'static str, result: CheckResult) -> FnCheck {
    FnCheck::new(name, move || {
        let r = result.clone();
        async move { r }
    })
}

/// A check that does not decide readiness.
struct Advisory;

#[async_trait::async_trait]
impl HealthCheck for Advisory {
    fn name(&self) -> &str {
        "advisory"
    }
    fn affects_readiness(&self) -> bool {
        false
    }
    async fn check(&self) -> CheckResult {
        CheckResult::unhealthy("advisory only")
    }
}

/// A check slower than its timeout.
struct Slow;

#[async_trait::async_trait]
impl HealthCheck for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn timeout(&self) -> Duration {
        Duration::from_millis(50)
    }
    async fn check(&self) -> CheckResult {
        tokio::time::sleep(Duration::from_secs(5)).await;
        CheckResult::healthy("too late")
    }
}

#[tokio::test]
async fn basic_and_live_answer_with_the_guides_fields() {
    let health = Health::new("1.2.3");
    let (status, body) = get(&health, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["status"].as_str(), body["version"].as_str()), (Some("healthy"), Some("1.2.3")));
    assert!(body["timestamp"].as_f64().unwrap() > 1.7e9);
    let (status, body) = get(&health, "/health/live").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "alive");
    assert!(body["uptime"].as_f64().unwrap() >= 0.0);
    let memory = body["memory_usage"].as_f64().unwrap();
    assert!(memory > 0.0 && memory <= 100.0, "{body}");
    assert!(body["cpu_usage"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn ready_names_the_failing_checks_and_ignores_advisory_ones() {
    let ok = Health::new("1").with_check(fixed("llm_connectivity", CheckResult::healthy("ok"))).with_check(Advisory);
    let (status, body) = get(&ok, "/health/ready").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")));

    let failing = ok.with_check(fixed("database", CheckResult::unhealthy("connection refused")));
    let (status, body) = get(&failing, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["failing"], serde_json::json!(["database"]));
    assert!(body["error"].as_str().unwrap().contains("database: connection refused"), "{body}");
}

#[tokio::test]
async fn a_check_past_its_timeout_is_unhealthy() {
    let health = Health::new("1").with_check(Slow);
    let reports = health.run().await;
    assert_eq!(reports["slow"].result.status, CheckStatus::Unhealthy);
    assert!(reports["slow"].result.message.contains("timed out"), "{:?}", reports["slow"]);
    assert!(reports["slow"].duration_ms < 4000.0);
}

#[tokio::test]
async fn detailed_reports_every_component_and_the_worst_status() {
    let degraded = Health::new("1")
        .with_check(fixed("database", CheckResult::healthy("ok")))
        .with_check(fixed("memory", CheckResult::degraded("86%")));
    let (status, body) = get(&degraded, "/health/detailed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["components"]["database"]["status"], "healthy");
    assert_eq!(body["components"]["memory"]["message"], "86%");
    assert!(body["metrics"]["process_memory_bytes"].as_u64().unwrap() > 0);
    assert!(body["metrics"]["telemetry"]["spans_dropped"].is_u64());

    let down = degraded.with_check(fixed("file_system", CheckResult::unhealthy("read-only")));
    let (status, body) = get(&down, "/health/detailed").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("unhealthy")));
}

#[tokio::test]
async fn results_are_kept_for_the_status_gauge() {
    let health = Health::new("1").with_check(fixed("gauge_probe", CheckResult::degraded("x")));
    health.run().await;
    assert_eq!(LAST_RESULTS.lock().unwrap().get("gauge_probe"), Some(&CheckStatus::Degraded));
}

#[tokio::test]
async fn built_in_checks() {
    let dir = std::env::temp_dir().join(format!("seedwatch-health-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(FileSystemCheck::new(&dir).check().await.status, CheckStatus::Healthy);
    let missing = FileSystemCheck::new(dir.join("missing")).check().await;
    assert_eq!(missing.status, CheckStatus::Unhealthy, "{missing:?}");
    std::fs::remove_dir_all(&dir).unwrap();

    let always = MemoryCheck { degraded_percent: 0.0, unhealthy_percent: 101.0 };
    assert_eq!(always.check().await.status, CheckStatus::Degraded);
    let never = MemoryCheck { degraded_percent: 101.0, unhealthy_percent: 101.0 };
    assert_eq!(never.check().await.status, CheckStatus::Healthy);

    let mut disk = DiskSpaceCheck::new(".");
    disk.degraded_free_percent = 100.0;
    disk.unhealthy_free_percent = 0.0;
    let r = disk.check().await;
    assert_eq!(r.status, CheckStatus::Degraded, "{r:?}");
    let r = DiskSpaceCheck::new("/definitely/not/here").check().await;
    assert_eq!(r.status, CheckStatus::Unhealthy);
}

#[tokio::test]
async fn http_check_grades_by_answer() {
    use axum::routing::get as route;
    let app = axum::Router::new()
        .route("/ok", route(|| async { StatusCode::UNAUTHORIZED }))
        .route("/down", route(|| async { StatusCode::BAD_GATEWAY }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let reachable = HttpCheck::new("llm_connectivity", format!("http://{addr}/ok")).check().await;
    assert_eq!(reachable.status, CheckStatus::Healthy, "401 still means reachable: {reachable:?}");
    let failing = HttpCheck::new("llm_connectivity", format!("http://{addr}/down")).check().await;
    assert_eq!(failing.status, CheckStatus::Unhealthy);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refused = HttpCheck::new("llm_connectivity", format!("http://{closed}/")).check().await;
    assert_eq!(refused.status, CheckStatus::Unhealthy);
    assert!(refused.message.contains(&closed.to_string()), "{refused:?}");
}
