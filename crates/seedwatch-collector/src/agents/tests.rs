use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::derived_metrics::{DerivedRegistry, SeriesLimits};
use crate::telemetry::{Exposition, ExpositionFormat};

fn tracker(config: AgentHealthConfig) -> (AgentTracker, Arc<DerivedRegistry>) {
    tracker_alerting(config, None)
}

fn tracker_alerting(
    config: AgentHealthConfig,
    alerts: Option<Arc<crate::alerting::AlertCenter>>,
) -> (AgentTracker, Arc<DerivedRegistry>) {
    let registry = Arc::new(DerivedRegistry::default());
    let limits = SeriesLimits { max_series: 1000, ttl: Duration::from_secs(86_400) };
    let metrics = TrackerMetrics {
        up: registry.gauge("modelseed_agent_up", "up", &["service", "instance"], limits),
        state: registry.gauge("modelseed_agent_health_state", "state", &["service", "instance", "state"], limits),
        changes: registry.counter("seedwatch_agent_state_changes", "changes", &["state"], limits),
        forgotten: registry.counter("seedwatch_agents_forgotten", "forgotten", &["reason"], limits),
    };
    (AgentTracker::new(config, metrics, None, alerts), registry)
}

fn exposition(r: &DerivedRegistry) -> String {
    let mut out = String::new();
    r.encode(&mut out, ExpositionFormat::Text004);
    out
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn silence_turns_an_agent_down_and_its_return_makes_it_healthy_again() {
    let config = AgentHealthConfig { down_after: secs(60), ..Default::default() };
    let (t, registry) = tracker(config);
    let t0 = Instant::now();
    t.seen("modelseed-agent", "a-1", t0);
    assert_eq!(t.tick(t0), vec![], "a new healthy agent is not a change worth a record");
    assert!(exposition(&registry).contains("modelseed_agent_up{service=\"modelseed-agent\",instance=\"a-1\"} 1"));

    assert_eq!(t.tick(t0 + secs(59)), vec![]);
    let down = t.tick(t0 + secs(61));
    assert_eq!(down.len(), 1);
    assert_eq!((down[0].from, down[0].to), (Some(HealthState::Healthy), HealthState::Down));
    assert!(down[0].reasons[0].contains("no telemetry"), "{:?}", down[0].reasons);
    let text = exposition(&registry);
    assert!(text.contains("modelseed_agent_up{service=\"modelseed-agent\",instance=\"a-1\"} 0"), "{text}");
    assert!(
        text.contains("modelseed_agent_health_state{service=\"modelseed-agent\",instance=\"a-1\",state=\"down\"} 1")
    );
    assert!(
        text.contains("modelseed_agent_health_state{service=\"modelseed-agent\",instance=\"a-1\",state=\"healthy\"} 0")
    );
    assert_eq!(t.tick(t0 + secs(62)), vec![], "no repeated change");

    t.seen("modelseed-agent", "a-1", t0 + secs(70));
    let back = t.tick(t0 + secs(70));
    assert_eq!(back.len(), 1);
    assert_eq!((back[0].from, back[0].to), (Some(HealthState::Down), HealthState::Healthy));
    assert_eq!(t.counts(), AgentCounts { total: 1, healthy: 1, ..Default::default() });
}

#[test]
fn error_rates_memory_and_own_checks_set_the_state() {
    let config = AgentHealthConfig { window: secs(60), ..Default::default() };
    let (t, _) = tracker(config);
    let t0 = Instant::now();
    // 0.1/s tool errors is the threshold: 7 errors in 60 s is 0.117/s.
    t.activity("svc", "a", Activity { tool_calls: 20, tool_errors: 7, ..Default::default() }, t0);
    let c = t.tick(t0);
    assert_eq!(c[0].to, HealthState::Degraded, "{c:?}");
    t.activity("svc", "a", Activity { llm_calls: 10, llm_errors: 4, ..Default::default() }, t0 + secs(1));
    let c = t.tick(t0 + secs(1));
    assert_eq!(c[0].to, HealthState::Unhealthy);
    assert_eq!(c[0].reasons.len(), 2, "{:?}", c[0].reasons);
    let view = &t.snapshot(t0 + secs(1))[0];
    assert!((view.llm_error_rate - 4.0 / 60.0).abs() < 1e-9);
    assert!((view.tool_call_rate - 20.0 / 60.0).abs() < 1e-9);
    // The errors leave the window; the agent keeps sending.
    t.seen("svc", "a", t0 + secs(70));
    assert_eq!(t.tick(t0 + secs(70))[0].to, HealthState::Healthy);

    t.memory("svc", "a", 9.0 * 1024.0 * 1024.0 * 1024.0, t0 + secs(71));
    assert_eq!(t.tick(t0 + secs(71))[0].to, HealthState::Degraded);
    t.memory("svc", "a", 1e9, t0 + secs(72));
    t.reported("svc", "a", "database", HealthState::Unhealthy, t0 + secs(72));
    let c = t.tick(t0 + secs(72));
    assert_eq!(c[0].to, HealthState::Unhealthy);
    assert!(c[0].reasons[0].contains("database"));
    t.reported("svc", "a", "database", HealthState::Healthy, t0 + secs(73));
    assert_eq!(t.tick(t0 + secs(73))[0].to, HealthState::Healthy);
}

#[test]
fn unseen_instances_are_forgotten_and_memory_is_bounded() {
    let config =
        AgentHealthConfig { down_after: secs(60), retention: secs(600), max_agents: 100, ..Default::default() };
    let (t, registry) = tracker(config);
    let t0 = Instant::now();
    for i in 0..250 {
        t.seen("svc", &format!("i-{i}"), t0 + Duration::from_millis(i));
    }
    t.tick(t0 + secs(1));
    assert_eq!(t.counts().total, 100);
    let view = t.snapshot(t0 + secs(1));
    assert!(view.iter().all(|a| a.instance.trim_start_matches("i-").parse::<u32>().is_ok_and(|n| n >= 150)));
    let text = exposition(&registry);
    assert!(text.contains("seedwatch_agents_forgotten_total{reason=\"capacity\"} 150"), "{text}");
    assert!(!text.contains("instance=\"i-0\""), "series of forgotten instances are removed");

    let changes = t.tick(t0 + secs(601));
    assert_eq!(t.counts().total, 0);
    assert!(changes.is_empty(), "forgetting is not a state change");
    assert!(exposition(&registry).contains("seedwatch_agents_forgotten_total{reason=\"retention\"} 100"));
}

#[test]
fn unhealthy_and_down_raise_their_alert_and_recovery_or_forgetting_resolves_it() {
    let registry = DerivedRegistry::default();
    let center = crate::alerting::AlertCenter::start(Default::default(), &registry).expect("no destinations");
    let config =
        AgentHealthConfig { down_after: secs(60), window: secs(60), retention: secs(600), ..Default::default() };
    let (t, _) = tracker_alerting(config, Some(center.clone()));
    let firing = || {
        let mut names: Vec<String> = center.active().iter().map(|a| a.name().to_owned()).collect();
        names.sort();
        names
    };
    let t0 = Instant::now();
    t.activity("svc", "a", Activity { llm_calls: 10, llm_errors: 10, ..Default::default() }, t0);
    t.tick(t0);
    assert_eq!(firing(), ["AgentUnhealthy"]);
    let alert = &center.active()[0];
    assert_eq!((alert.labels["service"].as_str(), alert.labels["instance"].as_str()), ("svc", "a"));
    assert!(alert.annotations["description"].contains("LLM errors"), "{:?}", alert.annotations);
    t.tick(t0 + secs(61));
    assert_eq!(firing(), ["AgentDown"], "down replaces unhealthy");
    t.seen("svc", "a", t0 + secs(62));
    t.tick(t0 + secs(62));
    assert!(firing().is_empty(), "errors left the window and it is back: {:?}", firing());
    t.tick(t0 + secs(130));
    assert_eq!(firing(), ["AgentDown"]);
    t.tick(t0 + secs(700));
    assert!(firing().is_empty(), "forgotten instances do not stay down forever");
}
