//! The dashboard's JSON API (documented in docs/dashboard.md) and its routes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::history::{COARSE, FINE, Metric, Range, Tier};
use super::recent::WorkflowRow;
use super::sampler::summed_by;
use super::{Dashboard, Sources, assets};
use crate::agents::AgentCounts;
use crate::budgets::BudgetView;
use crate::clock::{unix_now, unix_seconds};

/// The routes: the page at `/`, its assets, and the API.
pub fn routes(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{file}", get(assets::file))
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/history/{metric}", get(history))
        .route("/api/v1/tools", get(tools))
        .route("/api/v1/workflows", get(workflows))
        .with_state(dashboard)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn no_sources() -> Response {
    error(StatusCode::NOT_FOUND, "no agent_metrics processor runs: add `processors: {agent_metrics: {}}` to the config")
}

/// Reads `limit` (default `default`, 1..=`max`) and the names in `allowed`; anything else is
/// refused, naming the parameter.
fn limit_param(query: &HashMap<String, String>, allowed: &[&str], default: usize, max: usize) -> Result<usize, String> {
    for key in query.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!("unknown parameter `{key}`; use {}", allowed.join(", ")));
        }
    }
    match query.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("`limit` must be a number from 1 to {max}, found `{v}`")),
    }
}

fn tier_param(query: &HashMap<String, String>) -> Result<Tier, String> {
    match query.get("range").map(String::as_str) {
        None | Some("1h") => Ok(FINE),
        Some("24h") => Ok(COARSE),
        Some(other) => Err(format!("`range` must be `1h` or `24h`, found `{other}`")),
    }
}

/// Totals since the collector started, as `/metrics` has them.
#[derive(Debug, Serialize)]
struct Totals {
    llm_requests: f64,
    llm_errors: f64,
    llm_cost_usd: f64,
    tokens: BTreeMap<String, f64>,
    tool_executions: f64,
    tool_errors: f64,
    requests: f64,
}

/// Rates over the last minute.
#[derive(Debug, Serialize)]
struct Rates {
    window_seconds: u64,
    llm_requests_per_second: f64,
    llm_errors_per_second: f64,
    tool_executions_per_second: f64,
    requests_per_second: f64,
    /// Failed / all LLM requests over the window; `null` without requests.
    llm_error_ratio: Option<f64>,
}

#[derive(Debug, Serialize)]
struct AlertRow {
    name: String,
    severity: String,
    summary: String,
    labels: BTreeMap<String, String>,
    starts_at: f64,
}

#[derive(Debug, Serialize)]
struct Overview {
    generated_at: f64,
    agents: AgentCounts,
    budgets: Vec<BudgetView>,
    totals: Totals,
    rates: Rates,
    alerts: Vec<AlertRow>,
    trace_url_template: Option<String>,
}

/// A family's total (0, not -0, when it has no series).
fn sum(family: &crate::derived_metrics::CounterFamily) -> f64 {
    summed_by(family, |_| ()).get(&()).copied().unwrap_or(0.0)
}

/// The label value at `i` (a family's label order), empty when absent.
fn label(i: usize) -> impl Fn(&[String]) -> String {
    move |labels| labels.get(i).cloned().unwrap_or_default()
}

fn totals(s: &Sources) -> Totals {
    Totals {
        llm_requests: sum(&s.llm_requests),
        llm_errors: sum(&s.llm_errors),
        llm_cost_usd: sum(&s.llm_cost),
        tokens: summed_by(&s.llm_tokens, label(2)),
        tool_executions: sum(&s.tool_executions),
        tool_errors: sum(&s.tool_errors),
        requests: sum(&s.requests),
    }
}

/// Brings the history up to now, so charts end at the present, not at the last tick.
fn fresh(d: &Dashboard) {
    if d.history().newest() < unix_now() as u64 {
        d.sample();
    }
}

async fn overview(State(d): State<Arc<Dashboard>>) -> Response {
    let Some(s) = &d.sources else { return no_sources() };
    fresh(&d);
    const WINDOW_POINTS: usize = 6;
    let window = WINDOW_POINTS as u64 * FINE.step;
    let rates = {
        let h = d.history();
        let per_second = |m| h.recent_increase(m, WINDOW_POINTS) / window as f64;
        let (requests, errors) = (
            h.recent_increase(Metric::LlmRequests, WINDOW_POINTS),
            h.recent_increase(Metric::LlmErrors, WINDOW_POINTS),
        );
        Rates {
            window_seconds: window,
            llm_requests_per_second: per_second(Metric::LlmRequests),
            llm_errors_per_second: per_second(Metric::LlmErrors),
            tool_executions_per_second: per_second(Metric::ToolExecutions),
            requests_per_second: per_second(Metric::Requests),
            llm_error_ratio: (requests > 0.0).then(|| errors / requests),
        }
    };
    let now = unix_now();
    let mut alerts: Vec<AlertRow> = d
        .alerts
        .as_ref()
        .map(|a| a.active())
        .unwrap_or_default()
        .into_iter()
        .map(|a| AlertRow {
            name: a.name().to_owned(),
            severity: a.labels.get("severity").cloned().unwrap_or_default(),
            summary: a.annotations.get("summary").cloned().unwrap_or_default(),
            starts_at: unix_seconds(a.starts_at),
            labels: a.labels,
        })
        .collect();
    alerts.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.starts_at.total_cmp(&a.starts_at)));
    Json(Overview {
        generated_at: now,
        agents: s.agents.counts(),
        budgets: s.budgets.as_ref().map(|b| b.views(now)).unwrap_or_default(),
        totals: totals(s),
        rates,
        alerts,
        trace_url_template: d.config.trace_url().map(str::to_owned),
    })
    .into_response()
}

