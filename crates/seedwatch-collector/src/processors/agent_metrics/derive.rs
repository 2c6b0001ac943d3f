//! The span path: one walk over the received bytes; per span, its scalar attributes go into
//! `SpanFacts` (borrowed, not copied), then one classification and a few metric updates.
//! Nothing from a span is copied unless it becomes a new series or a workflow root.

use std::sync::Arc;
use std::time::Instant;

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;
use seedwatch_semconv::metric_names::token_type;
use seedwatch_semconv::pricing::{Price, PricingTable};
use seedwatch_semconv::{AgentEvent, AttrValue, Fact, LlmCall, SpanFacts, SpanInfo, WorkflowKind, classify};

use super::families::{Families, Updates};
use super::genai_metrics::{Derive, Histogram};
use super::pricing::LivePricing;
use super::resources::instance_raw;
use super::rollup::{Contribution, Rollup, Root, Totals};
use crate::agents::{Activity, AgentTracker};
use crate::budgets::{Budgets, Charge, SpanKey};
use crate::clock::unix_now;
use crate::otlp_wire::{RawValue, SpanRef, ValidatedVisitor, exception_type, resource_attributes, walk_validated};
use crate::pipeline::{Batch, Payload, Transport};
use crate::processors::Processor;

/// The `endpoint` label of an HTTP server span without `http.route`.
const NO_ROUTE: &str = "other";

/// The `agent_metrics` processor.
#[derive(Debug)]
pub(super) struct AgentMetrics {
    families: Families,
    pricing: LivePricing,
    /// Costs per call above this are not taken (`pricing.max_cost_per_call_usd`).
    max_cost: f64,
    rollup: Arc<Rollup>,
    agents: Arc<AgentTracker>,
    budgets: Option<Arc<Budgets>>,
}

impl AgentMetrics {
    pub(super) fn new(
        families: Families,
        pricing: LivePricing,
        max_cost: f64,
        rollup: Arc<Rollup>,
        agents: Arc<AgentTracker>,
        budgets: Option<Arc<Budgets>>,
    ) -> Self {
        AgentMetrics { families, pricing, max_cost, rollup, agents, budgets }
    }
}

impl Processor for AgentMetrics {
    fn process(&self, batch: &mut Batch) {
        // Records the collector made itself (workflow summaries, state changes, alerts) carry
        // agents' resources but are not news from those agents.
        if batch.transport() == Transport::Internal {
            return;
        }
        let now = unix_now();
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
                    updates: Updates::default(),
                    trace: None,
                    agent: None,
                    charges: Vec::new(),
                    resource_strings: Vec::new(),
                    prices: Vec::new(),
                    genai: Derive::default(),
                };
                if let Err(err) = walk_validated(&bytes, &mut deriver) {
                    // Unreachable: trace payloads are validated on receipt.
                    tracing::error!(error = %err, "trace batch not derivable");
                }
                deriver.finish();
            }
            Payload::Metrics(req) => {
                if let Some(genai) = &self.families.genai {
                    genai.note_senders(req);
                }
                self.families.resource_metrics(req, now, &self.agents)
            }
            Payload::Logs(data) => {
                let req = data.request();
                req.resource_logs.iter().for_each(|rl| self.families.seen(rl.resource.as_ref(), now, &self.agents));
                super::security_events::count(&self.families.security_events, req);
            }
        }
    }

    fn tick(&self) {
        self.rollup.tick();
        self.agents.tick(Instant::now());
        if let Some(budgets) = &self.budgets {
            budgets.tick(unix_now());
        }
    }

    fn shutdown(&self) {
        self.rollup.flush();
        if let Some(budgets) = &self.budgets {
            budgets.flush(unix_now());
        }
    }
}

