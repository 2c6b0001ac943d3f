//! What the classifier needs from a span, gathered in one pass over its attributes without
//! copying: every field borrows from the span.

use crate::attributes::{gen_ai, langfuse, openinference, otel, pydantic_ai, seedwatch, traceloop, vercel_ai};

/// An attribute value as the classifier sees it, borrowed from the span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttrValue<'a> {
    /// A string.
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
}

impl<'a> AttrValue<'a> {
    fn as_str(self) -> Option<&'a str> {
        match self {
            AttrValue::Str(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// A count: integers, integral floats and numeric strings are accepted; anything else,
    /// negative or beyond any real request is [`Count::Invalid`] (never `None`: a present but
    /// bad count must make the call's tokens invalid).
    fn as_count(self) -> Option<Count> {
        let n = match self {
            AttrValue::Int(i) => i,
            AttrValue::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => d as i64,
            AttrValue::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => i,
                Err(_) => return Some(Count::Invalid),
            },
            _ => return Some(Count::Invalid),
        };
        Some(if (0..=MAX_TOKENS).contains(&n) { Count::Valid(n as u64) } else { Count::Invalid })
    }

    fn as_usd(self) -> Option<f64> {
        let v = match self {
            AttrValue::Double(d) => d,
            AttrValue::Int(i) => i as f64,
            AttrValue::Str(s) => s.trim().parse().ok()?,
            AttrValue::Bool(_) => return None,
        };
        (v.is_finite() && (0.0..=MAX_COST_USD).contains(&v)).then_some(v)
    }
}

/// More tokens than any single call can use: such a count is a bug or an attack, not usage.
pub const MAX_TOKENS: i64 = 1_000_000_000;
/// More dollars than any single call can cost.
pub const MAX_COST_USD: f64 = 100_000.0;

/// A token count as read from an attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Count {
    /// Not present.
    #[default]
    Absent,
    /// A plausible count.
    Valid(u64),
    /// Present but negative, absurd or not a number.
    Invalid,
}

/// A value taken from the most preferred of the attributes that feed one fact: `from` is 0
/// while unset, else the rank (position in the fact's key list) plus one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Slot<T> {
    value: T,
    from: u8,
}

impl<T: Copy> Slot<T> {
    /// Keeps `value` unless a more preferred attribute already set this fact (for the same
    /// attribute twice, the later wins, as with any repeated key).
    #[inline]
    fn offer(&mut self, value: T, rank: u8) {
        if self.from == 0 || rank < self.from {
            *self = Slot { value, from: rank + 1 };
        }
    }

    /// The value, if some attribute set it.
    #[inline]
    pub(crate) fn get(self) -> Option<T> {
        (self.from != 0).then_some(self.value)
    }
}

impl Slot<Count> {
    /// The count, [`Count::Absent`] when no attribute gave one.
    #[inline]
    pub(crate) fn count(self) -> Count {
        self.get().unwrap_or(Count::Absent)
    }
}

/// Declares which attribute keys feed which `SpanFacts` field (most preferred first) and
/// through which conversion; generates the struct, the key lookup (on bytes, so a walker need
/// not check UTF-8 first) and the setter.
macro_rules! fact_table {
    ($($field:ident: $ty:ty = $conv:ident <= [$($key:path),+ $(,)?],)+) => {
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Field { $($field),+ }

        /// Which fact of a span an attribute key feeds, and how preferred that key is; from
        /// [`Fact::of_key`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Fact(Field, u8);

        impl Fact {
            /// The fact `key` feeds, if the classifier reads that attribute.
            #[inline]
            pub fn of_key(key: &[u8]) -> Option<Fact> {
                $(
                    let keys: &[&str] = &[$($key),+];
                    for (rank, k) in keys.iter().enumerate() {
                        if key == k.as_bytes() {
                            return Some(Fact(Field::$field, rank as u8));
                        }
                    }
                )+
                None
            }
        }

        /// Everything the classifier reads, from every dialect, in one struct.
        #[derive(Debug, Default, Clone)]
        pub struct SpanFacts<'a> {
            $(pub(crate) $field: Slot<$ty>,)+
            /// The `exception.type` of the span's exception event (set by the caller, which
            /// walks events; read only when the span failed without an `error.type`).
            pub(crate) exception_type: Option<&'a str>,
        }

        impl<'a> SpanFacts<'a> {
            /// Records the value of an attribute whose key feeds `fact`.
            #[inline]
            pub fn set(&mut self, fact: Fact, value: AttrValue<'a>) {
                match fact.0 {
                    $(Field::$field => if let Some(v) = value.$conv() { self.$field.offer(v, fact.1) },)+
                }
            }
        }
    };
}

