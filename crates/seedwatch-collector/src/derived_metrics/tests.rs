use std::time::Duration;

use super::*;
use crate::telemetry::{Exposition, ExpositionFormat};

struct R {
    inner: DerivedRegistry,
    limits: SeriesLimits,
}

impl R {
    fn counter(&self, name: &str, help: &str, labels: &'static [&'static str]) -> std::sync::Arc<CounterFamily> {
        self.inner.counter(&format!("modelseed_{name}"), help, labels, self.limits)
    }
    fn gauge(&self, name: &str, help: &str, labels: &'static [&'static str]) -> std::sync::Arc<GaugeFamily> {
        self.inner.gauge(&format!("modelseed_{name}"), help, labels, self.limits)
    }
    fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &'static [&'static str],
        b: &[f64],
    ) -> std::sync::Arc<HistogramFamily> {
        self.inner.histogram(&format!("modelseed_{name}"), help, labels, b, self.limits)
    }
}

fn registry(max_series: usize, ttl: Duration) -> R {
    R { inner: DerivedRegistry::new(), limits: SeriesLimits { max_series, ttl } }
}

fn render(r: &R, format: ExpositionFormat) -> String {
    let mut out = String::new();
    r.inner.encode(&mut out, format);
    out
}

#[test]
fn counters_render_in_both_formats_with_escaped_labels() {
    let r = registry(100, Duration::from_secs(3600));
    let c = r.counter("tool_executions", "Tool executions", &["tool_name"]);
    c.inc(&["run_fba"], 2.0);
    c.inc(&["we\"ird\\tool\nname"], 1.0);
    c.inc(&["run_fba"], 1.0);
    c.inc(&["ignored"], -1.0);
    let text = render(&r, ExpositionFormat::Text004);
    assert!(text.contains("# TYPE modelseed_tool_executions_total counter\n"), "{text}");
    assert!(text.contains("modelseed_tool_executions_total{tool_name=\"run_fba\"} 3\n"), "{text}");
    assert!(text.contains("modelseed_tool_executions_total{tool_name=\"we\\\"ird\\\\tool\\nname\"} 1\n"), "{text}");
    assert!(!text.contains("ignored"));
    let om = render(&r, ExpositionFormat::OpenMetrics);
    assert!(om.contains("# TYPE modelseed_tool_executions counter\n"), "{om}");
    assert!(om.contains("modelseed_tool_executions_total{tool_name=\"run_fba\"} 3\n"));
}

#[test]
fn histograms_are_cumulative_with_exemplars_only_in_openmetrics() {
    let r = registry(100, Duration::from_secs(3600));
    let h = r.histogram("tool_duration_seconds", "Tool duration", &["tool_name"], &[1.0, 10.0]);
    h.observe(&["fba"], 0.5, Some(&[0xab; 16]));
    h.observe(&["fba"], 5.0, None);
    h.observe(&["fba"], 50.0, Some(&[1; 16]));
    let om = render(&r, ExpositionFormat::OpenMetrics);
    assert!(om.contains("modelseed_tool_duration_seconds_bucket{tool_name=\"fba\",le=\"1.0\"} 1 # {trace_id=\"abababababababababababababababab\"} 0.5 "), "{om}");
    assert!(om.contains("modelseed_tool_duration_seconds_bucket{tool_name=\"fba\",le=\"10.0\"} 2\n"), "{om}");
    assert!(om.contains("le=\"+Inf\"} 3 # {trace_id=\"01010101010101010101010101010101\"} 50 "), "{om}");
    assert!(om.contains("modelseed_tool_duration_seconds_sum{tool_name=\"fba\"} 55.5\n"));
    assert!(om.contains("modelseed_tool_duration_seconds_count{tool_name=\"fba\"} 3\n"));
    let text = render(&r, ExpositionFormat::Text004);
    assert!(!text.contains("trace_id"), "{text}");
    assert_eq!(h.get(&["fba"]), Some((3, 55.5)));
}

