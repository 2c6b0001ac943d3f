//! The GenAI conventions' own histograms (`gen_ai.client.operation.duration`,
//! `gen_ai.client.token.usage`, `gen_ai.execute_tool.duration`, `gen_ai.invoke_agent.duration`,
//! `gen_ai.workflow.duration`), derived from spans with the conventions' bucket advice, so
//! dashboards built on the conventions work for agents whose instrumentation sends spans only.
//!
//! An agent that sends one of these metrics itself (the seedwatch agent crate sends the first
//! two) has it passed through to the exporters untouched; deriving it from its spans as well
//! would count its calls twice wherever both arrive. In `auto` mode the collector therefore
//! notes, per `service.name`, which of them a service sends, and derives only the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use seedwatch_semconv::metric_names::gen_ai as names;
use serde::Deserialize;

use super::resources::instance;
use crate::derived_metrics::{DerivedRegistry, HistogramFamily, Observation, SeriesLimits};

/// Whether the GenAI histograms are derived from spans. Off by default: they cost about as
/// much again as the rest of the span derivation (criterion `agent_metrics_process`: 49.0 µs
/// against 35.2 µs per 100 load-generator spans), which would cost the collector about a
/// sixth of its throughput; switch them on where conventions-based dashboards need them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenAiMetricsMode {
    /// For every service, except the histograms a service sends itself.
    Auto,
    /// For every service, whatever it sends.
    Always,
    /// Never (the histograms are not registered).
    #[default]
    Off,
}

/// Services whose own GenAI metrics were seen: at most this many are remembered (beyond it,
/// a new service's histograms are derived, and may duplicate its own).
const MAX_SENDERS: usize = 10_000;

/// The histograms, and which services send which of them.
#[derive(Debug)]
pub(super) struct GenAiMetrics {
    mode: GenAiMetricsMode,
    pub operation_duration: Arc<HistogramFamily>,
    pub token_usage: Arc<HistogramFamily>,
    pub tool_duration: Arc<HistogramFamily>,
    pub agent_duration: Arc<HistogramFamily>,
    pub workflow_duration: Arc<HistogramFamily>,
    /// `service.name` -> bits of the histograms it sends itself.
    senders: RwLock<HashMap<Box<str>, u8>>,
    any_sender: AtomicBool,
}

/// Each histogram's OTLP metric name with its bit: the one place the two are paired.
const HISTOGRAMS: [(&str, Histogram); 5] = [
    (names::CLIENT_OPERATION_DURATION, Histogram::OPERATION_DURATION),
    (names::CLIENT_TOKEN_USAGE, Histogram::TOKEN_USAGE),
    (names::EXECUTE_TOOL_DURATION, Histogram::EXECUTE_TOOL_DURATION),
    (names::INVOKE_AGENT_DURATION, Histogram::INVOKE_AGENT_DURATION),
    (names::WORKFLOW_DURATION, Histogram::WORKFLOW_DURATION),
];

/// Every histogram's bit.
const ALL: u8 = (1 << HISTOGRAMS.len()) - 1;

/// The bit of the histogram an OTLP metric named `name` is, if it is one.
fn bit(name: &str) -> Option<u8> {
    HISTOGRAMS.iter().find(|(n, _)| *n == name).map(|(_, h)| h.0)
}