fact_table! {
    // What kind of span: one per dialect.
    operation: &'a str = as_str <= [gen_ai::OPERATION_NAME],
    vercel_operation: &'a str = as_str <= [vercel_ai::OPERATION_ID],
    openinference_kind: &'a str = as_str <= [openinference::SPAN_KIND],
    traceloop_kind: &'a str = as_str <= [traceloop::SPAN_KIND],
    langfuse_type: &'a str = as_str <= [langfuse::OBSERVATION_TYPE],
    llm_request_type: &'a str = as_str <= [traceloop::LLM_REQUEST_TYPE],
    // Who and which model.
    provider: &'a str = as_str <= [
        gen_ai::PROVIDER_NAME, gen_ai::SYSTEM, openinference::LLM_PROVIDER, openinference::LLM_SYSTEM,
        vercel_ai::MODEL_PROVIDER,
    ],
    request_model: &'a str = as_str <= [gen_ai::REQUEST_MODEL, vercel_ai::MODEL_ID, langfuse::MODEL_NAME],
    response_model: &'a str = as_str <= [
        gen_ai::RESPONSE_MODEL, openinference::LLM_MODEL_NAME, openinference::EMBEDDING_MODEL_NAME,
        vercel_ai::RESPONSE_MODEL,
    ],
    invocation_parameters: &'a str = as_str <= [
        openinference::LLM_INVOCATION_PARAMETERS, openinference::EMBEDDING_INVOCATION_PARAMETERS,
    ],
    // Tokens.
    input_tokens: Count = as_count <= [
        gen_ai::USAGE_INPUT_TOKENS, gen_ai::USAGE_PROMPT_TOKENS, openinference::LLM_TOKEN_COUNT_PROMPT,
        vercel_ai::USAGE_INPUT_TOKENS, vercel_ai::USAGE_PROMPT_TOKENS, vercel_ai::USAGE_TOKENS,
    ],
    output_tokens: Count = as_count <= [
        gen_ai::USAGE_OUTPUT_TOKENS, gen_ai::USAGE_COMPLETION_TOKENS, openinference::LLM_TOKEN_COUNT_COMPLETION,
        vercel_ai::USAGE_OUTPUT_TOKENS, vercel_ai::USAGE_COMPLETION_TOKENS,
    ],
    cache_read: Count = as_count <= [
        gen_ai::USAGE_CACHE_READ_INPUT_TOKENS, gen_ai::USAGE_CACHE_READ_INPUT_TOKENS_LEGACY,
        openinference::LLM_TOKEN_COUNT_CACHE_READ, pydantic_ai::USAGE_DETAILS_CACHE_READ_TOKENS,
        vercel_ai::USAGE_CACHE_READ_TOKENS, vercel_ai::USAGE_CACHED_INPUT_TOKENS,
    ],
    cache_write: Count = as_count <= [
        gen_ai::USAGE_CACHE_WRITE_INPUT_TOKENS, gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS,
        gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS_LEGACY, openinference::LLM_TOKEN_COUNT_CACHE_WRITE,
        pydantic_ai::USAGE_DETAILS_CACHE_WRITE_TOKENS, vercel_ai::USAGE_CACHE_WRITE_TOKENS,
    ],
    cache_write_1h: Count = as_count <= [pydantic_ai::USAGE_DETAILS_CACHE_WRITE_1H_TOKENS],
    reasoning: Count = as_count <= [
        gen_ai::USAGE_REASONING_OUTPUT_TOKENS, gen_ai::USAGE_REASONING_TOKENS,
        openinference::LLM_TOKEN_COUNT_REASONING, pydantic_ai::USAGE_DETAILS_REASONING_TOKENS,
        vercel_ai::USAGE_OUTPUT_REASONING_TOKENS, vercel_ai::USAGE_REASONING_TOKENS,
    ],
    total_tokens: Count = as_count <= [
        traceloop::LLM_USAGE_TOTAL_TOKENS, openinference::LLM_TOKEN_COUNT_TOTAL, gen_ai::USAGE_TOTAL_TOKENS,
    ],
    langfuse_usage: &'a str = as_str <= [langfuse::USAGE_DETAILS],
    // Names.
    tool_name: &'a str = as_str <= [gen_ai::TOOL_NAME, openinference::TOOL_NAME, vercel_ai::TOOL_CALL_NAME],
    entity_name: &'a str = as_str <= [traceloop::ENTITY_NAME],
    agent_name: &'a str = as_str <= [gen_ai::AGENT_NAME],
    workflow_name: &'a str = as_str <= [gen_ai::WORKFLOW_NAME, traceloop::WORKFLOW_NAME],
    workflow_id: &'a str = as_str <= [seedwatch::WORKFLOW_ID],
    error_type: &'a str = as_str <= [otel::ERROR_TYPE],
    // Costs the producer computed.
    cost: f64 = as_usd <= [
        seedwatch::LLM_COST_USD, openinference::LLM_COST_TOTAL, gen_ai::USAGE_COST, pydantic_ai::OPERATION_COST,
    ],
    cost_amount: f64 = as_usd <= [gen_ai::USAGE_COST_AMOUNT],
    cost_currency: &'a str = as_str <= [gen_ai::USAGE_COST_CURRENCY],
    input_cost: f64 = as_usd <= [gen_ai::USAGE_INPUT_COST],
    output_cost: f64 = as_usd <= [gen_ai::USAGE_OUTPUT_COST],
    langfuse_cost: &'a str = as_str <= [langfuse::COST_DETAILS],
}