const METRICS: [(&str, Metric); 9] = [
    ("llm_requests", Metric::LlmRequests),
    ("llm_errors", Metric::LlmErrors),
    ("llm_tokens", Metric::LlmTokens),
    ("llm_cost", Metric::LlmCost),
    ("tool_executions", Metric::ToolExecutions),
    ("tool_errors", Metric::ToolErrors),
    ("requests", Metric::Requests),
    ("agent_states", Metric::AgentStates),
    ("budget_spend", Metric::BudgetSpend),
];

/// Label names of each metric's series, in order.
fn label_names(metric: Metric) -> &'static [&'static str] {
    match metric {
        Metric::LlmRequests | Metric::LlmCost => &["provider", "model"],
        Metric::LlmErrors => &["provider", "error_type"],
        Metric::LlmTokens => &["type"],
        Metric::ToolExecutions | Metric::ToolErrors => &["tool_name"],
        Metric::Requests => &[],
        Metric::AgentStates => &["state"],
        Metric::BudgetSpend => &["budget"],
    }
}

#[derive(Debug, Serialize)]
struct HistoryBody {
    labels: &'static [&'static str],
    #[serde(flatten)]
    range: Range,
}

async fn history(
    State(d): State<Arc<Dashboard>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if d.sources.is_none() {
        return no_sources();
    }
    let Some((_, metric)) = METRICS.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = METRICS.iter().map(|(n, _)| *n).collect();
        return error(StatusCode::NOT_FOUND, format!("no history `{name}`; there are {}", names.join(", ")));
    };
    let (top, tier) = match limit_param(&query, &["limit", "range"], 10, 100).and_then(|l| Ok((l, tier_param(&query)?)))
    {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    fresh(&d);
    let range = d.history().range(*metric, tier, top);
    Json(HistoryBody { labels: label_names(*metric), range }).into_response()
}

/// A histogram quantile as PromQL's `histogram_quantile` computes it: linear within the bucket
/// the rank falls in, the highest finite bound when it falls in +Inf.
pub(super) fn quantile(bounds: &[f64], counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, count) in counts.iter().enumerate() {
        if (below + count) as f64 >= rank && *count > 0 {
            let Some(upper) = bounds.get(i) else { return bounds.last().copied() };
            let lower = if i == 0 { 0.0_f64.min(*upper) } else { bounds[i - 1] };
            return Some(lower + (upper - lower) * (rank - below as f64) / *count as f64);
        }
        below += count;
    }
    bounds.last().copied()
}

#[derive(Debug, Serialize)]
struct ToolRow {
    tool_name: String,
    executions: f64,
    errors: f64,
    error_ratio: Option<f64>,
    p50_seconds: Option<f64>,
    p95_seconds: Option<f64>,
    /// Executions per point over the range, oldest first.
    trend: Vec<Option<f32>>,
}

#[derive(Debug, Serialize)]
struct ToolsBody {
    /// Tools with executions.
    total: usize,
    step: u64,
    timestamps: Vec<u64>,
    tools: Vec<ToolRow>,
}

async fn tools(State(d): State<Arc<Dashboard>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(s) = &d.sources else { return no_sources() };
    let (limit, tier) =
        match limit_param(&query, &["limit", "range"], 100, 1000).and_then(|l| Ok((l, tier_param(&query)?))) {
            Ok(v) => v,
            Err(e) => return error(StatusCode::BAD_REQUEST, e),
        };
    let errors = summed_by(&s.tool_errors, label(0));
    let durations: HashMap<String, Vec<u64>> =
        s.tool_duration.snapshot().into_iter().map(|(l, c)| (l.into_iter().next().unwrap_or_default(), c)).collect();
    let mut rows: Vec<ToolRow> = s
        .tool_executions
        .snapshot()
        .into_iter()
        .map(|(labels, executions)| {
            let tool_name = labels.into_iter().next().unwrap_or_default();
            let errors = errors.get(&tool_name).copied().unwrap_or(0.0);
            let counts = durations.get(&tool_name);
            let q = |q| counts.and_then(|c| quantile(s.tool_duration.bounds(), c, q));
            ToolRow {
                error_ratio: (executions > 0.0).then(|| errors / executions),
                p50_seconds: q(0.5),
                p95_seconds: q(0.95),
                tool_name,
                executions,
                errors,
                trend: Vec::new(),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.executions.total_cmp(&a.executions).then_with(|| a.tool_name.cmp(&b.tool_name)));
    let total = rows.len();
    rows.truncate(limit);
    fresh(&d);
    let range = d.history().range(Metric::ToolExecutions, tier, usize::MAX);
    let mut trends: HashMap<String, Vec<Option<f32>>> =
        range.series.into_iter().map(|s| (s.labels.into_iter().next().unwrap_or_default(), s.values)).collect();
    for row in &mut rows {
        row.trend = trends.remove(&row.tool_name).unwrap_or_default();
    }
    Json(ToolsBody { total, step: range.step, timestamps: range.timestamps, tools: rows }).into_response()
}

#[derive(Debug, Serialize)]
struct WorkflowsBody {
    held: usize,
    trace_url_template: Option<String>,
    workflows: Vec<WorkflowRow>,
}

async fn workflows(State(d): State<Arc<Dashboard>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(s) = &d.sources else { return no_sources() };
    let limit = match limit_param(&query, &["limit"], 50, 10_000) {
        Ok(l) => l,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    Json(WorkflowsBody {
        held: s.workflows.len(),
        trace_url_template: d.config.trace_url().map(str::to_owned),
        workflows: s.workflows.newest(limit),
    })
    .into_response()
}
