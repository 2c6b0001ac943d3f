//! The workflow roll-up: per trace, the cost, tokens, tool calls and errors of the LLM and
//! tool spans under the workflow (or agent) root. When the root has arrived and no span of the
//! trace has come for `idle_timeout`, the workflow is closed: its cost is observed in
//! `{ns}_workflow_cost_usd{workflow_type}` and a summary log record goes to the exporters.
//! Memory is bounded by `max_traces`, and per trace: workflow names, ids and the resource
//! attributes kept for the summary are cut to `limits.max_string_bytes`, at most
//! [`MAX_RESOURCE_ATTRIBUTES`] scalar attributes are kept; what leaves early is counted in
//! `seedwatch_workflow_rollup_evicted_total{reason}`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hashbrown::HashMap;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use seedwatch_semconv::Tokens;

use super::config::WorkflowConfig;
use crate::dashboard::{RecentWorkflows, WorkflowRow};
use crate::derived_metrics::{CounterFamily, GaugeFamily, HistogramFamily};
use crate::limits::{StringCap, StringKind};
use crate::own_logs::{attribute, resource_logs};

/// Resource attributes kept per pending workflow for its summary record.
pub(super) const MAX_RESOURCE_ATTRIBUTES: usize = 32;
use crate::processors::LogEmitter;

mod sync;

/// What one agent span adds to its trace.
#[derive(Debug, Clone, Copy)]
pub(super) enum Contribution {
    /// A tool call.
    Tool { error: bool },
    /// An LLM call with its tokens and cost (`None`: unknown).
    Llm { error: bool, tokens: Tokens, cost: Option<f64> },
}

/// The workflow root span of a trace.
#[derive(Debug, Clone)]
pub(super) struct Root {
    pub name: String,
    pub id: Option<String>,
    pub failed: bool,
    pub start_ns: u64,
    pub end_ns: u64,
    pub span_id: Vec<u8>,
    /// No parent span: preferred over a nested workflow or agent span.
    pub top_level: bool,
}

/// What a trace's tool and LLM spans add up to.
#[derive(Debug, Default, Clone)]
pub(super) struct Totals {
    cost: f64,
    unpriced_llm_calls: u64,
    tokens: Tokens,
    tool_calls: u64,
    tool_errors: u64,
    llm_calls: u64,
    llm_errors: u64,
}

impl Totals {
    /// Adds one span's contribution.
    pub(super) fn add(&mut self, c: Contribution) {
        match c {
            Contribution::Tool { error } => {
                self.tool_calls += 1;
                self.tool_errors += u64::from(error);
            }
            Contribution::Llm { error, tokens, cost } => {
                self.llm_calls += 1;
                self.llm_errors += u64::from(error);
                self.tokens.input += tokens.input;
                self.tokens.output += tokens.output;
                self.tokens.cache_read += tokens.cache_read;
                self.tokens.cache_creation += tokens.cache_creation;
                self.tokens.reasoning += tokens.reasoning;
                match cost {
                    Some(cost) => self.cost += cost,
                    None => self.unpriced_llm_calls += 1,
                }
            }
        }
    }

    fn merge(&mut self, o: &Totals) {
        self.cost += o.cost;
        self.unpriced_llm_calls += o.unpriced_llm_calls;
        self.tokens.input += o.tokens.input;
        self.tokens.output += o.tokens.output;
        self.tokens.cache_read += o.tokens.cache_read;
        self.tokens.cache_creation += o.tokens.cache_creation;
        self.tokens.reasoning += o.tokens.reasoning;
        self.tool_calls += o.tool_calls;
        self.tool_errors += o.tool_errors;
        self.llm_calls += o.llm_calls;
        self.llm_errors += o.llm_errors;
    }
}

#[derive(Debug)]
struct Pending {
    root: Option<(Root, Option<Resource>)>,
    totals: Totals,
    first_seen: Instant,
    last_update: Instant,
}