impl GenAiMetrics {
    /// Registers the histograms, unless the mode is `off`.
    pub(super) fn register(mode: GenAiMetricsMode, registry: &DerivedRegistry, limits: SeriesLimits) -> Option<Self> {
        if mode == GenAiMetricsMode::Off {
            return None;
        }
        let duration = |name: &str, help: &str, labels: &'static [&'static str]| {
            registry.histogram(&names::prometheus_name(name), help, labels, &names::DURATION_BUCKETS, limits)
        };
        Some(GenAiMetrics {
            mode,
            operation_duration: duration(
                names::CLIENT_OPERATION_DURATION,
                "GenAI operation duration in seconds (from LLM-call spans)",
                &["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"],
            ),
            token_usage: registry.histogram(
                &names::prometheus_name(names::CLIENT_TOKEN_USAGE),
                "Tokens used per GenAI operation, input and output (from LLM-call spans)",
                &["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"],
                &names::TOKEN_BUCKETS,
                limits,
            ),
            tool_duration: duration(
                names::EXECUTE_TOOL_DURATION,
                "Tool execution duration in seconds (from tool spans)",
                &["gen_ai_tool_name", "error_type"],
            ),
            agent_duration: duration(
                names::INVOKE_AGENT_DURATION,
                "Agent invocation duration in seconds (from agent spans)",
                &["gen_ai_agent_name", "error_type"],
            ),
            workflow_duration: duration(
                names::WORKFLOW_DURATION,
                "Workflow duration in seconds (from workflow spans)",
                &["gen_ai_workflow_name", "error_type"],
            ),
            senders: RwLock::new(HashMap::new()),
            any_sender: AtomicBool::new(false),
        })
    }

    /// Notes which services send which of the histograms themselves (`auto` mode).
    pub(super) fn note_senders(&self, req: &ExportMetricsServiceRequest) {
        if self.mode != GenAiMetricsMode::Auto {
            return;
        }
        for rm in &req.resource_metrics {
            let sent = rm
                .scope_metrics
                .iter()
                .flat_map(|sm| &sm.metrics)
                .filter_map(|m| bit(&m.name))
                .fold(0u8, |bits, b| bits | b);
            if sent == 0 {
                continue;
            }
            let (service, _) = instance(rm.resource.as_ref());
            let known = self.senders.read().unwrap_or_else(|p| p.into_inner()).get(service).copied();
            if known.is_some_and(|k| k & sent == sent) {
                continue;
            }
            let mut senders = self.senders.write().unwrap_or_else(|p| p.into_inner());
            if senders.len() >= MAX_SENDERS && !senders.contains_key(service) {
                continue;
            }
            *senders.entry(service.into()).or_default() |= sent;
            self.any_sender.store(true, Ordering::Relaxed);
        }
    }

    /// Which histograms to derive from `service`'s spans.
    pub(super) fn derive_for(&self, service: &str) -> Derive {
        let sent = match self.mode {
            GenAiMetricsMode::Auto if self.any_sender.load(Ordering::Relaxed) => {
                self.senders.read().unwrap_or_else(|p| p.into_inner()).get(service).copied().unwrap_or(0)
            }
            _ => 0,
        };
        Derive(ALL & !sent)
    }
}

/// Which of the histograms to derive for the resource being walked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Derive(u8);

/// One of the histograms, as its bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Histogram(u8);

impl Histogram {
    pub(super) const OPERATION_DURATION: Histogram = Histogram(1);
    pub(super) const TOKEN_USAGE: Histogram = Histogram(1 << 1);
    pub(super) const EXECUTE_TOOL_DURATION: Histogram = Histogram(1 << 2);
    pub(super) const INVOKE_AGENT_DURATION: Histogram = Histogram(1 << 3);
    pub(super) const WORKFLOW_DURATION: Histogram = Histogram(1 << 4);
}

impl Derive {
    /// Whether the histogram is derived (a bit test: this runs per span).
    #[inline]
    pub(super) fn includes(self, h: Histogram) -> bool {
        self.0 & h.0 != 0
    }
}

/// The span path's GenAI observations over one batch.
#[derive(Debug, Default)]
pub(super) struct GenAiUpdates<'a> {
    pub operation_duration: Vec<Observation<'a, 4>>,
    pub token_usage: Vec<Observation<'a, 4>>,
    pub tool_duration: Vec<Observation<'a, 2>>,
    pub agent_duration: Vec<Observation<'a, 2>>,
    pub workflow_duration: Vec<Observation<'a, 2>>,
}

impl GenAiUpdates<'_> {
    pub(super) fn apply(&self, m: &GenAiMetrics) {
        m.operation_duration.observe_all(&self.operation_duration);
        m.token_usage.observe_all(&self.token_usage);
        m.tool_duration.observe_all(&self.tool_duration);
        m.agent_duration.observe_all(&self.agent_duration);
        m.workflow_duration.observe_all(&self.workflow_duration);
    }
}