/// Walks one trace request, deriving as it goes; metric updates and roll-up contributions are
/// gathered and applied at the end of the batch (per trace for the roll-up), so the shared
/// state is locked a few times per batch rather than several times per span.
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
    updates: Updates<'a>,
    /// The trace whose spans are being walked, with what they add up to so far.
    trace: Option<(&'a [u8], Totals)>,
    /// The agent instance whose spans are being walked, with what they showed so far.
    agent: Option<((&'a str, &'a str), Activity)>,
    /// LLM calls with a cost, for the budgets; charged per resource.
    charges: Vec<LlmCharge<'a>>,
    /// The resource's string attributes, when some budget filters on them.
    resource_strings: Vec<(&'a str, &'a str)>,
    /// Prices looked up in this batch, by (provider, model, response model).
    prices: Vec<PriceMemo<'a>>,
    /// Which GenAI histograms to derive for the resource being walked.
    genai: Derive,
}

/// An LLM call's cost waiting to be charged with the rest of its resource's.
struct LlmCharge<'a> {
    key: SpanKey,
    end_unix_nano: u64,
    cost: f64,
    provider: &'a str,
    model: &'a str,
    workflow_type: Option<&'a str>,
}

/// A price looked up once per batch: lookups normalise names, which allocates.
type PriceMemo<'a> = ((&'a str, &'a str, Option<&'a str>), Option<Price>);

/// Distinct (provider, model, response model) triples remembered per batch.
const PRICE_MEMO: usize = 32;

impl<'a> ValidatedVisitor<'a> for Deriver<'a, '_> {
    fn resource(&mut self, resource: Option<&'a [u8]>) {
        self.charge_budgets();
        self.hand_over_agent();
        self.resource_strings.clear();
        if let (Some(budgets), Some(bytes)) = (&self.m.budgets, resource)
            && budgets.needs_resource()
        {
            let strings = &mut self.resource_strings;
            let _ = resource_attributes(bytes, |k, v| {
                if let AttrValue::Str(v) = v {
                    strings.push((k, v));
                }
            });
        }
        self.resource = resource;
        self.resource_decoded = None;
        let (service, instance) = instance_raw(resource);
        self.m.families.agent_last_seen.set(&[service, instance], self.now);
        self.genai = self.m.families.genai.as_ref().map_or(Derive::default(), |g| g.derive_for(service));
        self.agent = Some(((service, instance), Activity::default()));
    }

    fn span_attribute(&mut self, key: &'a [u8], value: RawValue<'a>) {
        // Only the values of keys that matter are decoded (checked as UTF-8).
        let slot = match key {
            b"http.request.method" | b"http.method" => &mut self.method,
            b"http.route" => &mut self.route,
            _ => {
                if let Some(fact) = Fact::of_key(key)
                    && let Some(value) = value.decode()
                {
                    self.facts.set(fact, value);
                }
                return;
            }
        };
        if let Some(AttrValue::Str(s)) = value.decode() {
            *slot = Some(s);
        }
    }

    fn span(&mut self, span: &SpanRef<'a>) {
        let mut facts = std::mem::take(&mut self.facts);
        if span.status_code == StatusCode::Error as i32
            && facts.wants_exception_type()
            && let Some(exception_type) = exception_type(span.encoded)
        {
            facts.set_exception_type(exception_type);
        }
        let (method, route) = (self.method.take(), self.route.take());
        self.derive(span, &facts, method, route);
    }
}

fn seconds(span: &SpanRef<'_>) -> Option<f64> {
    let (start, end) = (span.start_time_unix_nano, span.end_time_unix_nano);
    (start > 0 && end >= start).then(|| (end - start) as f64 / 1e9)
}

