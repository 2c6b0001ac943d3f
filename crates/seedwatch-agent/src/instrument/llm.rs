//! LLM calls: a client span with the GenAI attributes, the GenAI client metrics, the guide's
//! LLM series, and the cost from the pricing table the collector uses too.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{FutureExt as _, SpanBuilder, SpanKind, TraceContextExt as _};
use opentelemetry::{Context, KeyValue, StringValue};
use seedwatch_semconv::attributes::{gen_ai, seedwatch};

use super::{fail_span, names, prices, seconds_between, span_name};
use crate::deferred::{self, Job, SpanEnd};
use crate::shared;

/// Token counts of one call, as the GenAI conventions count them: cache reads and writes are
/// part of `input`, reasoning is part of `output`. The collector's own type, so both halves
/// price the same numbers.
pub use seedwatch_semconv::Tokens as Usage;

/// A running LLM call. End it with [`LlmCall::succeed`] or [`LlmCall::fail`]; dropped without
/// either, it ends as failed with `error.type` `abandoned`.
pub struct LlmCall {
    cx: Context,
    operation: &'static str,
    provider: Arc<str>,
    request_model: Arc<str>,
    response_model: Option<Arc<str>>,
    usage: Option<Usage>,
    start: SystemTime,
    ended: bool,
}

impl LlmCall {
    /// Starts a `chat` call to `provider`'s `model` under the current context.
    pub fn start(provider: impl AsRef<str>, model: impl AsRef<str>) -> LlmCall {
        Self::start_operation("chat", provider, model)
    }

    /// Starts a call of another GenAI operation (`text_completion`, `embeddings`, ...).
    pub fn start_operation(operation: &'static str, provider: impl AsRef<str>, model: impl AsRef<str>) -> LlmCall {
        let (provider, request_model) = (names::intern(provider.as_ref()), names::intern(model.as_ref()));
        // Room for what `end` adds (response model, tokens, cost, error type): the span keeps
        // this vector, and growing it a push at a time cost more than the rest of `end`.
        let mut attributes = Vec::with_capacity(12);
        attributes.extend([
            KeyValue::new(gen_ai::OPERATION_NAME, operation),
            KeyValue::new(gen_ai::PROVIDER_NAME, StringValue::from(provider.clone())),
            KeyValue::new(gen_ai::REQUEST_MODEL, StringValue::from(request_model.clone())),
        ]);
        let start = SystemTime::now();
        let builder = SpanBuilder::from_name(span_name(operation, &request_model))
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes(attributes);
        LlmCall {
            cx: shared::get().start_span(builder, &Context::current()),
            operation,
            provider,
            request_model,
            response_model: None,
            usage: None,
            start,
            ended: false,
        }
    }

    /// Runs the request future inside the call's span (so HTTP client spans nest under it).
    pub async fn run<F: Future>(&self, future: F) -> F::Output {
        future.with_context(self.cx.clone()).await
    }

    /// The model that answered (often a dated version of the one asked for).
    pub fn response_model(&mut self, model: impl AsRef<str>) {
        self.response_model = Some(names::intern(model.as_ref()));
    }

    /// The tokens the provider reported.
    pub fn record_usage(&mut self, usage: Usage) {
        self.usage = Some(usage);
    }

    /// The price: of the model that answered (a dated version may have its own), else of
    /// the one asked for.
    fn price(&self, pricing: &seedwatch_semconv::pricing::PricingTable) -> Option<seedwatch_semconv::pricing::Price> {
        self.response_model
            .as_ref()
            .and_then(|m| prices::lookup(pricing, &self.provider, m))
            .or_else(|| prices::lookup(pricing, &self.provider, &self.request_model))
    }

    /// Ends the call as succeeded; returns its cost in USD when the pricing table knows the
    /// model and tokens were recorded (never a guess).
    pub fn succeed(mut self) -> Option<f64> {
        self.end(None)
    }

    /// Ends the call as failed (`error_type` such as `timeout`, `rate_limit`, `RateLimitError`).
    /// Tokens recorded before the failure are still counted and priced.
    pub fn fail(mut self, error_type: &str, message: impl std::fmt::Display) -> Option<f64> {
        self.end(Some((error_type.to_owned(), message.to_string())))
    }

