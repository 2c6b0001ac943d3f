use super::api::quantile;
use super::history::{BYTES_PER_SERIES, COARSE, FINE, History, Metric};
use super::*;

const T0: u64 = 1_700_000_000; // a multiple of 300 and of 10

#[test]
fn counters_are_kept_as_increases_per_point_at_both_resolutions() {
    let mut h = History::new(10);
    h.counter(Metric::LlmRequests, &["openai", "gpt-4o"], 5.0, T0);
    h.counter(Metric::LlmRequests, &["openai", "gpt-4o"], 8.0, T0 + 10);
    h.counter(Metric::LlmRequests, &["openai", "gpt-4o"], 8.0, T0 + 20);
    h.counter(Metric::LlmRequests, &["openai", "gpt-4o"], 10.0, T0 + 25); // same point as +20
    let fine = h.range(Metric::LlmRequests, FINE, 10);
    assert_eq!(fine.step, 10);
    assert_eq!(fine.timestamps.len(), FINE.points);
    assert_eq!(fine.timestamps.last(), Some(&(T0 + 20)));
    let values = &fine.series[0].values;
    let n = values.len();
    assert_eq!(&values[n - 3..], &[Some(5.0), Some(3.0), Some(2.0)]);
    assert_eq!(values[n - 4], None, "before the series began: no data, not zero");
    assert_eq!(fine.series[0].total, 10.0);
    let coarse = h.range(Metric::LlmRequests, COARSE, 10);
    assert_eq!(coarse.series[0].values.last(), Some(&Some(10.0)));
    assert_eq!(coarse.series[0].total, 10.0);
}

#[test]
fn a_counter_reset_counts_the_new_total_and_skipped_points_are_zero() {
    let mut h = History::new(10);
    h.counter(Metric::ToolExecutions, &["fba"], 100.0, T0);
    h.counter(Metric::ToolExecutions, &["fba"], 3.0, T0 + 40); // reset (series expired, came back)
    let r = h.range(Metric::ToolExecutions, FINE, 10);
    let v = &r.series[0].values;
    let n = v.len();
    assert_eq!(&v[n - 5..], &[Some(100.0), Some(0.0), Some(0.0), Some(0.0), Some(3.0)]);
}

#[test]
fn the_ring_forgets_what_is_older_than_its_span() {
    let mut h = History::new(10);
    h.counter(Metric::Requests, &[], 1.0, T0);
    h.counter(Metric::Requests, &[], 2.0, T0 + 10 * FINE.points as u64); // exactly one ring later
    let r = h.range(Metric::Requests, FINE, 10);
    assert_eq!(r.series[0].values.iter().flatten().sum::<f32>(), 1.0, "the first point fell out of the hour");
    assert_eq!(r.series[0].values.len(), FINE.points);
}

#[test]
fn gauges_keep_the_last_value_of_a_point() {
    let mut h = History::new(10);
    h.gauge(Metric::AgentStates, &["healthy"], 3.0, T0);
    h.gauge(Metric::AgentStates, &["healthy"], 4.0, T0 + 5);
    let r = h.range(Metric::AgentStates, FINE, 10);
    assert_eq!(r.series[0].values.last(), Some(&Some(4.0)));
    assert_eq!(r.series[0].total, 4.0);
}

#[test]
fn the_largest_series_are_shown_and_the_rest_summed() {
    let mut h = History::new(100);
    for i in 0..12u64 {
        h.counter(Metric::ToolExecutions, &[&format!("tool-{i:02}")], (i + 1) as f64, T0);
    }
    let r = h.range(Metric::ToolExecutions, FINE, 3);
    assert_eq!(r.series_held, 12);
    let names: Vec<&str> = r.series.iter().map(|s| s.labels[0].as_str()).collect();
    assert_eq!(names, ["tool-11", "tool-10", "tool-09", "other"]);
    assert_eq!(r.series[3].total, (1..=9).sum::<u64>() as f64);
}

#[test]
fn the_store_is_bounded_and_counts_what_it_did_not_keep() {
    let mut h = History::new(50);
    for i in 0..10_000 {
        h.counter(Metric::ToolExecutions, &[&format!("attack-{i}")], 1.0, T0);
    }
    assert_eq!(h.len(), 50);
    assert_eq!(h.dropped, 9_950);
    let per_series = h.bytes() / h.len();
    assert!((BYTES_PER_SERIES..BYTES_PER_SERIES + 400).contains(&per_series), "{per_series}");
}

