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

impl<'a> SpanFacts<'a> {
    /// Records one attribute; unknown keys are ignored.
    pub fn observe(&mut self, key: &str, value: AttrValue<'a>) {
        let s = || value.as_str();
        match key {
            gen_ai::OPERATION_NAME => self.operation = s(),
            traceloop::SPAN_KIND => self.traceloop_kind = s(),
            openinference::SPAN_KIND => self.openinference_kind = s(),
            traceloop::LLM_REQUEST_TYPE => self.llm_request_type = s(),
            gen_ai::PROVIDER_NAME => self.provider_name = s(),
            gen_ai::SYSTEM => self.system = s(),
            openinference::LLM_PROVIDER => self.llm_provider = s(),
            openinference::LLM_SYSTEM => self.llm_system = s(),
            gen_ai::REQUEST_MODEL => self.request_model = s(),
            gen_ai::RESPONSE_MODEL => self.response_model = s(),
            openinference::LLM_MODEL_NAME => self.llm_model_name = s(),
            gen_ai::USAGE_INPUT_TOKENS => self.input_tokens = value.as_count(),
            gen_ai::USAGE_OUTPUT_TOKENS => self.output_tokens = value.as_count(),
            gen_ai::USAGE_PROMPT_TOKENS => self.prompt_tokens = value.as_count(),
            gen_ai::USAGE_COMPLETION_TOKENS => self.completion_tokens = value.as_count(),
            openinference::LLM_TOKEN_COUNT_PROMPT => self.oi_prompt_tokens = value.as_count(),
            openinference::LLM_TOKEN_COUNT_COMPLETION => self.oi_completion_tokens = value.as_count(),
            gen_ai::USAGE_CACHE_READ_INPUT_TOKENS => self.cache_read = value.as_count(),
            gen_ai::USAGE_CACHE_CREATION_INPUT_TOKENS => self.cache_creation = value.as_count(),
            openinference::LLM_TOKEN_COUNT_CACHE_READ => self.oi_cache_read = value.as_count(),
            openinference::LLM_TOKEN_COUNT_CACHE_WRITE => self.oi_cache_write = value.as_count(),
            gen_ai::USAGE_REASONING_OUTPUT_TOKENS => self.reasoning = value.as_count(),
            openinference::LLM_TOKEN_COUNT_REASONING => self.oi_reasoning = value.as_count(),
            traceloop::LLM_USAGE_TOTAL_TOKENS | openinference::LLM_TOKEN_COUNT_TOTAL => {
                self.total_tokens = value.as_count()
            }
            gen_ai::TOOL_NAME => self.tool_name = s(),
            openinference::TOOL_NAME => self.oi_tool_name = s(),
            traceloop::ENTITY_NAME => self.entity_name = s(),
            gen_ai::AGENT_NAME => self.agent_name = s(),
            gen_ai::WORKFLOW_NAME => self.workflow_name = s(),
            traceloop::WORKFLOW_NAME => self.traceloop_workflow_name = s(),
            seedwatch::WORKFLOW_ID => self.workflow_id = s(),
            otel::ERROR_TYPE => self.error_type = s(),
            seedwatch::LLM_COST_USD => self.seedwatch_cost = value.as_usd(),
            openinference::LLM_COST_TOTAL => self.openinference_cost = value.as_usd(),
            gen_ai::USAGE_COST => self.openlit_cost = value.as_usd(),
            gen_ai::USAGE_INPUT_COST => self.input_cost = value.as_usd(),
            gen_ai::USAGE_OUTPUT_COST => self.output_cost = value.as_usd(),
            _ => {}
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
    fn costs_must_be_finite_and_plausible() {
        assert_eq!(AttrValue::Double(0.0123).as_usd(), Some(0.0123));
        assert_eq!(AttrValue::Str("0.5").as_usd(), Some(0.5));
        assert_eq!(AttrValue::Double(-0.1).as_usd(), None);
        assert_eq!(AttrValue::Double(f64::NAN).as_usd(), None);
        assert_eq!(AttrValue::Double(1e9).as_usd(), None);
    }
}