#[test]
fn series_beyond_the_limit_go_to_overflow_and_are_counted() {
    let r = registry(2, Duration::from_secs(3600));
    let c = r.counter("tool_executions", "Tool executions", &["tool_name"]);
    for i in 0..1000 {
        c.inc(&[&format!("tool-{i}")], 1.0);
    }
    c.inc(&["tool-0"], 1.0);
    let text = render(&r, ExpositionFormat::Text004);
    assert_eq!(c.get(&["tool-0"]), Some(2.0), "existing series keep counting");
    assert_eq!(c.get(&[OVERFLOW,]), Some(998.0));
    assert!(
        text.contains("seedwatch_derived_series_overflow_total{metric=\"modelseed_tool_executions\"} 998\n"),
        "{text}"
    );
    assert!(text.contains("seedwatch_derived_series{metric=\"modelseed_tool_executions\"} 3\n"), "{text}");
}

#[test]
fn idle_series_expire() {
    let r = registry(100, Duration::ZERO);
    let c = r.counter("llm_requests", "LLM requests", &["provider", "model"]);
    c.inc(&["openai", "gpt-4o"], 1.0);
    std::thread::sleep(Duration::from_millis(5));
    let text = render(&r, ExpositionFormat::Text004);
    assert!(!text.contains("gpt-4o"), "{text}");
    assert_eq!(c.get(&["openai", "gpt-4o"]), None);
}

#[test]
fn long_label_values_are_cut_counted_and_still_match() {
    let r = registry(100, Duration::from_secs(3600));
    let c = r.counter("tool_executions", "Tool executions", &["tool_name"]);
    let long = "é".repeat(400);
    let other = format!("{long}x");
    c.inc(&[&long], 1.0);
    c.inc(&[&long], 1.0);
    c.inc(&[&other], 1.0);
    assert_eq!(c.get(&[&long]), Some(2.0));
    let text = render(&r, ExpositionFormat::Text004);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("modelseed_tool_executions_total{")).collect();
    assert_eq!(lines.len(), 2, "values differing past the cut stay apart: {lines:?}");
    let max = crate::limits::strings::DEFAULT_MAX_STRING_BYTES;
    assert!(lines.iter().all(|l| l.len() < max + 60 && l.contains("…#")), "{lines:?}");
    assert!(text.contains("seedwatch_strings_truncated_total{kind=\"label\"} 3\n"), "{text}");
}

#[test]
fn gauges_keep_the_last_value() {
    let r = registry(100, Duration::from_secs(3600));
    let g = r.gauge("memory_usage_bytes", "Memory", &["service", "instance"]);
    g.set(&["agent", "a-1"], 10.0);
    g.set(&["agent", "a-1"], 7.0);
    g.set(&["agent", "a-1"], f64::NAN);
    let text = render(&r, ExpositionFormat::Text004);
    assert!(text.contains("# TYPE modelseed_memory_usage_bytes gauge\nmodelseed_memory_usage_bytes{service=\"agent\",instance=\"a-1\"} 7\n"), "{text}");
}

#[test]
fn the_same_family_registered_twice_is_shared_and_exposed_once() {
    let r = registry(100, Duration::from_secs(3600));
    let a = r.counter("tool_executions", "Tool executions", &["tool_name"]);
    let b = r.counter("tool_executions", "Tool executions", &["tool_name"]);
    a.inc(&["x"], 1.0);
    b.inc(&["x"], 1.0);
    let clash = r.gauge("tool_executions", "not a counter", &["tool_name"]);
    clash.set(&["x"], 99.0);
    let text = render(&r, ExpositionFormat::Text004);
    assert_eq!(text.matches("# TYPE modelseed_tool_executions_total").count(), 1, "{text}");
    assert!(text.contains("modelseed_tool_executions_total{tool_name=\"x\"} 2\n"));
    assert!(!text.contains("99"));
}