impl<'a> SpanFacts<'a> {
    /// The workflow type a span names about itself (`gen_ai.workflow.name`, else
    /// `traceloop.workflow.name`, which OpenLLMetry puts on every span of a workflow).
    pub fn workflow_name(&self) -> Option<&'a str> {
        self.workflow_name.get()
    }

    /// Whether the span failed without naming its error type: then the caller may look for
    /// an exception event and give its type to [`SpanFacts::set_exception_type`].
    pub fn wants_exception_type(&self) -> bool {
        self.error_type.get().is_none()
    }

    /// The `exception.type` of the span's exception event.
    pub fn set_exception_type(&mut self, exception_type: &'a str) {
        if !exception_type.is_empty() {
            self.exception_type = Some(exception_type);
        }
    }

    /// Records one attribute; unknown keys are ignored.
    pub fn observe(&mut self, key: &str, value: AttrValue<'a>) {
        if let Some(fact) = Fact::of_key(key.as_bytes()) {
            self.set(fact, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accept_numbers_in_any_shape_and_reject_nonsense() {
        assert_eq!(AttrValue::Int(12).as_count(), Some(Count::Valid(12)));
        assert_eq!(AttrValue::Double(12.0).as_count(), Some(Count::Valid(12)));
        assert_eq!(AttrValue::Str(" 7 ").as_count(), Some(Count::Valid(7)));
        for bad in [
            AttrValue::Int(-1),
            AttrValue::Int(MAX_TOKENS + 1),
            AttrValue::Double(1.5),
            AttrValue::Str("many"),
            AttrValue::Bool(true),
        ] {
            assert_eq!(bad.as_count(), Some(Count::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn every_key_feeds_its_own_field() {
        use crate::attributes::gen_ai;
        let mut facts = SpanFacts::default();
        facts.observe(gen_ai::REQUEST_MODEL, AttrValue::Str("gpt-4o"));
        facts.observe(gen_ai::RESPONSE_MODEL, AttrValue::Str("gpt-4o-2024-08-06"));
        facts.observe(traceloop::LLM_USAGE_TOTAL_TOKENS, AttrValue::Int(5));
        facts.observe("gen_ai.request.model.extra", AttrValue::Str("ignored"));
        assert_eq!(facts.request_model.get(), Some("gpt-4o"));
        assert_eq!(facts.response_model.get(), Some("gpt-4o-2024-08-06"));
        assert_eq!(facts.total_tokens.count(), Count::Valid(5));
        assert_eq!(facts.input_tokens.count(), Count::Absent);
        assert_eq!(Fact::of_key(b"gen_ai.request.mode"), None);
    }

    #[test]
    fn the_preferred_key_wins_whatever_the_order() {
        use crate::attributes::{gen_ai, vercel_ai};
        for order in [[0, 1], [1, 0]] {
            let attrs = [(gen_ai::USAGE_INPUT_TOKENS, 1200), (vercel_ai::USAGE_PROMPT_TOKENS, 7)];
            let mut facts = SpanFacts::default();
            for i in order {
                facts.observe(attrs[i].0, AttrValue::Int(attrs[i].1));
            }
            assert_eq!(facts.input_tokens.count(), Count::Valid(1200), "{order:?}");
        }
        // The same key twice: the later value, as for any repeated attribute.
        let mut facts = SpanFacts::default();
        facts.observe(gen_ai::REQUEST_MODEL, AttrValue::Str("a"));
        facts.observe(gen_ai::REQUEST_MODEL, AttrValue::Str("b"));
        assert_eq!(facts.request_model.get(), Some("b"));
        // An empty string does not count as naming anything.
        facts.observe(gen_ai::RESPONSE_MODEL, AttrValue::Str(""));
        assert_eq!(facts.response_model.get(), None);
    }

    #[test]
    fn costs_must_be_finite_and_plausible() {
        assert_eq!(AttrValue::Double(0.0123).as_usd(), Some(0.0123));
        assert_eq!(AttrValue::Str("0.5").as_usd(), Some(0.5));
        assert_eq!(AttrValue::Double(-0.1).as_usd(), None);
        assert_eq!(AttrValue::Double(f64::NAN).as_usd(), None);
        assert_eq!(AttrValue::Double(1e9).as_usd(), None);
    }
}
