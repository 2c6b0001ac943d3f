//! Building export requests of agent spans.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use seedwatch_semconv::attributes::{gen_ai, openinference, otel, seedwatch, traceloop};

/// Spans in one trace: the workflow root, 6 tool calls, 3 LLM calls.
pub const SPANS_PER_TRACE: usize = 10;

/// Which instrumentation library's attribute names the spans carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenTelemetry GenAI semantic conventions.
    GenAi,
    /// OpenLLMetry / Traceloop.
    OpenLlmetry,
    /// OpenInference / Arize Phoenix.
    OpenInference,
    /// OpenLIT (GenAI names plus costs on the span).
    OpenLit,
    /// Each trace in the next dialect, round robin.
    Mixed,
}

impl std::str::FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "genai" => Dialect::GenAi,
            "openllmetry" => Dialect::OpenLlmetry,
            "openinference" => Dialect::OpenInference,
            "openlit" => Dialect::OpenLit,
            "mixed" => Dialect::Mixed,
            other => {
                return Err(format!(
                    "unknown dialect `{other}`; expected genai, openllmetry, openinference, openlit or mixed"
                ));
            }
        })
    }
}

/// The shape of the traffic.
#[derive(Debug, Clone, Copy)]
pub struct TrafficConfig {
    /// Attribute dialect.
    pub dialect: Dialect,
    /// Distinct service instances the requests come from.
    pub services: usize,
    /// Fraction of tool and LLM spans that fail.
    pub error_rate: f64,
    /// Whole traces per request (spans per request = traces × [`SPANS_PER_TRACE`]).
    pub traces_per_request: usize,
}

const TOOLS: [&str; 6] = [
    "run_metabolic_fba",
    "find_minimal_media",
    "gapfill_model",
    "analyze_essentiality",
    "flux_variability",
    "build_model",
];
const WORKFLOWS: [&str; 3] = ["model_analysis", "gapfill_pipeline", "media_optimization"];

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}
fn s(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}
fn i(key: &str, value: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(value))
}
fn d(key: &str, value: f64) -> KeyValue {
    kv(key, any_value::Value::DoubleValue(value))
}

/// Where [`request`] places its traces in time: November 2023, far from any clock.
pub const FIXED_START_UNIX_NANO: u64 = 1_700_000_000_000_000_000;

/// Request number `n`: deterministic, so runs are repeatable; trace ids differ per request.
/// Its traces start in November 2023 (spread over 11 days).
pub fn request(cfg: &TrafficConfig, n: u64) -> ExportTraceServiceRequest {
    build(cfg, n, |id| FIXED_START_UNIX_NANO + id % 1_000_000 * 1_000_000_000)
}

/// Like [`request`], with every trace ending within the 10 minutes before `end_unix_nano`
/// (the same `n` and `end_unix_nano` give the same request, so a run can be replayed).
pub fn request_ending_before(cfg: &TrafficConfig, n: u64, end_unix_nano: u64) -> ExportTraceServiceRequest {
    // A trace lasts 60 s; it starts 61 to 660 s before the end.
    build(cfg, n, |id| end_unix_nano.saturating_sub((61 + id % 600) * 1_000_000_000))
}