#[test]
fn series_idle_for_a_day_are_dropped() {
    let mut h = History::new(10);
    h.counter(Metric::ToolExecutions, &["old"], 1.0, T0);
    h.counter(Metric::ToolExecutions, &["busy"], 1.0, T0);
    h.counter(Metric::ToolExecutions, &["busy"], 2.0, T0 + 86_000);
    h.prune(T0 + 86_400);
    assert_eq!(h.len(), 1);
    assert_eq!(h.range(Metric::ToolExecutions, FINE, 10).series[0].labels, ["busy"]);
}

#[test]
fn quantiles_match_promql_histogram_quantile() {
    let bounds = [0.1, 0.5, 1.0];
    // 10 in (0, 0.1], 10 in (0.1, 0.5], 0 in (0.5, 1], 0 above.
    assert_eq!(quantile(&bounds, &[10, 10, 0, 0], 0.5), Some(0.1));
    let p75 = quantile(&bounds, &[10, 10, 0, 0], 0.75);
    assert!(p75.is_some_and(|q| (q - 0.3).abs() < 1e-12), "{p75:?}");
    assert_eq!(quantile(&bounds, &[0, 0, 0, 5], 0.5), Some(1.0), "in +Inf: the highest finite bound");
    assert_eq!(quantile(&bounds, &[0, 0, 0, 0], 0.5), None);
}

#[test]
fn config_errors_name_the_key_and_the_fix() {
    let mut problems = Vec::new();
    UiConfig { trace_url_template: Some("jaeger/trace".into()), max_series: 0, ..UiConfig::default() }
        .validate(&mut problems);
    let text: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(text[0].contains("trace_url_template") && text[0].contains("{trace_id}"), "{text:?}");
    assert!(text[1].contains("max_series"), "{text:?}");
    let mut none = Vec::new();
    UiConfig { trace_url_template: Some("http://localhost:16686/trace/{trace_id}".into()), ..UiConfig::default() }
        .validate(&mut none);
    assert!(none.is_empty());
}

#[test]
fn recent_workflows_keep_the_newest_first_and_stay_bounded() {
    let recent = RecentWorkflows::new(3);
    recent.extend((0..5).map(|i| WorkflowRow {
        trace_id: format!("{i:032x}"),
        workflow_type: "model_analysis".into(),
        workflow_id: None,
        status: "completed",
        service: "modelseed-agent".into(),
        instance: "vm-1".into(),
        ended_at: i as f64,
        duration_seconds: 1.0,
        cost_usd: 0.0,
        cost_complete: true,
        tokens: 0,
        tool_calls: 0,
        tool_errors: 0,
        llm_calls: 0,
        llm_errors: 0,
    }));
    let ended: Vec<f64> = recent.newest(10).iter().map(|r| r.ended_at).collect();
    assert_eq!(ended, [4.0, 3.0, 2.0]);
}

mod routes {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;

    use super::super::{Dashboard, RecentWorkflows, Sources, UiConfig, routes};
    use crate::agents::{AgentTracker, TrackerMetrics};
    use crate::derived_metrics::{DerivedRegistry, SeriesLimits};

    fn dashboard(with_sources: bool) -> (Arc<Dashboard>, Option<Sources>) {
        let r = DerivedRegistry::default();
        let limits = SeriesLimits { max_series: 100, ttl: Duration::from_secs(600) };
        let metrics = TrackerMetrics::register(&r, "modelseed", limits, limits);
        let agents = Arc::new(AgentTracker::new(Default::default(), metrics, None, None, r.strings().clone()));
        let sources = Sources {
            tool_executions: r.counter("tool_executions", "h", &["tool_name"], limits),
            tool_errors: r.counter("tool_errors", "h", &["tool_name", "error_type"], limits),
            tool_duration: r.histogram("tool_duration_seconds", "h", &["tool_name"], &[0.1, 1.0], limits),
            llm_requests: r.counter("llm_requests", "h", &["provider", "model"], limits),
            llm_errors: r.counter("llm_errors", "h", &["provider", "error_type"], limits),
            llm_tokens: r.counter("llm_tokens", "h", &["provider", "model", "type"], limits),
            llm_cost: r.counter("llm_cost_usd", "h", &["provider", "model"], limits),
            requests: r.counter("requests", "h", &["method", "endpoint"], limits),
            agents,
            budgets: None,
            workflows: Arc::new(RecentWorkflows::new(10)),
        };
        let d = Dashboard::new(UiConfig::default(), with_sources.then(|| sources.clone()), None, &r);
        (d, Some(sources))
    }

