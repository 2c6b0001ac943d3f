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
    let metrics = TrackerMetrics::register(&registry, "modelseed", limits, limits);
    let strings = registry.strings().clone();
    (AgentTracker::new(config, metrics, None, alerts, strings), registry)
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

    // CPU is shown, not judged; nonsense is ignored.
    assert_eq!(t.snapshot(t0 + secs(73))[0].cpu_percent, None);
    t.cpu("svc", "a", 37.5, t0 + secs(74));
    t.cpu("svc", "a", f64::NAN, t0 + secs(74));
    assert_eq!(t.snapshot(t0 + secs(74))[0].cpu_percent, Some(37.5));
    assert!(t.tick(t0 + secs(74)).is_empty());
}

#[test]
fn a_full_tracker_counts_new_instances_instead_of_forgetting_tracked_ones() {
    let config =
        AgentHealthConfig { down_after: secs(60), retention: secs(600), max_agents: 100, ..Default::default() };
    let (t, registry) = tracker(config);
    let t0 = Instant::now();
    for i in 0..250 {
        t.seen("svc", &format!("i-{i}"), t0 + Duration::from_millis(i));
    }
    t.tick(t0 + secs(1));
    let counts = t.counts();
    assert_eq!((counts.total, counts.untracked), (100, 150));
    let view = t.snapshot(t0 + secs(1));
    assert!(view.iter().all(|a| a.instance.trim_start_matches("i-").parse::<u32>().is_ok_and(|n| n < 100)));
    let text = exposition(&registry);
    assert!(text.contains("seedwatch_agents_untracked_total 150"), "{text}");
    assert!(!text.contains("instance=\"i-100\""), "untracked instances have no series");

    // Silent ones are down, still tracked, until the retention period passes.
    t.tick(t0 + secs(61));
    assert_eq!(t.counts().down, 100);
    t.seen("svc", "late", t0 + secs(62));
    assert_eq!(t.counts().untracked, 151, "a down instance is not pushed out either");
    let changes = t.tick(t0 + secs(601));
    assert_eq!(t.counts().total, 0);
    assert!(changes.is_empty(), "forgetting is not a state change");
    assert!(exposition(&registry).contains("seedwatch_agents_forgotten_total{reason=\"retention\"} 100"));
    t.seen("svc", "late", t0 + secs(602));
    assert_eq!(t.counts().total, 1, "room again once forgotten");
}

#[test]
fn a_flood_of_new_instances_leaves_a_live_agent_and_its_alert_alone() {
    let registry = DerivedRegistry::default();
    let center = crate::alerting::AlertCenter::start(Default::default(), &registry).expect("no destinations");
    let config = AgentHealthConfig { max_agents: 50, window: secs(60), ..Default::default() };
    let (t, _) = tracker_alerting(config, Some(center.clone()));
    let t0 = Instant::now();
    t.reported("modelseed-agent", "real", "database", HealthState::Unhealthy, t0);
    t.tick(t0);
    let alerts_before = center.active();
    assert_eq!(alerts_before.len(), 1);
    for second in 1..=30u64 {
        let now = t0 + secs(second);
        for i in 0..1000 {
            t.seen("flood", &format!("{second}-{i}"), now);
        }
        t.reported("modelseed-agent", "real", "database", HealthState::Unhealthy, now);
        t.tick(now);
        let page = t.page(now, &PageRequest { limit: 1, state: Some(HealthState::Unhealthy), ..Default::default() });
        assert_eq!(page.agents[0].instance, "real", "second {second}");
        assert_eq!(center.active(), alerts_before, "second {second}: the alert is unchanged");
    }
    assert_eq!(t.counts().untracked, 30_000 - 49);
}

#[test]
fn identities_and_checks_are_bounded() {
    let config = AgentHealthConfig { max_checks_per_agent: 3, ..Default::default() };
    let (t, registry) = tracker(config);
    let now = Instant::now();
    let huge = |c: char| c.to_string().repeat(3 << 20);
    t.seen("svc", &huge('a'), now);
    t.seen("svc", &format!("{}b", huge('a')), now);
    for i in 0..5 {
        let check = format!("{}{i}", huge('c'));
        t.reported("svc", "small", &check, HealthState::Degraded, now);
    }
    t.tick(now);
    let all = t.snapshot(now);
    assert_eq!(all.len(), 3, "two huge instances stay two");
    let cap = registry.strings().max();
    assert!(all.iter().all(|a| a.instance.len() <= cap && a.service.len() <= cap));
    let small = all.iter().find(|a| a.instance == "small").expect("small");
    assert_eq!(small.checks.len(), 3);
    assert!(small.checks.keys().all(|c| c.len() <= cap && c.contains("…#")));
    assert!(small.reasons.iter().any(|r| r.contains("more than 3 checks")), "{:?}", small.reasons);
    let text = exposition(&registry);
    assert!(text.contains("seedwatch_strings_truncated_total{kind=\"check\"} 5"), "{text}");
    let body = serde_json::to_string(&t.page(now, &PageRequest { limit: 100, ..Default::default() })).expect("json");
    assert!(body.len() < 8 * 1024, "the answer is small: {} bytes", body.len());
}

