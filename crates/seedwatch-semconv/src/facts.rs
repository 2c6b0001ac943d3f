//! What the classifier needs from a span, gathered in one pass over its attributes without
//! copying: every field borrows from the span.

use crate::attributes::{gen_ai, openinference, otel, seedwatch, traceloop};

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
    /// negative or beyond any real request is [`Count::Invalid`].
    fn as_count(self) -> Count {
        let n = match self {
            AttrValue::Int(i) => i,
            AttrValue::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => d as i64,
            AttrValue::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => i,
                Err(_) => return Count::Invalid,
            },
            _ => return Count::Invalid,
        };
        if (0..=MAX_TOKENS).contains(&n) { Count::Valid(n as u64) } else { Count::Invalid }
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

impl Count {
    /// The first present count of two (the preferred name first).
    pub fn or(self, other: Count) -> Count {
        if self == Count::Absent { other } else { self }
    }
}

/// Everything the classifier reads, from every dialect, in one struct.
#[derive(Debug, Default, Clone)]
pub struct SpanFacts<'a> {
    pub(crate) operation: Option<&'a str>,
    pub(crate) traceloop_kind: Option<&'a str>,
    pub(crate) openinference_kind: Option<&'a str>,
    pub(crate) llm_request_type: Option<&'a str>,
    pub(crate) provider_name: Option<&'a str>,
    pub(crate) system: Option<&'a str>,
    pub(crate) llm_provider: Option<&'a str>,
    pub(crate) llm_system: Option<&'a str>,
    pub(crate) request_model: Option<&'a str>,
    pub(crate) response_model: Option<&'a str>,
    pub(crate) llm_model_name: Option<&'a str>,
    pub(crate) input_tokens: Count,
    pub(crate) output_tokens: Count,
    pub(crate) prompt_tokens: Count,
    pub(crate) completion_tokens: Count,
    pub(crate) oi_prompt_tokens: Count,
    pub(crate) oi_completion_tokens: Count,
    pub(crate) cache_read: Count,
    pub(crate) cache_creation: Count,
    pub(crate) oi_cache_read: Count,
    pub(crate) oi_cache_write: Count,
    pub(crate) reasoning: Count,
    pub(crate) oi_reasoning: Count,
    pub(crate) total_tokens: Count,
    pub(crate) tool_name: Option<&'a str>,
    pub(crate) oi_tool_name: Option<&'a str>,
    pub(crate) entity_name: Option<&'a str>,
    pub(crate) agent_name: Option<&'a str>,
    pub(crate) workflow_name: Option<&'a str>,
    pub(crate) traceloop_workflow_name: Option<&'a str>,
    pub(crate) workflow_id: Option<&'a str>,
    pub(crate) error_type: Option<&'a str>,
    pub(crate) seedwatch_cost: Option<f64>,
    pub(crate) openinference_cost: Option<f64>,
    pub(crate) openlit_cost: Option<f64>,
    pub(crate) input_cost: Option<f64>,
    pub(crate) output_cost: Option<f64>,
}

/// Declares which attribute keys feed which `SpanFacts` field, and through which conversion;
/// generates the key lookup (on bytes, so a walker need not check UTF-8 first) and the setter.
macro_rules! fact_table {
    ($($($key:path)|+ => $field:ident: $conv:ident,)+) => {
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Field { $($field),+ }

        /// Which fact of a span an attribute key feeds; from [`Fact::of_key`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Fact(Field);

        impl Fact {
            /// The fact `key` feeds, if the classifier reads that attribute.
            #[inline]
            pub fn of_key(key: &[u8]) -> Option<Fact> {
                $($(if key == $key.as_bytes() { return Some(Fact(Field::$field)); })+)+
                None
            }
        }

        impl<'a> SpanFacts<'a> {
            /// Records the value of an attribute whose key feeds `fact`.
            #[inline]
            pub fn set(&mut self, fact: Fact, value: AttrValue<'a>) {
                match fact.0 { $(Field::$field => self.$field = value.$conv(),)+ }
            }
        }
    };
}