fn build(cfg: &TrafficConfig, n: u64, start_of: impl Fn(u64) -> u64) -> ExportTraceServiceRequest {
    let mut rng = fastrand::Rng::with_seed(n);
    let instance = (n as usize) % cfg.services.max(1);
    let resource = Resource {
        attributes: vec![
            s("service.name", "modelseed-agent"),
            s("service.instance.id", &format!("agent-{instance}")),
            s("service.version", "1.0.0"),
            s("host.name", &format!("node-{}", instance % 8)),
            s("telemetry.sdk.language", "python"),
        ],
        ..Default::default()
    };
    let mut spans = Vec::with_capacity(cfg.traces_per_request * SPANS_PER_TRACE);
    for t in 0..cfg.traces_per_request as u64 {
        let dialect = match cfg.dialect {
            Dialect::Mixed => {
                [Dialect::GenAi, Dialect::OpenLlmetry, Dialect::OpenInference, Dialect::OpenLit][((n + t) % 4) as usize]
            }
            other => other,
        };
        let id = n * 10_000 + t;
        trace(&mut spans, dialect, id, start_of(id), cfg.error_rate, &mut rng);
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "modelseed.agent".into(),
                    version: "1.0.0".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn trace(out: &mut Vec<Span>, dialect: Dialect, id: u64, start: u64, error_rate: f64, rng: &mut fastrand::Rng) {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&id.to_be_bytes());
    trace_id[8..].copy_from_slice(&rng.u64(..).to_be_bytes());
    let root_id = rng.u64(1..);
    let span = |span_id: u64,
                parent: Option<u64>,
                name: String,
                offset_ms: u64,
                len_ms: u64,
                mut attributes: Vec<KeyValue>,
                failed: bool| {
        attributes.extend([
            s("code.function", "execute"),
            s("code.filepath", "modelseed_agent/agent.py"),
            i("thread.id", 140_000 + (span_id % 7) as i64),
        ]);
        Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_be_bytes().to_vec(),
            parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
            name,
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: start + offset_ms * 1_000_000,
            end_time_unix_nano: start + (offset_ms + len_ms) * 1_000_000,
            attributes,
            status: failed.then(|| Status { code: StatusCode::Error as i32, message: "failed".into() }),
            ..Default::default()
        }
    };
    let workflow = WORKFLOWS[(id % 3) as usize];
    let root_attrs = match dialect {
        Dialect::OpenLlmetry => vec![
            s(traceloop::SPAN_KIND, "workflow"),
            s(traceloop::WORKFLOW_NAME, workflow),
            s(traceloop::ENTITY_NAME, workflow),
        ],
        Dialect::OpenInference => vec![s(openinference::SPAN_KIND, "CHAIN")],
        _ => vec![
            s(gen_ai::OPERATION_NAME, "invoke_workflow"),
            s(gen_ai::WORKFLOW_NAME, workflow),
            s(seedwatch::WORKFLOW_ID, &format!("wf-{id}")),
        ],
    };
    let root_name =
        if dialect == Dialect::OpenInference { workflow.to_owned() } else { format!("invoke_workflow {workflow}") };
    out.push(span(root_id, None, root_name, 0, 60_000, root_attrs, false));
    for k in 0..6u64 {
        let tool = TOOLS[((id + k) % 6) as usize];
        let failed = rng.f64() < error_rate;
        let mut attrs = match dialect {
            Dialect::OpenLlmetry => vec![s(traceloop::SPAN_KIND, "tool"), s(traceloop::ENTITY_NAME, tool)],
            Dialect::OpenInference => vec![s(openinference::SPAN_KIND, "TOOL"), s(openinference::TOOL_NAME, tool)],
            _ => vec![
                s(gen_ai::OPERATION_NAME, "execute_tool"),
                s(gen_ai::TOOL_NAME, tool),
                s(gen_ai::TOOL_CALL_ID, &format!("call-{k}")),
            ],
        };
        if failed {
            attrs.push(s(otel::ERROR_TYPE, "SolverError"));
        }
        out.push(span(
            root_id + 1 + k,
            Some(root_id),
            format!("execute_tool {tool}"),
            100 + k * 1000,
            50 + rng.u64(0..900),
            attrs,
            failed,
        ));
    }
    for k in 0..3u64 {
        let failed = rng.f64() < error_rate;
        let (input, output) = (rng.i64(500..20_000), rng.i64(50..2_000));
        let mut attrs = match dialect {
            Dialect::OpenLlmetry => vec![
                s(traceloop::LLM_REQUEST_TYPE, "chat"),
                s(gen_ai::SYSTEM, "openai"),
                s(gen_ai::REQUEST_MODEL, "gpt-4o-mini"),
                s(gen_ai::RESPONSE_MODEL, "gpt-4o-mini-2024-07-18"),
                i(gen_ai::USAGE_PROMPT_TOKENS, input),
                i(gen_ai::USAGE_COMPLETION_TOKENS, output),
                i(traceloop::LLM_USAGE_TOTAL_TOKENS, input + output),
            ],
            Dialect::OpenInference => vec![
                s(openinference::SPAN_KIND, "LLM"),
                s(openinference::LLM_PROVIDER, "anthropic"),
                s(openinference::LLM_SYSTEM, "anthropic"),
                s(openinference::LLM_MODEL_NAME, "claude-3-5-sonnet-20241022"),
                i(openinference::LLM_TOKEN_COUNT_PROMPT, input),
                i(openinference::LLM_TOKEN_COUNT_COMPLETION, output),
                i(openinference::LLM_TOKEN_COUNT_TOTAL, input + output),
            ],
            Dialect::OpenLit => vec![
                s(gen_ai::OPERATION_NAME, "chat"),
                s(gen_ai::SYSTEM, "mistral"),
                s(gen_ai::REQUEST_MODEL, "mistral-large-latest"),
                i(gen_ai::USAGE_INPUT_TOKENS, input),
                i(gen_ai::USAGE_OUTPUT_TOKENS, output),
                d(gen_ai::USAGE_COST, (input * 2 + output * 6) as f64 / 1e6),
            ],
            _ => vec![
                s(gen_ai::OPERATION_NAME, "chat"),
                s(gen_ai::PROVIDER_NAME, "openai"),
                s(gen_ai::REQUEST_MODEL, "gpt-4o"),
                s(gen_ai::RESPONSE_MODEL, "gpt-4o-2024-08-06"),
                i(gen_ai::USAGE_INPUT_TOKENS, input),
                i(gen_ai::USAGE_OUTPUT_TOKENS, output),
                i(gen_ai::USAGE_CACHE_READ_INPUT_TOKENS, input / 2),
                s("server.address", "api.openai.com"),
            ],
        };
        if failed {
            attrs.push(s(otel::ERROR_TYPE, "RateLimitError"));
        }
        out.push(span(
            root_id + 10 + k,
            Some(root_id),
            "chat".into(),
            7_000 + k * 5_000,
            800 + rng.u64(0..4_000),
            attrs,
            failed,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_hold_whole_traces_with_distinct_ids() {
        let cfg = TrafficConfig { dialect: Dialect::Mixed, services: 3, error_rate: 0.5, traces_per_request: 4 };
        let a = request(&cfg, 1);
        let b = request(&cfg, 2);
        let spans = &a.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 4 * SPANS_PER_TRACE);
        assert_ne!(spans[0].trace_id, b.resource_spans[0].scope_spans[0].spans[0].trace_id);
        assert_eq!(request(&cfg, 1), a, "deterministic");
        assert!(spans.iter().any(|s| s.status.is_some()), "errors at a 50% rate");
        assert!(spans.iter().all(|s| s.trace_id.len() == 16 && s.span_id.len() == 8));
    }

    #[test]
    fn requests_ending_before_a_time_end_before_it_and_repeat() {
        let cfg = TrafficConfig { dialect: Dialect::GenAi, services: 1, error_rate: 0.0, traces_per_request: 3 };
        let end = 1_795_608_000_000_000_000;
        let a = request_ending_before(&cfg, 7, end);
        let spans = &a.resource_spans[0].scope_spans[0].spans;
        assert!(spans.iter().all(|s| s.end_time_unix_nano < end && s.end_time_unix_nano > end - 700_000_000_000));
        assert_eq!(request_ending_before(&cfg, 7, end), a, "the same request again");
    }
}
