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
        service: None,
        instance: None,
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