impl<'a> Deriver<'a, '_> {
    fn derive(&mut self, span: &SpanRef<'a>, facts: &SpanFacts<'a>, method: Option<&'a str>, route: Option<&'a str>) {
        let info = SpanInfo {
            name: span.name,
            is_root: span.parent_span_id.is_empty(),
            status_error: span.status_code == StatusCode::Error as i32,
        };
        let secs = seconds(span);
        let trace = Some(span.trace_id);
        match classify(facts, info) {
            AgentEvent::Tool(tool) => {
                self.contribute(span.trace_id, Contribution::Tool { error: tool.error.is_some() });
                if let Some((_, a)) = &mut self.agent {
                    a.tool_calls = a.tool_calls.saturating_add(1);
                    a.tool_errors = a.tool_errors.saturating_add(u32::from(tool.error.is_some()));
                }
                let u = &mut self.updates;
                u.tool_executions.push(([tool.name], 1.0));
                if let Some(secs) = secs {
                    u.tool_duration.push(([tool.name], secs, trace));
                }
                if let Some(error) = tool.error {
                    u.tool_errors.push(([tool.name, error], 1.0));
                }
                if let Some(secs) = secs
                    && self.genai.includes(Histogram::EXECUTE_TOOL_DURATION)
                {
                    u.genai.tool_duration.push(([tool.name, tool.error.unwrap_or("")], secs, trace));
                }
            }
            AgentEvent::Llm(call) => {
                let cost = self.llm(&call, secs, trace);
                if let (Some(cost), Some(_)) = (cost, &self.m.budgets) {
                    let mut key = [0u8; 24];
                    if span.trace_id.len() == 16 && span.span_id.len() == 8 {
                        key[..16].copy_from_slice(span.trace_id);
                        key[16..].copy_from_slice(span.span_id);
                        self.charges.push(LlmCharge {
                            key,
                            end_unix_nano: span.end_time_unix_nano,
                            cost,
                            provider: call.provider,
                            model: call.model,
                            workflow_type: facts.workflow_name(),
                        });
                    }
                }
                let contribution = Contribution::Llm { error: call.error.is_some(), tokens: call.tokens, cost };
                self.contribute(span.trace_id, contribution);
                if let Some((_, a)) = &mut self.agent {
                    a.llm_calls = a.llm_calls.saturating_add(1);
                    a.llm_errors = a.llm_errors.saturating_add(u32::from(call.error.is_some()));
                }
            }
            AgentEvent::Workflow(wf) => {
                let status = if wf.error.is_some() { "failed" } else { "completed" };
                if let Some(secs) = secs {
                    self.updates.workflow_duration.push(([wf.name, status], secs, trace));
                    let (name, observations) = match wf.kind {
                        WorkflowKind::Agent => {
                            (Histogram::INVOKE_AGENT_DURATION, &mut self.updates.genai.agent_duration)
                        }
                        WorkflowKind::Workflow => {
                            (Histogram::WORKFLOW_DURATION, &mut self.updates.genai.workflow_duration)
                        }
                    };
                    if self.genai.includes(name) {
                        observations.push(([wf.name, wf.error.unwrap_or("")], secs, trace));
                    }
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
                let (resource, decoded) = (self.resource, &mut self.resource_decoded);
                let resource =
                    || decoded.get_or_insert_with(|| resource.and_then(|r| Resource::decode(r).ok())).clone();
                self.m.rollup.root(span.trace_id, root, resource);
            }
            AgentEvent::Other => {}
        }
        if span.kind == SpanKind::Server as i32
            && let Some(method) = method
        {
            self.updates.requests.push(([method, route.unwrap_or(NO_ROUTE)], 1.0));
            if let Some(secs) = secs {
                self.updates.request_duration.push(([], secs, trace));
            }
        }
    }

    /// Adds a span's contribution to its trace's; spans of one trace usually come together.
    fn contribute(&mut self, trace_id: &'a [u8], c: Contribution) {
        match &mut self.trace {
            Some((id, totals)) if *id == trace_id => totals.add(c),
            _ => {
                self.hand_over_trace();
                let mut totals = Totals::default();
                totals.add(c);
                self.trace = Some((trace_id, totals));
            }
        }
    }

    fn hand_over_trace(&mut self) {
        if let Some((id, totals)) = self.trace.take() {
            self.m.rollup.contribute(id, &totals);
        }
    }

    fn hand_over_agent(&mut self) {
        if let Some(((service, instance), activity)) = self.agent.take() {
            self.m.agents.activity(service, instance, activity, Instant::now());
        }
    }

    /// Charges the budgets with the LLM calls of the resource just walked.
    fn charge_budgets(&mut self) {
        let Some(budgets) = &self.m.budgets else { return };
        if self.charges.is_empty() {
            return;
        }
        let service = self.agent.as_ref().map_or("", |((service, _), _)| service);
        let charges: Vec<Charge<'_>> = self
            .charges
            .iter()
            .map(|c| Charge {
                key: c.key,
                end_unix_nano: c.end_unix_nano,
                cost: c.cost,
                provider: c.provider,
                model: c.model,
                service,
                workflow_type: c.workflow_type,
                resource: &self.resource_strings,
            })
            .collect();
        budgets.charge_all(&charges, unix_now());
        self.charges.clear();
    }

    /// Applies what the batch added up to.
    fn finish(mut self) {
        self.hand_over_trace();
        self.charge_budgets();
        self.hand_over_agent();
        self.updates.apply(&self.m.families);
    }

    /// Records the LLM series; returns the call's cost when known.
    fn llm(&mut self, call: &LlmCall<'a>, secs: Option<f64>, trace: Option<&'a [u8]>) -> Option<f64> {
        let labels = [call.provider, call.model];
        let u = &mut self.updates;
        u.llm_requests.push((labels, 1.0));
        if let Some(secs) = secs {
            u.llm_duration.push(([call.provider], secs, trace));
        }
        if let Some(error) = call.error {
            u.llm_errors.push(([call.provider, error], 1.0));
        }
        if call.invalid_tokens {
            u.llm_invalid_usage.push((labels, 1.0));
        }
        let t = &call.tokens;
        let (op, provider, model) = (call.operation, call.provider, call.model);
        if let Some(secs) = secs
            && self.genai.includes(Histogram::OPERATION_DURATION)
        {
            u.genai.operation_duration.push(([op, provider, model, call.error.unwrap_or("")], secs, trace));
        }
        if call.has_usage && self.genai.includes(Histogram::TOKEN_USAGE) {
            // The conventions' `gen_ai.token.type` values are the contract's `input` / `output`.
            for (kind, n) in [(token_type::INPUT, t.input), (token_type::OUTPUT, t.output)] {
                u.genai.token_usage.push(([op, provider, model, kind], n as f64, trace));
            }
        }
        let by_type = [
            (token_type::INPUT, t.input),
            (token_type::OUTPUT, t.output),
            (token_type::CACHE_READ, t.cache_read),
            (token_type::CACHE_CREATION, t.cache_creation),
            (token_type::REASONING, t.reasoning),
        ];
        for (kind, n) in by_type {
            if n > 0 {
                u.llm_tokens.push(([call.provider, call.model, kind], n as f64));
            }
        }
        let (pricing, prices) = (self.pricing, &mut self.prices);
        let mut priced = || {
            let key = (call.provider, call.model, call.response_model);
            let price = match prices.iter().find(|(k, _)| *k == key) {
                Some((_, price)) => *price,
                None => {
                    // The model that answered first: a dated version may have its own price.
                    let price = call
                        .response_model
                        .and_then(|m| pricing.lookup(call.provider, m))
                        .or_else(|| pricing.lookup(call.provider, call.model));
                    if prices.len() < PRICE_MEMO {
                        prices.push((key, price));
                    }
                    price
                }
            };
            price.map(|price| price.cost(t))
        };
        let max = self.m.max_cost;
        let stated = call.cost_usd.filter(|c| *c <= max);
        let cost = match (stated, call.has_usage) {
            (Some(cost), _) => Some(cost),
            (None, true) => priced(),
            // A failed call that reported no usage was not billed.
            (None, false) if call.error.is_some() && !call.invalid_tokens && call.cost_usd.is_none() => Some(0.0),
            (None, false) => None,
        };
        // A stated cost above the cap, or one from absurd token counts, is not charged.
        let rejected = (stated.is_none() && call.cost_usd.is_some()) || cost.is_some_and(|c| c > max);
        let cost = cost.filter(|c| *c <= max);
        if rejected {
            u.llm_cost_rejected.push((labels, 1.0));
        }
        match cost {
            Some(cost) => u.llm_cost.push((labels, cost)),
            None => u.llm_cost_unknown.push((labels, 1.0)),
        }
        cost
    }
}