fact_table! {
    gen_ai::OPERATION_NAME => operation: as_str,
    traceloop::SPAN_KIND => traceloop_kind: as_str,
    openinference::SPAN_KIND => openinference_kind: as_str,
    traceloop::LLM_REQUEST_TYPE => llm_request_type: as_str,
    gen_ai::PROVIDER_NAME => provider_name: as_str,
    gen_ai::SYSTEM => system: as_str,
    openinference::LLM_PROVIDER => llm_provider: as_str,
    openinference::LLM_SYSTEM => llm_system: as_str,
    gen_ai::REQUEST_MODEL => request_model: as_str,
    gen_ai::RESPONSE_MODEL => response_model: as_str,
    openinference::LLM_MODEL_NAME => llm_model_name: as_str,
    gen_ai::USAGE_INPUT_TOKENS => input_tokens: as_count,
    gen_ai::USAGE_OUTPUT_TOKENS => output_tokens: as_count,
    gen_ai::USAGE_PROMPT_TOKENS => prompt_tokens: as_count,
    gen_ai::USAGE_COMPLETION_TOKENS => completion_tokens: as_count,
    openinference::LLM_TOKEN_COUNT_PROMPT => oi_prompt_tokens: as_count,
    openinference::LLM_TOKEN_COUNT_COMPLETION => oi_completion_tokens: as_count,
    gen_ai::USAGE_CACHE_READ_INPUT_TOKENS => cache_read: as_count,
    gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS => cache_creation: as_count,
    openinference::LLM_TOKEN_COUNT_CACHE_READ => oi_cache_read: as_count,
    openinference::LLM_TOKEN_COUNT_CACHE_WRITE => oi_cache_write: as_count,
    gen_ai::USAGE_REASONING_OUTPUT_TOKENS => reasoning: as_count,
    openinference::LLM_TOKEN_COUNT_REASONING => oi_reasoning: as_count,
    traceloop::LLM_USAGE_TOTAL_TOKENS | openinference::LLM_TOKEN_COUNT_TOTAL => total_tokens: as_count,
    gen_ai::TOOL_NAME => tool_name: as_str,
    openinference::TOOL_NAME => oi_tool_name: as_str,
    traceloop::ENTITY_NAME => entity_name: as_str,
    gen_ai::AGENT_NAME => agent_name: as_str,
    gen_ai::WORKFLOW_NAME => workflow_name: as_str,
    traceloop::WORKFLOW_NAME => traceloop_workflow_name: as_str,
    seedwatch::WORKFLOW_ID => workflow_id: as_str,
    otel::ERROR_TYPE => error_type: as_str,
    seedwatch::LLM_COST_USD => seedwatch_cost: as_usd,
    openinference::LLM_COST_TOTAL => openinference_cost: as_usd,
    gen_ai::USAGE_COST => openlit_cost: as_usd,
    gen_ai::USAGE_INPUT_COST => input_cost: as_usd,
    gen_ai::USAGE_OUTPUT_COST => output_cost: as_usd,
}

impl<'a> SpanFacts<'a> {
    /// The workflow type a span names about itself (`gen_ai.workflow.name`, else
    /// `traceloop.workflow.name`, which OpenLLMetry puts on every span of a workflow).
    pub fn workflow_name(&self) -> Option<&'a str> {
        self.workflow_name.or(self.traceloop_workflow_name)
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
        assert_eq!(AttrValue::Int(12).as_count(), Count::Valid(12));
        assert_eq!(AttrValue::Double(12.0).as_count(), Count::Valid(12));
        assert_eq!(AttrValue::Str(" 7 ").as_count(), Count::Valid(7));
        assert_eq!(AttrValue::Int(-1).as_count(), Count::Invalid);
        assert_eq!(AttrValue::Int(MAX_TOKENS + 1).as_count(), Count::Invalid);
        assert_eq!(AttrValue::Double(1.5).as_count(), Count::Invalid);
        assert_eq!(AttrValue::Str("many").as_count(), Count::Invalid);
        assert_eq!(AttrValue::Bool(true).as_count(), Count::Invalid);
    }

    #[test]
    fn every_key_feeds_its_own_field() {
        use crate::attributes::gen_ai;
        let mut facts = SpanFacts::default();
        facts.observe(gen_ai::REQUEST_MODEL, AttrValue::Str("gpt-4o"));
        facts.observe(gen_ai::RESPONSE_MODEL, AttrValue::Str("gpt-4o-2024-08-06"));
        facts.observe(traceloop::LLM_USAGE_TOTAL_TOKENS, AttrValue::Int(5));
        facts.observe("gen_ai.request.model.extra", AttrValue::Str("ignored"));
        assert_eq!(facts.request_model, Some("gpt-4o"));
        assert_eq!(facts.response_model, Some("gpt-4o-2024-08-06"));
        assert_eq!(facts.total_tokens, Count::Valid(5));
        assert_eq!(
            Fact::of_key(openinference::LLM_TOKEN_COUNT_TOTAL.as_bytes()),
            Fact::of_key(b"llm.usage.total_tokens")
        );
        assert_eq!(Fact::of_key(b"gen_ai.request.mode"), None);
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