    fn end(&mut self, error: Option<(String, String)>) -> Option<f64> {
        if self.ended {
            return None;
        }
        self.ended = true;
        let shared = shared::get();
        let end = SystemTime::now();
        let duration = seconds_between(self.start, end);
        let span = self.cx.span();
        if let Some(m) = &self.response_model {
            span.set_attribute(KeyValue::new(gen_ai::RESPONSE_MODEL, StringValue::from(m.clone())));
        }
        let mut cost = None;
        if let Some(u) = self.usage {
            cost = self.price(&shared.pricing).map(|p| p.cost(&u));
            let counted = [
                (gen_ai::USAGE_INPUT_TOKENS, u.input),
                (gen_ai::USAGE_OUTPUT_TOKENS, u.output),
                (gen_ai::USAGE_CACHE_READ_INPUT_TOKENS, u.cache_read),
                (gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS, u.cache_creation),
                (gen_ai::USAGE_REASONING_OUTPUT_TOKENS, u.reasoning),
            ];
            // Input and output always, the others when counted.
            let tokens = counted
                .into_iter()
                .enumerate()
                .filter(|(i, (_, n))| *i < 2 || *n > 0)
                .map(|(_, (key, n))| KeyValue::new(key, saturating_i64(n)));
            span.set_attributes(tokens.chain(cost.map(|c| KeyValue::new(seedwatch::LLM_COST_USD, c))));
        }
        let error_type = match error {
            Some((error_type, message)) => {
                fail_span(&self.cx, &error_type, &shared.sanitizer.redact_text(&message));
                Some(error_type)
            }
            None => None,
        };
        let span = SpanEnd { cx: std::mem::take(&mut self.cx), at: end };
        deferred::submit(Job::Llm(
            span,
            LlmMetrics {
                operation: self.operation,
                provider: self.provider.clone(),
                request_model: self.request_model.clone(),
                response_model: self.response_model.clone(),
                usage: self.usage,
                cost,
                duration,
                error_type,
            },
        ));
        cost
    }
}

/// The metric recordings of one ended call (on the deferred worker, usually).
pub(crate) struct LlmMetrics {
    operation: &'static str,
    provider: Arc<str>,
    request_model: Arc<str>,
    response_model: Option<Arc<str>>,
    usage: Option<Usage>,
    cost: Option<f64>,
    duration: f64,
    error_type: Option<String>,
}

impl LlmMetrics {
    /// The GenAI client metrics and the guide's LLM series.
    pub(crate) fn record(self) {
        let i = &shared::get().instruments;
        let provider = KeyValue::new("provider", StringValue::from(self.provider.clone()));
        // The `model` label is the model asked for, as the collector labels it: a model's
        // failed calls and its successes (answered by a dated version) share one series.
        let label_model = KeyValue::new("model", StringValue::from(self.request_model.clone()));
        let answered = self.response_model.as_ref().unwrap_or(&self.request_model).clone();
        let mut genai = vec![
            KeyValue::new(gen_ai::OPERATION_NAME, self.operation),
            KeyValue::new(gen_ai::PROVIDER_NAME, StringValue::from(self.provider)),
            KeyValue::new(gen_ai::REQUEST_MODEL, StringValue::from(self.request_model)),
            KeyValue::new(gen_ai::RESPONSE_MODEL, StringValue::from(answered)),
        ];
        if let Some(u) = self.usage {
            for (kind, n) in [("input", u.input), ("output", u.output)] {
                genai.push(KeyValue::new("gen_ai.token.type", kind));
                i.token_usage.record(n, &genai);
                genai.pop();
            }
        }
        if let Some(c) = self.cost {
            i.llm_cost.add(c, &[provider.clone(), label_model.clone()]);
        }
        if let Some(t) = &self.error_type {
            genai.push(KeyValue::new("error.type", t.clone()));
        }
        i.operation_duration.record(self.duration, &genai);
        i.llm_requests.add(1, &[provider.clone(), label_model]);
        i.llm_duration.record(self.duration, std::slice::from_ref(&provider));
        if let Some(error_type) = self.error_type {
            i.llm_errors.add(1, &[provider, KeyValue::new("error_type", error_type)]);
        }
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Drop for LlmCall {
    fn drop(&mut self) {
        if !self.ended {
            self.end(Some(("abandoned".to_owned(), "LLM call dropped before it ended".to_owned())));
        }
    }
}