/// Metrics of the roll-up itself.
#[derive(Debug)]
pub(super) struct RollupMetrics {
    pub workflow_cost: Arc<HistogramFamily>,
    pub evicted: Arc<CounterFamily>,
    pub pending: Arc<GaugeFamily>,
    pub summaries: Arc<CounterFamily>,
}

#[derive(Debug, Default)]
struct State {
    traces: HashMap<[u8; 16], Pending>,
    /// Trace ids in arrival order, for evicting the oldest in O(1); may hold ids already closed.
    order: VecDeque<([u8; 16], Instant)>,
    /// Shared state: traces pushed out of a full table, waiting for the next sync to hand them
    /// to Redis (closing them here would summarise part of a workflow). At most `max_traces`.
    handoff: Vec<([u8; 16], Pending)>,
}

/// The roll-up.
#[derive(Debug)]
pub(super) struct Rollup {
    config: WorkflowConfig,
    state: Mutex<State>,
    metrics: RollupMetrics,
    emitter: Option<LogEmitter>,
    strings: StringCap,
    /// The newest closed workflows, for the dashboard.
    recent: Arc<RecentWorkflows>,
    /// Workflows are closed by claims in Redis (see `sync`).
    shared: std::sync::atomic::AtomicBool,
}

fn trace_key(trace_id: &[u8]) -> Option<[u8; 16]> {
    <[u8; 16]>::try_from(trace_id).ok()
}

impl Rollup {
    pub(super) fn new(
        config: WorkflowConfig,
        metrics: RollupMetrics,
        emitter: Option<LogEmitter>,
        strings: StringCap,
        recent: Arc<RecentWorkflows>,
    ) -> Self {
        Rollup {
            config,
            state: Mutex::new(State::default()),
            metrics,
            emitter,
            strings,
            recent,
            shared: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds what some tool and LLM spans of a trace add up to.
    pub(super) fn contribute(&self, trace_id: &[u8], totals: &Totals) {
        let Some(key) = trace_key(trace_id) else { return };
        let mut closed = Vec::new();
        {
            let mut state = self.lock();
            self.entry(&mut state, key, &mut closed).totals.merge(totals);
        }
        self.close(closed);
    }

    /// Records a workflow root span of a trace (a top-level one wins over a nested one);
    /// `resource` is asked for only when the root is kept.
    pub(super) fn root(&self, trace_id: &[u8], root: Root, resource: impl FnOnce() -> Option<Resource>) {
        let Some(key) = trace_key(trace_id) else { return };
        let mut closed = Vec::new();
        {
            let mut state = self.lock();
            let pending = self.entry(&mut state, key, &mut closed);
            let replace = match &pending.root {
                None => true,
                Some((current, _)) => root.top_level && !current.top_level,
            };
            if replace {
                let root = Root {
                    name: self.strings.owned(&root.name, StringKind::Workflow),
                    id: root.id.map(|id| self.strings.owned(&id, StringKind::Workflow)),
                    ..root
                };
                pending.root = Some((root, resource().map(|r| bounded_resource(r, &self.strings))));
            }
        }
        self.close(closed);
    }

    /// The trace's pending entry, making room first if the table is full.
    fn entry<'s>(&self, state: &'s mut State, key: [u8; 16], closed: &mut Vec<([u8; 16], Pending)>) -> &'s mut Pending {
        let now = Instant::now();
        if !state.traces.contains_key(&key) {
            while state.traces.len() >= self.config.max_traces {
                let Some((oldest, seen)) = state.order.pop_front() else { break };
                // Skip stale entries: that trace was closed (and maybe seen again since).
                if state.traces.get(&oldest).is_some_and(|p| p.first_seen == seen)
                    && let Some(p) = state.traces.remove(&oldest)
                {
                    if !self.shared.load(std::sync::atomic::Ordering::Relaxed) {
                        self.metrics.evicted.inc(&["capacity"], 1.0);
                        closed.push((oldest, p));
                    } else if state.handoff.len() < self.config.max_traces {
                        state.handoff.push((oldest, p));
                    } else {
                        self.metrics.evicted.inc(&["dropped"], 1.0);
                    }
                }
            }
            state.order.push_back((key, now));
        }
        let pending = state.traces.entry(key).or_insert_with(|| Pending {
            root: None,
            totals: Totals::default(),
            first_seen: now,
            last_update: now,
        });
        pending.last_update = now;
        pending
    }

