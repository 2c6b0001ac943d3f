//! The span path: one walk over the received bytes; per span, its scalar attributes go into
//! `SpanFacts` (borrowed, not copied), then one classification and a few metric updates.
//! Nothing from a span is copied unless it becomes a new series or a workflow root.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;
use seedwatch_semconv::metric_names::token_type;
use seedwatch_semconv::pricing::PricingTable;
use seedwatch_semconv::{AgentEvent, AttrValue, LlmCall, SpanFacts, SpanInfo, classify};

use super::families::Families;
use super::pricing::LivePricing;
use super::resources::instance_raw;
use super::rollup::{Contribution, Rollup, Root};
use crate::otlp_wire::{SpanRef, TraceVisitor, walk_request};
use crate::pipeline::{Batch, Payload};
use crate::processors::Processor;

/// The `endpoint` label of an HTTP server span without `http.route`.
const NO_ROUTE: &str = "other";

/// The `agent_metrics` processor.
#[derive(Debug)]
pub(super) struct AgentMetrics {
    families: Families,
    pricing: LivePricing,
    rollup: Rollup,
}

impl AgentMetrics {
    pub(super) fn new(families: Families, pricing: LivePricing, rollup: Rollup) -> Self {
        AgentMetrics { families, pricing, rollup }
    }
}

impl Processor for AgentMetrics {
    fn process(&self, batch: &mut Batch) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        match batch.payload() {
            Payload::Traces(data) => {
                let pricing = self.pricing.table();
                let bytes = data.encoded();
                let mut deriver = Deriver {
                    m: self,
                    pricing: &pricing,
                    now,
                    resource: None,
                    resource_decoded: None,
                    facts: SpanFacts::default(),
                    method: None,
                    route: None,
                };
                if let Err(err) = walk_request(&bytes, &mut deriver) {
                    // Unreachable: trace payloads are validated on receipt.
                    tracing::error!(error = %err, "trace batch not derivable");
                }
            }
            Payload::Metrics(req) => self.families.resource_metrics(req, now),
            Payload::Logs(req) => req.resource_logs.iter().for_each(|rl| self.families.seen(rl.resource.as_ref(), now)),
        }
    }

    fn tick(&self) {
        self.rollup.tick();
    }

    fn shutdown(&self) {
        self.rollup.flush();
    }
}

/// Walks one trace request, deriving as it goes.
struct Deriver<'a, 'p> {
    m: &'p AgentMetrics,
    pricing: &'p PricingTable,
    now: f64,
    resource: Option<&'a [u8]>,
    /// The resource decoded, once per resource, when a workflow root needs it.
    resource_decoded: Option<Option<Resource>>,
    facts: SpanFacts<'a>,
    method: Option<&'a str>,
    route: Option<&'a str>,
}

impl<'a> TraceVisitor<'a> for Deriver<'a, '_> {
    fn resource(&mut self, resource: Option<&'a [u8]>) {
        self.resource = resource;
        self.resource_decoded = None;
        let (service, instance) = instance_raw(resource);
        self.m.families.agent_last_seen.set(&[service, instance], self.now);
    }

    fn span_attribute(&mut self, key: &'a str, value: AttrValue<'a>) {
        match (key, value) {
            ("http.request.method" | "http.method", AttrValue::Str(m)) => self.method = Some(m),
            ("http.route", AttrValue::Str(r)) => self.route = Some(r),
            (key, value) => self.facts.observe(key, value),
        }
    }

    fn span(&mut self, span: &SpanRef<'a>) {
        let facts = std::mem::take(&mut self.facts);
        let (method, route) = (self.method.take(), self.route.take());
        let (resource, decoded) = (self.resource, &mut self.resource_decoded);
        let resource = || decoded.get_or_insert_with(|| resource.and_then(|r| Resource::decode(r).ok())).clone();
        self.m.derive(span, &facts, method, route, resource, self.pricing);
    }
}

fn seconds(span: &SpanRef<'_>) -> Option<f64> {
    let (start, end) = (span.start_time_unix_nano, span.end_time_unix_nano);
    (start > 0 && end >= start).then(|| (end - start) as f64 / 1e9)
}

