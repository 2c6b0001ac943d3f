//! LLM calls: a client span with the GenAI attributes, the GenAI client metrics, the guide's
//! LLM series, and the cost from the pricing table the collector uses too.

use std::future::Future;
use std::time::Instant;

use opentelemetry::trace::{FutureExt as _, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use seedwatch_semconv::attributes::{gen_ai, seedwatch};

use super::fail_span;
use crate::shared::{self, SCOPE};

/// Token counts of one call, as the GenAI conventions count them: cache reads and writes are
/// part of `input`, reasoning is part of `output`. The collector's own type, so both halves
/// price the same numbers.
pub use seedwatch_semconv::Tokens as Usage;

/// A running LLM call. End it with [`LlmCall::succeed`] or [`LlmCall::fail`]; dropped without
/// either, it ends as failed with `error.type` `abandoned`.
pub struct LlmCall {
    cx: Context,
    operation: &'static str,
    provider: String,
    request_model: String,
    response_model: Option<String>,
    usage: Option<Usage>,
    start: Instant,
    ended: bool,
}

impl LlmCall {
    /// Starts a `chat` call to `provider`'s `model` under the current context.
    pub fn start(provider: impl Into<String>, model: impl Into<String>) -> LlmCall {
        Self::start_operation("chat", provider, model)
    }

    /// Starts a call of another GenAI operation (`text_completion`, `embeddings`, ...).
    pub fn start_operation(operation: &'static str, provider: impl Into<String>, model: impl Into<String>) -> LlmCall {
        let (provider, request_model) = (provider.into(), model.into());
        let tracer = opentelemetry::global::tracer(SCOPE);
        let parent = Context::current();
        let span = tracer
            .span_builder(format!("{operation} {request_model}"))
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new(gen_ai::OPERATION_NAME, operation),
                KeyValue::new(gen_ai::PROVIDER_NAME, provider.clone()),
                KeyValue::new(gen_ai::REQUEST_MODEL, request_model.clone()),
            ])
            .start_with_context(&tracer, &parent);
        LlmCall {
            cx: parent.with_span(span),
            operation,
            provider,
            request_model,
            response_model: None,
            usage: None,
            start: Instant::now(),
            ended: false,
        }
    }

    /// Runs the request future inside the call's span (so HTTP client spans nest under it).
    pub async fn run<F: Future>(&self, future: F) -> F::Output {
        future.with_context(self.cx.clone()).await
    }

    /// The model that answered (often a dated version of the one asked for).
    pub fn response_model(&mut self, model: impl Into<String>) {
        self.response_model = Some(model.into());
    }

    /// The tokens the provider reported.
    pub fn record_usage(&mut self, usage: Usage) {
        self.usage = Some(usage);
    }

    /// The model that answered, else the one asked for.
    fn model(&self) -> &str {
        self.response_model.as_deref().unwrap_or(&self.request_model)
    }

    /// The price: of the model that answered (a dated version may have its own), else of
    /// the one asked for.
    fn price(&self, pricing: &seedwatch_semconv::pricing::PricingTable) -> Option<seedwatch_semconv::pricing::Price> {
        self.response_model
            .as_deref()
            .and_then(|m| pricing.lookup(&self.provider, m))
            .or_else(|| pricing.lookup(&self.provider, &self.request_model))
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
        let i = &shared.instruments;
        let duration = self.start.elapsed().as_secs_f64();
        let span = self.cx.span();
        let model = self.model().to_owned();
        // The `model` label is the model asked for, as the collector labels it: a model's
        // failed calls and its successes (answered by a dated version) share one series.
        let label_model = KeyValue::new("model", self.request_model.clone());
        if let Some(m) = &self.response_model {
            span.set_attribute(KeyValue::new(gen_ai::RESPONSE_MODEL, m.clone()));
        }
        let mut genai = vec![
            KeyValue::new(gen_ai::OPERATION_NAME, self.operation),
            KeyValue::new(gen_ai::PROVIDER_NAME, self.provider.clone()),
            KeyValue::new(gen_ai::REQUEST_MODEL, self.request_model.clone()),
            KeyValue::new(gen_ai::RESPONSE_MODEL, model.clone()),
        ];
        let mut cost = None;
        if let Some(u) = self.usage {
            span.set_attributes([
                KeyValue::new(gen_ai::USAGE_INPUT_TOKENS, saturating_i64(u.input)),
                KeyValue::new(gen_ai::USAGE_OUTPUT_TOKENS, saturating_i64(u.output)),
            ]);
            for (key, n) in [
                (gen_ai::USAGE_CACHE_READ_INPUT_TOKENS, u.cache_read),
                (gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS, u.cache_creation),
                (gen_ai::USAGE_REASONING_OUTPUT_TOKENS, u.reasoning),
            ] {
                if n > 0 {
                    span.set_attribute(KeyValue::new(key, saturating_i64(n)));
                }
            }
            for (kind, n) in [("input", u.input), ("output", u.output)] {
                genai.push(KeyValue::new("gen_ai.token.type", kind));
                i.token_usage.record(n, &genai);
                genai.pop();
            }
            cost = self.price(&shared.pricing).map(|p| p.cost(&u));
            if let Some(c) = cost {
                span.set_attribute(KeyValue::new(seedwatch::LLM_COST_USD, c));
                i.llm_cost.add(c, &[KeyValue::new("provider", self.provider.clone()), label_model.clone()]);
            }
        }
        if let Some((t, _)) = &error {
            genai.push(KeyValue::new("error.type", t.clone()));
        }
        i.operation_duration.record(duration, &genai);
        i.llm_requests.add(1, &[KeyValue::new("provider", self.provider.clone()), label_model]);
        i.llm_duration.record(duration, &[KeyValue::new("provider", self.provider.clone())]);
        if let Some((error_type, message)) = &error {
            i.llm_errors.add(
                1,
                &[KeyValue::new("provider", self.provider.clone()), KeyValue::new("error_type", error_type.clone())],
            );
            fail_span(&self.cx, error_type, &shared.sanitizer.redact_text(message));
        }
        span.end();
        cost
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