    /// Closes idle workflows and drops traces whose root never came.
    pub(super) fn tick(&self) {
        if self.shared.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        let mut closed = Vec::new();
        {
            let mut state = self.lock();
            let (idle, max_wait) = (self.config.idle_timeout, self.config.max_wait);
            let due: Vec<[u8; 16]> = state
                .traces
                .iter()
                .filter(|(_, p)| {
                    let quiet = now.saturating_duration_since(p.last_update);
                    (p.root.is_some() && quiet >= idle) || now.saturating_duration_since(p.first_seen) >= max_wait
                })
                .map(|(k, _)| *k)
                .collect();
            for key in due {
                if let Some(p) = state.traces.remove(&key) {
                    if p.root.is_none() {
                        self.metrics.evicted.inc(&["no_root"], 1.0);
                    }
                    closed.push((key, p));
                }
            }
            let State { traces, order, .. } = &mut *state;
            order.retain(|(k, seen)| traces.get(k).is_some_and(|p| p.first_seen == *seen));
            self.metrics.pending.set(&[], traces.len() as f64);
        }
        self.close(closed);
    }

    /// Closes every pending workflow that has a root (at shutdown; with shared state the
    /// sync thread sends them to Redis instead, for another replica to close).
    pub(super) fn flush(&self) {
        if self.shared.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let drained: Vec<_> = {
            let mut state = self.lock();
            state.order.clear();
            state.traces.drain().collect()
        };
        self.close(drained);
    }

    fn close(&self, closed: Vec<([u8; 16], Pending)>) {
        let mut records = Vec::new();
        // Only the newest of a batch can stay in the dashboard's table: rows for the others
        // would be built to be dropped at once.
        let rows_from = closed.len().saturating_sub(self.recent.capacity());
        let mut rows = Vec::new();
        for (i, (trace_id, pending)) in closed.into_iter().enumerate() {
            let Some((root, resource)) = pending.root else { continue };
            self.metrics.workflow_cost.observe(&[&root.name], pending.totals.cost, Some(&trace_id));
            if i >= rows_from {
                rows.push(row(&trace_id, &root, resource.as_ref(), &pending.totals));
            }
            if self.config.summaries && self.emitter.is_some() {
                records.push(summary(&trace_id, &root, resource, &pending.totals));
            }
        }
        self.recent.extend(rows);
        if records.is_empty() {
            return;
        }
        let n = records.len() as f64;
        let emitted =
            self.emitter.as_ref().is_some_and(|e| e.try_emit(ExportLogsServiceRequest { resource_logs: records }));
        self.metrics.summaries.inc(&[if emitted { "emitted" } else { "dropped" }], n);
        if !emitted {
            tracing::warn!(records = n, "workflow summaries dropped: the logs queue is full or closing");
        }
    }
}

/// The resource cut down to what a summary needs and memory allows: at most
/// [`MAX_RESOURCE_ATTRIBUTES`] attributes with scalar values, keys and strings cut to the cap.
fn bounded_resource(resource: Resource, strings: &StringCap) -> Resource {
    use any_value::Value;
    let given = resource.attributes.len();
    let attributes: Vec<KeyValue> = resource
        .attributes
        .into_iter()
        .filter_map(|kv| {
            let value = match kv.value.and_then(|v| v.value)? {
                Value::StringValue(s) if s.len() > strings.max() => {
                    Value::StringValue(strings.owned(&s, StringKind::Resource))
                }
                v @ (Value::StringValue(_) | Value::BoolValue(_) | Value::IntValue(_) | Value::DoubleValue(_)) => v,
                _ => return None,
            };
            Some(attribute(&strings.cap(&kv.key, StringKind::Resource), value))
        })
        .take(MAX_RESOURCE_ATTRIBUTES)
        .collect();
    if attributes.len() < given {
        strings.truncations().count(StringKind::Resource);
    }
    Resource { attributes, ..Default::default() }
}

