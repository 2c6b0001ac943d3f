//! The built-in web dashboard: a page served at the admin server's root with every asset
//! embedded (no CDN), its JSON API under `/api/v1/`, and the bounded history it charts.
//! docs/dashboard.md describes the pages, the API and what the history costs.

mod api;
mod assets;
pub mod history;
mod recent;
mod sampler;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

pub use api::routes;
pub use recent::{RecentWorkflows, WorkflowRow};
pub use sampler::Sources;

use crate::alerting::AlertCenter;
use crate::config::Problem;
use crate::derived_metrics::{CounterFamily, DerivedRegistry, GaugeFamily, SeriesLimits};
use history::History;

/// The `ui` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Serve the dashboard at the admin server's root (default); `false`: the page and its
    /// API are not served (the history is not kept).
    #[serde(default = "crate::config::default_true")]
    pub enabled: bool,
    /// A trace UI's address for one trace, `{trace_id}` standing for the hex trace id, such
    /// as Jaeger's `http://localhost:16686/trace/{trace_id}`; unset or empty: trace ids are
    /// not links.
    #[serde(default)]
    pub trace_url_template: Option<String>,
    /// Workflows kept for the workflow table (default 200).
    #[serde(default = "default_recent_workflows")]
    pub recent_workflows: usize,
    /// Series the history keeps at most (default 2000); more are not charted and are counted.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
}

fn default_recent_workflows() -> usize {
    200
}

fn default_max_series() -> usize {
    2000
}

/// The most series `ui.max_series` may ask for (~2.6 KB of points each).
pub const MAX_SERIES_LIMIT: usize = 100_000;

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            enabled: true,
            trace_url_template: None,
            recent_workflows: default_recent_workflows(),
            max_series: default_max_series(),
        }
    }
}

impl UiConfig {
    /// The trace UI template, if one is set (an empty value, as an unset variable gives, is none).
    pub fn trace_url(&self) -> Option<&str> {
        self.trace_url_template.as_deref().filter(|t| !t.is_empty())
    }

    /// Validates, paths under `ui`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        if let Some(template) = self.trace_url() {
            let ok = template.contains("{trace_id}")
                && reqwest::Url::parse(&template.replace("{trace_id}", "0"))
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                problems.push(Problem::found_expected(
                    "trace_url_template",
                    template,
                    "an http(s) address containing `{trace_id}`, such as `http://localhost:16686/trace/{trace_id}`",
                ));
            }
        }
        if !(1..=10_000).contains(&self.recent_workflows) {
            problems.push(Problem::found_expected(
                "recent_workflows",
                self.recent_workflows.to_string(),
                "a number from 1 to 10000",
            ));
        }
        if !(1..=MAX_SERIES_LIMIT).contains(&self.max_series) {
            problems.push(Problem::found_expected(
                "max_series",
                self.max_series.to_string(),
                format!("a number from 1 to {MAX_SERIES_LIMIT}"),
            ));
        }
    }
}

/// What the dashboard's page and API read.
#[derive(Debug)]
pub struct Dashboard {
    config: UiConfig,
    history: Mutex<History>,
    sources: Option<Sources>,
    alerts: Option<Arc<AlertCenter>>,
    own: OwnMetrics,
}

/// The history's own series on `/metrics`.
#[derive(Debug)]
struct OwnMetrics {
    series: Arc<GaugeFamily>,
    bytes: Arc<GaugeFamily>,
    dropped: Arc<CounterFamily>,
}

impl Dashboard {
    /// A dashboard over `sources` (none when no `agent_metrics` processor runs: the page then
    /// says so), registering its own series on `derived`.
    pub fn new(
        config: UiConfig,
        sources: Option<Sources>,
        alerts: Option<Arc<AlertCenter>>,
        derived: &DerivedRegistry,
    ) -> Arc<Self> {
        let history = Mutex::new(History::new(config.max_series));
        let limits = SeriesLimits { max_series: 1, ttl: Duration::MAX };
        let own = OwnMetrics {
            series: derived.gauge(
                "seedwatch_dashboard_history_series",
                "Series the dashboard's history holds",
                &[],
                limits,
            ),
            bytes: derived.gauge(
                "seedwatch_dashboard_history_bytes",
                "Memory the dashboard's history holds (points, keys and map entries), approximately",
                &[],
                limits,
            ),
            dropped: derived.counter(
                "seedwatch_dashboard_history_series_dropped",
                "Samples of series the dashboard's history did not keep because it held ui.max_series",
                &[],
                limits,
            ),
        };
        Arc::new(Dashboard { config, history, sources, alerts, own })
    }

    fn history(&self) -> std::sync::MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Samples the sources into the history now.
    pub fn sample(&self) {
        if let Some(sources) = &self.sources {
            let now = crate::clock::unix_now() as u64;
            let mut history = self.history();
            let dropped_before = history.dropped;
            sources.sample(&mut history, now);
            self.own.series.set(&[], history.len() as f64);
            self.own.bytes.set(&[], history.bytes() as f64);
            self.own.dropped.inc(&[], (history.dropped - dropped_before) as f64);
        }
    }

    /// Samples every history step until the process ends.
    pub async fn run(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(Duration::from_secs(history::FINE.step));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.sample();
        }
    }
}

#[cfg(test)]
mod tests;