impl AgentMetrics {
    fn derive(
        &self,
        span: &SpanRef<'_>,
        facts: &SpanFacts<'_>,
        method: Option<&str>,
        route: Option<&str>,
        resource: impl FnOnce() -> Option<Resource>,
        pricing: &PricingTable,
    ) {
        let info = SpanInfo {
            name: span.name,
            is_root: span.parent_span_id.is_empty(),
            status_error: span.status_code == StatusCode::Error as i32,
        };
        let secs = seconds(span);
        let trace = Some(span.trace_id);
        let f = &self.families;
        match classify(facts, info) {
            AgentEvent::Tool(tool) => {
                self.rollup.contribute(span.trace_id, Contribution::Tool { error: tool.error.is_some() });
                f.tool_executions.inc(&[tool.name], 1.0);
                if let Some(secs) = secs {
                    f.tool_duration.observe(&[tool.name], secs, trace);
                }
                if let Some(error) = tool.error {
                    f.tool_errors.inc(&[tool.name, error], 1.0);
                }
            }
            AgentEvent::Llm(call) => {
                let cost = self.llm(&call, secs, trace, pricing);
                let contribution = Contribution::Llm { error: call.error.is_some(), tokens: call.tokens, cost };
                self.rollup.contribute(span.trace_id, contribution);
            }
            AgentEvent::Workflow(wf) => {
                let status = if wf.error.is_some() { "failed" } else { "completed" };
                if let Some(secs) = secs {
                    f.workflow_duration.observe(&[wf.name, status], secs, trace);
                }
                let root = Root {
                    name: wf.name.to_owned(),
                    id: wf.id.map(str::to_owned),
                    failed: wf.error.is_some(),
                    start_ns: span.start_time_unix_nano,
                    end_ns: span.end_time_unix_nano,
                    span_id: span.span_id.to_vec(),
                    top_level: span.parent_span_id.is_empty(),
                };
                self.rollup.root(span.trace_id, root, resource);
            }
            AgentEvent::Other => {}
        }
        if span.kind == SpanKind::Server as i32
            && let Some(method) = method
        {
            f.requests.inc(&[method, route.unwrap_or(NO_ROUTE)], 1.0);
            if let Some(secs) = secs {
                f.request_duration.observe(&[], secs, trace);
            }
        }
    }

    /// Updates the LLM series; returns the call's cost when known.
    fn llm(&self, call: &LlmCall<'_>, secs: Option<f64>, trace: Option<&[u8]>, pricing: &PricingTable) -> Option<f64> {
        let f = &self.families;
        let labels = [call.provider, call.model];
        f.llm_requests.inc(&labels, 1.0);
        if let Some(secs) = secs {
            f.llm_duration.observe(&[call.provider], secs, trace);
        }
        if let Some(error) = call.error {
            f.llm_errors.inc(&[call.provider, error], 1.0);
        }
        if call.invalid_tokens {
            f.llm_invalid_usage.inc(&labels, 1.0);
        }
        let t = &call.tokens;
        let by_type = [
            (token_type::INPUT, t.input),
            (token_type::OUTPUT, t.output),
            (token_type::CACHE_READ, t.cache_read),
            (token_type::CACHE_CREATION, t.cache_creation),
            (token_type::REASONING, t.reasoning),
        ];
        for (kind, n) in by_type {
            if n > 0 {
                f.llm_tokens.inc(&[call.provider, call.model, kind], n as f64);
            }
        }
        let priced = || {
            pricing
                .lookup(call.provider, call.model)
                .or_else(|| call.request_model.and_then(|m| pricing.lookup(call.provider, m)))
                .map(|price| price.cost(t))
        };
        let cost = match (call.cost_usd, call.has_usage) {
            (Some(cost), _) => Some(cost),
            (None, true) => priced(),
            // A failed call that reported no usage was not billed.
            (None, false) if call.error.is_some() && !call.invalid_tokens => Some(0.0),
            (None, false) => None,
        };
        match cost {
            Some(cost) => f.llm_cost.inc(&labels, cost),
            None => f.llm_cost_unknown.inc(&labels, 1.0),
        }
        cost
    }
}