    async fn get(d: &Arc<Dashboard>, path: &str) -> (StatusCode, String, serde_json::Value) {
        let response = routes(d.clone())
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let ctype = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, ctype, json)
    }

    #[tokio::test]
    async fn the_api_answers_with_the_families_figures_and_names_wrong_parameters() {
        let (d, sources) = dashboard(true);
        let s = sources.expect("sources");
        s.tool_executions.inc(&["fba"], 4.0);
        s.tool_errors.inc(&["fba", "SolverError"], 1.0);
        for v in [0.05, 0.05, 0.5, 0.5] {
            s.tool_duration.observe(&["fba"], v, None);
        }
        s.llm_requests.inc(&["openai", "gpt-4o"], 3.0);
        s.llm_cost.inc(&["openai", "gpt-4o"], 0.25);
        s.llm_tokens.inc(&["openai", "gpt-4o", "input"], 100.0);

        let (status, _, overview) = get(&d, "/api/v1/overview").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(overview["totals"]["tool_executions"], 4.0);
        assert_eq!(overview["totals"]["tool_errors"], 1.0);
        assert_eq!(overview["totals"]["llm_cost_usd"], 0.25);
        assert_eq!(overview["totals"]["tokens"]["input"], 100.0);
        assert_eq!(overview["totals"]["llm_errors"], 0.0);
        assert!(overview["totals"]["llm_errors"].as_f64().is_some_and(|v| v.is_sign_positive()), "not -0");

        let (status, _, tools) = get(&d, "/api/v1/tools?limit=5").await;
        assert_eq!(status, StatusCode::OK);
        let fba = &tools["tools"][0];
        assert_eq!(
            (fba["tool_name"].as_str(), fba["executions"].as_f64(), fba["errors"].as_f64()),
            (Some("fba"), Some(4.0), Some(1.0))
        );
        assert_eq!(fba["p50_seconds"], 0.1, "the median falls at the first bucket's bound");
        assert_eq!(fba["trend"].as_array().map(Vec::len), Some(360));

        let (status, _, history) = get(&d, "/api/v1/history/llm_requests?range=24h").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((history["step"].as_u64(), history["labels"][1].as_str()), (Some(300), Some("model")));
        assert_eq!(history["series"][0]["total"], 3.0);

        for (path, expected, says) in [
            ("/api/v1/history/nope", StatusCode::NOT_FOUND, "llm_requests"),
            ("/api/v1/history/llm_cost?range=7d", StatusCode::BAD_REQUEST, "`range`"),
            ("/api/v1/tools?limit=0", StatusCode::BAD_REQUEST, "`limit`"),
            ("/api/v1/workflows?page=2", StatusCode::BAD_REQUEST, "`page`"),
        ] {
            let (status, _, body) = get(&d, path).await;
            assert_eq!(status, expected, "{path}");
            assert!(body["error"].as_str().is_some_and(|e| e.contains(says)), "{path}: {body}");
        }
    }

    #[tokio::test]
    async fn without_an_agent_metrics_processor_the_page_loads_and_the_api_says_why() {
        let (d, _) = dashboard(false);
        let (status, _, body) = get(&d, "/api/v1/overview").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body["error"].as_str().is_some_and(|e| e.contains("agent_metrics")), "{body}");
        let response =
            routes(d.clone()).oneshot(Request::get("/").body(Body::empty()).expect("request")).await.expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        let csp = response.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        for (asset, ctype) in [
            ("/assets/app.js", "text/javascript"),
            ("/assets/uPlot.iife.min.js", "text/javascript"),
            ("/assets/favicon.svg", "image/svg+xml"),
        ] {
            let (status, got, _) = get(&d, asset).await;
            assert_eq!(status, StatusCode::OK, "{asset}");
            assert!(got.starts_with(ctype), "{asset}: {got}");
        }
        assert_eq!(get(&d, "/assets/../Cargo.toml").await.0, StatusCode::NOT_FOUND);
    }
}