#[test]
fn pages_cover_every_instance_once_in_order() {
    let (t, _) = tracker(AgentHealthConfig::default());
    let now = Instant::now();
    for i in 0..250 {
        t.seen(&format!("svc-{}", i % 7), &format!("i-{i:03}"), now);
    }
    for i in 0..10 {
        let a = Activity { llm_calls: 50, llm_errors: 50, ..Default::default() };
        t.activity(&format!("svc-{}", i % 7), &format!("i-{i:03}"), a, now);
    }
    t.tick(now);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = t.page(now, &PageRequest { limit: 40, after: after.clone(), state: None });
        assert_eq!(page.counts.total, 250);
        seen.extend(page.agents.iter().map(|a| (a.state, a.service.clone(), a.instance.clone())));
        match page.next {
            Some(cursor) => after = Some(Position::decode(&cursor).expect("cursor")),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250);
    assert!(seen[..10].iter().all(|(s, _, _)| *s == HealthState::Unhealthy), "worst first");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| (std::cmp::Reverse(a.0), &a.1, &a.2).cmp(&(std::cmp::Reverse(b.0), &b.1, &b.2)));
    sorted.dedup();
    assert_eq!(sorted, seen, "in order, none twice");
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

/// What Redis does with the replicas' deltas (see `shared::agents`): activity added per
/// bucket, the latest last-seen kept, everything else last write wins.
fn merge_in_redis(redis: &mut std::collections::BTreeMap<(String, String), AgentDelta>, deltas: Vec<AgentDelta>) {
    for d in deltas {
        let entry = redis.entry((d.service.clone(), d.instance.clone())).or_insert_with(|| AgentDelta {
            buckets: Vec::new(),
            seen: 0.0,
            ..d.clone()
        });
        entry.seen = entry.seen.max(d.seen);
        entry.memory = d.memory.or(entry.memory);
        for (b, counts) in d.buckets {
            match entry.buckets.iter_mut().find(|(eb, _)| *eb == b) {
                Some((_, c)) => c.iter_mut().zip(counts).for_each(|(c, n)| *c += n),
                None => entry.buckets.push((b, counts)),
            }
        }
    }
}

#[test]
fn replicas_that_each_see_part_of_an_agent_agree_on_one_state() {
    // Three LLM errors a minute make it unhealthy; each replica sees two.
    let config = AgentHealthConfig { window: secs(60), llm_error_rate: 0.05, ..Default::default() };
    let alerts = crate::alerting::AlertCenter::start(Default::default(), &DerivedRegistry::default()).expect("center");
    let (leader, leader_registry) = tracker_alerting(config.clone(), Some(alerts.clone()));
    let (follower, follower_registry) = tracker(config);
    leader.share();
    follower.share();
    let t0 = Instant::now();
    let errors = Activity { llm_calls: 2, llm_errors: 2, ..Default::default() };
    leader.activity("svc", "a-1", errors, t0);
    follower.activity("svc", "a-1", errors, t0);
    follower.activity("svc", "b-1", Activity { llm_calls: 1, ..Default::default() }, t0);
    assert_eq!(leader.tick(t0), vec![], "with shared state tick does not evaluate");

    let mut redis = std::collections::BTreeMap::new();
    merge_in_redis(&mut redis, leader.take_deltas());
    merge_in_redis(&mut redis, follower.take_deltas());
    assert!(leader.take_deltas().is_empty(), "taken once");
    let shared: Vec<AgentDelta> = redis.values().cloned().collect();
    leader.merge(shared.clone(), t0 + secs(1));
    follower.merge(shared, t0 + secs(1));

    // On its own share neither would call a-1 unhealthy (2 errors in 60 s = 0.033/s).
    let (states, expired) = leader.evaluate_shared(t0 + secs(1));
    assert!(expired.is_empty());
    let of = |who: &str| states.iter().find(|s| s.instance == who).map(|s| s.state);
    assert_eq!((of("a-1"), of("b-1")), (Some(HealthState::Unhealthy), Some(HealthState::Healthy)));
    assert_eq!(alerts.active().len(), 1, "the lease holder raised AgentUnhealthy");
    follower.adopt(&states, t0 + secs(1));
    let view = |t: &AgentTracker| {
        t.snapshot(t0 + secs(1)).into_iter().map(|a| (a.instance, a.state, a.llm_error_rate)).collect::<Vec<_>>()
    };
    assert_eq!(view(&leader), view(&follower));
    assert!((view(&follower)[0].2 - 4.0 / 60.0).abs() < 1e-9, "{:?}", view(&follower));
    let up = "modelseed_agent_health_state{service=\"svc\",instance=\"a-1\",state=\"unhealthy\"} 1";
    assert!(exposition(&leader_registry).contains(up) && exposition(&follower_registry).contains(up));

    // A delta that could not be sent comes back with the next one.
    follower.activity("svc", "a-1", errors, t0 + secs(2));
    let lost = follower.take_deltas();
    follower.restore(lost);
    let again = follower.take_deltas();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].buckets.iter().map(|(_, c)| c[3]).sum::<u32>(), 2);

    // Losing the lease drops the alerts without resolving them (the new holder sends them).
    leader.withdraw_alerts();
    assert!(alerts.active().is_empty());
    leader.announce_current();
    assert_eq!(alerts.active().len(), 1, "taking the lease back sends what fires");
}
