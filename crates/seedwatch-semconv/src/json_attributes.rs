//! Values some dialects pack into one JSON string attribute: OpenInference's invocation
//! parameters (the only place a failed call names its model) and Langfuse's usage and cost
//! details. Parsed only when the classifier needs them; anything unreadable is `None`.

use serde::Deserialize;

use crate::facts::Count;

/// The `model` of an invocation-parameters object (`{"model": "gpt-4o", ...}`), borrowed: a
/// model name with JSON escapes in it is not taken.
pub(crate) fn model_of_parameters(json: &str) -> Option<&str> {
    #[derive(Deserialize)]
    struct Parameters<'a> {
        #[serde(borrow)]
        model: Option<&'a str>,
    }
    serde_json::from_str::<Parameters<'_>>(json).ok()?.model.filter(|m| !m.is_empty())
}

/// Token counts read from Langfuse's `usage_details`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LangfuseUsage {
    pub input: Count,
    pub output: Count,
    pub cache_read: Count,
    pub cache_write: Count,
    pub reasoning: Count,
}

/// Langfuse's usage details. Its own keys are disjoint buckets (`input` does not include
/// `input_cached_tokens` or the `cache_*_input_tokens` an Anthropic usage object carries), so
/// cache buckets are added to the input count; a raw OpenAI usage object (`prompt_tokens`,
/// with `prompt_tokens_details`) already includes them.
pub(crate) fn langfuse_usage(json: &str) -> Option<LangfuseUsage> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    let get = |keys: &[&str]| keys.iter().find_map(|k| map.get(*k)).map_or(Count::Absent, count_of);
    let detail = |outer: &str, inner: &str| map.get(outer).and_then(|d| d.get(inner)).map_or(Count::Absent, count_of);
    if map.contains_key("prompt_tokens") {
        return Some(LangfuseUsage {
            input: get(&["prompt_tokens"]),
            output: get(&["completion_tokens"]),
            cache_read: detail("prompt_tokens_details", "cached_tokens"),
            cache_write: Count::Absent,
            reasoning: detail("completion_tokens_details", "reasoning_tokens"),
        });
    }
    let cache_read = get(&["input_cached_tokens", "cache_read_input_tokens", "input_cache_read"]);
    let cache_write = get(&["cache_creation_input_tokens", "input_cache_creation", "input_cache_write"]);
    let uncached = get(&["input", "input_tokens"]);
    let input = match (uncached, cache_read, cache_write) {
        (Count::Absent, _, _) => Count::Absent,
        (Count::Invalid, _, _) | (_, Count::Invalid, _) | (_, _, Count::Invalid) => Count::Invalid,
        (Count::Valid(n), r, w) => {
            let add = |c: Count| if let Count::Valid(v) = c { v } else { 0 };
            Count::Valid(n.saturating_add(add(r)).saturating_add(add(w)))
        }
    };
    Some(LangfuseUsage {
        input,
        output: get(&["output", "output_tokens"]),
        cache_read,
        cache_write,
        reasoning: get(&["output_reasoning_tokens", "output_reasoning", "reasoning_tokens"]),
    })
}

/// A token count given as a JSON value: a plausible integer, else invalid.
fn count_of(v: &serde_json::Value) -> Count {
    match v.as_i64() {
        Some(n) if (0..=crate::facts::MAX_TOKENS).contains(&n) => Count::Valid(n as u64),
        _ => Count::Invalid,
    }
}

/// The `total` of Langfuse's cost details, else the sum of its parts.
pub(crate) fn langfuse_total_cost(json: &str) -> Option<f64> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    let total = match map.get("total") {
        Some(t) => t.as_f64()?,
        None => map.values().map(serde_json::Value::as_f64).sum::<Option<f64>>()?,
    };
    (total.is_finite() && (0.0..=crate::facts::MAX_COST_USD).contains(&total)).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_comes_out_of_invocation_parameters() {
        assert_eq!(model_of_parameters(r#"{"model": "gpt-4o"}"#), Some("gpt-4o"));
        assert_eq!(
            model_of_parameters(
                r#"{"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true}}"#
            ),
            Some("gpt-4o-mini")
        );
        assert_eq!(model_of_parameters(r#"{"temperature": 0.2}"#), None);
        assert_eq!(model_of_parameters(r#"{"model": ""}"#), None);
        assert_eq!(model_of_parameters(r#"{"model": "a\"b"}"#), None);
        assert_eq!(model_of_parameters("not json"), None);
    }

    #[test]
    fn langfuse_usage_in_its_own_buckets_and_as_openai_sent_it() {
        let own = langfuse_usage(
            r#"{"input": 200, "input_cached_tokens": 1000, "output": 300, "output_reasoning_tokens": 64}"#,
        )
        .expect("valid test input");
        assert_eq!(own.input, Count::Valid(1200));
        assert_eq!(
            (own.cache_read, own.output, own.reasoning),
            (Count::Valid(1000), Count::Valid(300), Count::Valid(64))
        );
        let anthropic = langfuse_usage(
            r#"{"input_tokens": 20, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 30}"#,
        )
        .expect("valid test input");
        assert_eq!((anthropic.input, anthropic.cache_write), (Count::Valid(150), Count::Valid(30)));
        let openai = langfuse_usage(
            r#"{"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
                "prompt_tokens_details": {"cached_tokens": 1000}, "completion_tokens_details": {"reasoning_tokens": 64}}"#,
        )
        .expect("valid test input");
        assert_eq!(
            (openai.input, openai.cache_read, openai.reasoning),
            (Count::Valid(1200), Count::Valid(1000), Count::Valid(64))
        );
        assert_eq!(langfuse_usage(r#"{"input": -3}"#).expect("valid test input").input, Count::Invalid);
        assert_eq!(langfuse_usage("[1, 2]"), None);
    }

    #[test]
    fn langfuse_cost_is_its_total_or_the_sum_of_its_parts() {
        assert_eq!(langfuse_total_cost(r#"{"input": 0.001, "output": 0.002, "total": 0.003}"#), Some(0.003));
        assert_eq!(langfuse_total_cost(r#"{"input": 0.25, "output": 0.5}"#), Some(0.75));
        assert_eq!(langfuse_total_cost(r#"{"total": -1}"#), None);
        assert_eq!(langfuse_total_cost(r#"{"total": "x"}"#), None);
    }
}