/// The dashboard's row for a closed workflow.
fn row(trace_id: &[u8; 16], root: &Root, resource: Option<&Resource>, t: &Totals) -> WorkflowRow {
    let (service, instance) = super::resources::instance(resource);
    WorkflowRow {
        trace_id: hex::encode(trace_id),
        workflow_type: root.name.clone(),
        workflow_id: root.id.clone(),
        status: if root.failed { "failed" } else { "completed" },
        service: service.to_owned(),
        instance: instance.to_owned(),
        ended_at: root.end_ns as f64 / 1e9,
        duration_seconds: root.end_ns.saturating_sub(root.start_ns) as f64 / 1e9,
        cost_usd: t.cost,
        cost_complete: t.unpriced_llm_calls == 0,
        tokens: t.tokens.input + t.tokens.output,
        tool_calls: t.tool_calls,
        tool_errors: t.tool_errors,
        llm_calls: t.llm_calls,
        llm_errors: t.llm_errors,
    }
}

fn int(key: &str, v: u64) -> KeyValue {
    attribute(key, any_value::Value::IntValue(i64::try_from(v).unwrap_or(i64::MAX)))
}

/// The workflow summary: one log record, `event.name = seedwatch.workflow.summary`.
fn summary(trace_id: &[u8; 16], root: &Root, resource: Option<Resource>, t: &Totals) -> ResourceLogs {
    use any_value::Value::{BoolValue, DoubleValue, StringValue};
    let status = if root.failed { "failed" } else { "completed" };
    let duration = root.end_ns.saturating_sub(root.start_ns) as f64 / 1e9;
    let mut attributes = vec![
        attribute("event.name", StringValue("seedwatch.workflow.summary".into())),
        attribute("workflow.type", StringValue(root.name.clone())),
        attribute("workflow.status", StringValue(status.into())),
        attribute("workflow.duration_seconds", DoubleValue(duration)),
        attribute("workflow.cost_usd", DoubleValue(t.cost)),
        attribute("workflow.cost_complete", BoolValue(t.unpriced_llm_calls == 0)),
        int("workflow.tokens.input", t.tokens.input),
        int("workflow.tokens.output", t.tokens.output),
        int("workflow.tokens.cache_read", t.tokens.cache_read),
        int("workflow.tokens.cache_creation", t.tokens.cache_creation),
        int("workflow.tokens.reasoning", t.tokens.reasoning),
        int("workflow.tool_calls", t.tool_calls),
        int("workflow.tool_errors", t.tool_errors),
        int("workflow.llm_calls", t.llm_calls),
        int("workflow.llm_errors", t.llm_errors),
    ];
    if let Some(id) = &root.id {
        attributes.push(attribute("workflow.id", StringValue(id.clone())));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let (severity, text) = if root.failed { (SeverityNumber::Error, "ERROR") } else { (SeverityNumber::Info, "INFO") };
    let record = LogRecord {
        time_unix_nano: root.end_ns,
        observed_time_unix_nano: now,
        severity_number: severity as i32,
        severity_text: text.into(),
        body: Some(AnyValue { value: Some(StringValue(format!("workflow {} {status}", root.name))) }),
        attributes,
        trace_id: trace_id.to_vec(),
        span_id: root.span_id.clone(),
        event_name: "seedwatch.workflow.summary".into(),
        ..Default::default()
    };
    resource_logs(resource, "seedwatch.workflow", vec![record])
}
