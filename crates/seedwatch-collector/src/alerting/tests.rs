//! Delivery against a scripted fake receiver (it can fail on purpose, which the real
//! Alertmanager in the end-to-end tests cannot): first sends, retries, re-sends, resolution.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;

use super::*;
use crate::derived_metrics::DerivedRegistry;
use crate::exporters::RetryConfig;
use crate::telemetry::{Exposition, ExpositionFormat};

#[derive(Clone, Default)]
struct Fake {
    bodies: Arc<Mutex<Vec<Value>>>,
    /// Answer 503 to this many requests first.
    failures: Arc<Mutex<u32>>,
}

async fn receive(State(fake): State<Fake>, Json(body): Json<Value>) -> StatusCode {
    {
        let mut failures = fake.failures.lock().unwrap_or_else(|p| p.into_inner());
        if *failures > 0 {
            *failures -= 1;
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    fake.bodies.lock().unwrap_or_else(|p| p.into_inner()).push(body);
    StatusCode::OK
}

async fn fake_server(failures: u32) -> (String, Fake) {
    let fake = Fake { failures: Arc::new(Mutex::new(failures)), ..Default::default() };
    let app =
        Router::new().route("/api/v2/alerts", post(receive)).route("/hook", post(receive)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), fake)
}

async fn wait_for(fake: &Fake, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let bodies = fake.bodies.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if bodies.len() >= n || Instant::now() > deadline {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn config(url: &str) -> AlertingConfig {
    let mut c = AlertingConfig::default();
    c.alertmanager.url = url.to_owned();
    c.alertmanager.resend_interval = Duration::from_secs(60);
    c.webhook.url = format!("{url}/hook");
    c.retry = RetryConfig {
        initial_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(50),
        max_elapsed_time: Duration::from_secs(5),
    };
    c
}

fn agent_down() -> Alert {
    Alert::new(
        "AgentDown",
        severity::CRITICAL,
        "agent",
        &[("service", "svc"), ("instance", "a-1")],
        "Agent svc/a-1 is down".into(),
        "no telemetry for 61s".into(),
    )
}

#[tokio::test]
async fn fires_once_retries_through_failures_resends_while_active_and_resolves() {
    let (url, fake) = fake_server(2).await;
    let registry = DerivedRegistry::default();
    let center = AlertCenter::start(config(&url), &registry).expect("start");
    center.fire(agent_down());
    center.fire(agent_down());
    // Two 503s, then the Alertmanager post and the webhook post.
    let bodies = wait_for(&fake, 2).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let am = bodies.iter().find(|b| b.is_array()).expect("an Alertmanager post");
    assert_eq!(am[0]["labels"]["alertname"], "AgentDown");
    assert_eq!(am[0]["labels"]["severity"], "critical");
    assert_eq!(am[0]["labels"]["instance"], "a-1");
    assert_eq!(am[0]["annotations"]["description"], "no telemetry for 61s");
    let ends = humantime::parse_rfc3339(am[0]["endsAt"].as_str().expect("endsAt")).expect("rfc3339");
    assert!(ends > SystemTime::now() + Duration::from_secs(60), "an active alert ends in the future");
    let hook = bodies.iter().find(|b| b.is_object()).expect("a webhook post");
    assert_eq!(hook["status"], "firing");

    // Re-sent (to Alertmanager only) once the interval has passed, not before.
    center.tick(Instant::now());
    center.tick(Instant::now() + Duration::from_secs(61));
    let bodies = wait_for(&fake, 3).await;
    assert_eq!(bodies.len(), 3);
    assert!(bodies[2].is_array());

    assert_eq!(center.resolve(&[("alertname", "AgentDown"), ("instance", "a-1")], "back"), 1);
    assert_eq!(center.resolve(&[("alertname", "AgentDown")], "again"), 0, "resolved once");
    let bodies = wait_for(&fake, 5).await;
    let resolved = bodies[3..].iter().find(|b| b.is_array()).expect("resolution to Alertmanager");
    let ends = humantime::parse_rfc3339(resolved[0]["endsAt"].as_str().expect("endsAt")).expect("rfc3339");
    assert!(ends <= SystemTime::now());
    assert!(bodies[3..].iter().any(|b| b["status"] == "resolved"));
    assert!(center.active().is_empty());

    let mut text = String::new();
    registry.encode(&mut text, ExpositionFormat::Text004);
    assert!(
        text.contains("seedwatch_alert_notifications_total{destination=\"alertmanager\",outcome=\"sent\"} 3"),
        "{text}"
    );
    assert!(text.contains("seedwatch_alerts_active{alertname=\"AgentDown\"} 0"), "{text}");
}

#[tokio::test]
async fn a_destination_that_never_answers_is_given_up_on_and_counted() {
    let mut c = config("http://127.0.0.1:9");
    c.webhook.url.clear();
    c.retry.max_elapsed_time = Duration::from_millis(200);
    let registry = DerivedRegistry::default();
    let center = AlertCenter::start(c, &registry).expect("start");
    center.fire(agent_down());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut text = String::new();
        registry.encode(&mut text, ExpositionFormat::Text004);
        if text.contains("seedwatch_alert_notifications_total{destination=\"alertmanager\",outcome=\"failed\"} 1") {
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(center.active().len(), 1, "still active: re-sent later");
}

#[test]
fn config_rejects_bad_urls_and_intervals() {
    let mut c = AlertingConfig::default();
    c.alertmanager.url = "alertmanager:9093".into();
    c.alertmanager.resend_interval = Duration::ZERO;
    let mut problems = Vec::new();
    c.validate(&mut problems);
    let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["alerting.alertmanager.url", "alerting.alertmanager.resend_interval"], "{problems:?}");
    let mut problems = Vec::new();
    AlertingConfig::default().validate(&mut problems);
    assert!(problems.is_empty(), "off by default");
}

#[tokio::test]
async fn raised_and_resolved_alerts_are_also_log_records() {
    let registry = DerivedRegistry::default();
    let center = AlertCenter::start(AlertingConfig::default(), &registry).expect("no destinations");
    let (tx, mut rx) = crate::pipeline::bounded::<crate::pipeline::Batch>("logs", 100);
    center.attach_logs(crate::processors::LogEmitter::new(tx));
    center.fire(agent_down());
    center.resolve(&[("alertname", "AgentDown")], "the agent is healthy now");
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let batch = rx.recv().await.expect("a record");
        let crate::pipeline::Payload::Logs(data) = batch.payload() else { panic!("logs") };
        let req = data.request();
        let record = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.event_name, "seedwatch.alert");
        let attr = |k: &str| {
            record.attributes.iter().find(|kv| kv.key == k).and_then(|kv| kv.value.clone()).and_then(|v| v.value)
        };
        assert_eq!(
            attr("alert.labels.instance"),
            Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue("a-1".into()))
        );
        statuses.push(format!("{:?}", attr("alert.status")));
    }
    assert!(statuses[0].contains("firing") && statuses[1].contains("resolved"), "{statuses:?}");
}
