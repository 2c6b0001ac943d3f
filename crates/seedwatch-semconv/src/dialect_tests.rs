//! Real-shaped spans from each instrumentation dialect.

use crate::{AgentEvent, AttrValue, SpanFacts, SpanInfo, Tokens, WorkflowKind, classify};

enum V {
    S(&'static str),
    I(i64),
    D(f64),
}

fn event(attrs: &[(&str, V)], name: &'static str, is_root: bool, status_error: bool) -> AgentEvent<'static> {
    let mut facts = SpanFacts::default();
    for (k, v) in attrs {
        let value = match v {
            V::S(s) => AttrValue::Str(s),
            V::I(i) => AttrValue::Int(*i),
            V::D(d) => AttrValue::Double(*d),
        };
        facts.observe(k, value);
    }
    classify(&facts, SpanInfo { name, is_root, status_error })
}

use V::*;

#[test]
fn otel_genai_chat_with_current_names() {
    let e = event(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.provider.name", S("openai")),
            ("gen_ai.request.model", S("gpt-4o")),
            ("gen_ai.response.model", S("gpt-4o-2024-08-06")),
            ("gen_ai.usage.input_tokens", I(1200)),
            ("gen_ai.usage.output_tokens", I(300)),
            ("gen_ai.usage.cache_read.input_tokens", I(1000)),
            ("gen_ai.usage.cache_creation.input_tokens", I(0)),
            ("gen_ai.usage.reasoning.output_tokens", I(120)),
            ("server.address", S("api.openai.com")),
        ],
        "chat gpt-4o",
        false,
        false,
    );
    let AgentEvent::Llm(call) = e else { panic!("{e:?}") };
    assert_eq!((call.provider, call.model, call.request_model), ("openai", "gpt-4o-2024-08-06", Some("gpt-4o")));
    assert_eq!(call.tokens, Tokens { input: 1200, output: 300, cache_read: 1000, cache_creation: 0, reasoning: 120 });
    assert!(call.has_usage && !call.invalid_tokens);
    assert_eq!((call.cost_usd, call.error), (None, None));
}

#[test]
fn otel_genai_deprecated_names_and_error() {
    let e = event(
        &[
            ("gen_ai.operation.name", S("text_completion")),
            ("gen_ai.system", S("anthropic")),
            ("gen_ai.request.model", S("claude-3-5-sonnet-20241022")),
            ("gen_ai.usage.prompt_tokens", I(50)),
            ("gen_ai.usage.completion_tokens", I(7)),
            ("error.type", S("RateLimitError")),
        ],
        "text_completion claude",
        false,
        true,
    );
    let AgentEvent::Llm(call) = e else { panic!("{e:?}") };
    assert_eq!((call.provider, call.model), ("anthropic", "claude-3-5-sonnet-20241022"));
    assert_eq!((call.tokens.input, call.tokens.output), (50, 7));
    assert_eq!(call.error, Some("RateLimitError"));
}

#[test]
fn otel_genai_tool_agent_workflow_and_create_agent() {
    let tool = event(
        &[
            ("gen_ai.operation.name", S("execute_tool")),
            ("gen_ai.tool.name", S("run_metabolic_fba")),
            ("gen_ai.tool.call.id", S("c1")),
        ],
        "execute_tool run_metabolic_fba",
        false,
        true,
    );
    assert_eq!(tool, AgentEvent::Tool(crate::ToolCall { name: "run_metabolic_fba", error: Some("_OTHER") }));
    let agent = event(
        &[("gen_ai.operation.name", S("invoke_agent")), ("gen_ai.agent.name", S("ModelSEEDagent"))],
        "invoke_agent",
        true,
        false,
    );
    let AgentEvent::Workflow(w) = agent else { panic!() };
    assert_eq!((w.name, w.kind), ("ModelSEEDagent", WorkflowKind::Agent));
    let wf = event(
        &[
            ("gen_ai.operation.name", S("invoke_workflow")),
            ("gen_ai.workflow.name", S("model_analysis")),
            ("seedwatch.workflow.id", S("wf-42")),
        ],
        "invoke_workflow",
        true,
        false,
    );
    let AgentEvent::Workflow(w) = wf else { panic!() };
    assert_eq!((w.name, w.kind, w.id), ("model_analysis", WorkflowKind::Workflow, Some("wf-42")));
    assert_eq!(event(&[("gen_ai.operation.name", S("create_agent"))], "create_agent", true, false), AgentEvent::Other);
}

#[test]
fn openllmetry_traceloop_spans() {
    let wf = event(
        &[
            ("traceloop.span.kind", S("workflow")),
            ("traceloop.workflow.name", S("gapfill_pipeline")),
            ("traceloop.entity.name", S("gapfill_pipeline")),
        ],
        "gapfill_pipeline.workflow",
        true,
        false,
    );
    assert!(matches!(wf, AgentEvent::Workflow(ref w) if w.name == "gapfill_pipeline"));
    let tool = event(
        &[("traceloop.span.kind", S("tool")), ("traceloop.entity.name", S("find_minimal_media"))],
        "find_minimal_media.tool",
        false,
        false,
    );
    assert!(matches!(tool, AgentEvent::Tool(ref t) if t.name == "find_minimal_media"));
    assert_eq!(event(&[("traceloop.span.kind", S("task"))], "step.task", false, false), AgentEvent::Other);
    let llm = event(
        &[
            ("llm.request.type", S("chat")),
            ("gen_ai.system", S("openai")),
            ("gen_ai.request.model", S("gpt-4o-mini")),
            ("gen_ai.response.model", S("gpt-4o-mini-2024-07-18")),
            ("gen_ai.usage.prompt_tokens", I(80)),
            ("gen_ai.usage.completion_tokens", I(20)),
            ("llm.usage.total_tokens", I(100)),
        ],
        "openai.chat",
        false,
        false,
    );
    let AgentEvent::Llm(call) = llm else { panic!("{llm:?}") };
    assert_eq!(
        (call.provider, call.model, call.tokens.input, call.tokens.output),
        ("openai", "gpt-4o-mini-2024-07-18", 80, 20)
    );
}

#[test]
fn openinference_spans() {
    let llm = event(
        &[
            ("openinference.span.kind", S("LLM")),
            ("llm.model_name", S("claude-3-5-haiku-20241022")),
            ("llm.provider", S("anthropic")),
            ("llm.system", S("anthropic")),
            ("llm.token_count.prompt", I(900)),
            ("llm.token_count.completion", I(100)),
            ("llm.token_count.total", I(1000)),
            ("llm.token_count.prompt_details.cache_read", I(512)),
            ("llm.token_count.prompt_details.cache_write", I(64)),
            ("llm.token_count.completion_details.reasoning", I(10)),
            ("llm.cost.total", D(0.0021)),
        ],
        "ChatAnthropic",
        false,
        false,
    );
    let AgentEvent::Llm(call) = llm else { panic!("{llm:?}") };
    assert_eq!(call.tokens, Tokens { input: 900, output: 100, cache_read: 512, cache_creation: 64, reasoning: 10 });
    assert_eq!(call.cost_usd, Some(0.0021), "a cost on the span wins");
    let tool = event(
        &[("openinference.span.kind", S("TOOL")), ("tool.name", S("gapfill_model"))],
        "gapfill_model",
        false,
        false,
    );
    assert!(matches!(tool, AgentEvent::Tool(ref t) if t.name == "gapfill_model"));
    let agent = event(&[("openinference.span.kind", S("AGENT"))], "ModelSEEDAgent", true, false);
    assert!(
        matches!(agent, AgentEvent::Workflow(ref w) if w.kind == WorkflowKind::Agent && w.name == "ModelSEEDAgent")
    );
    assert!(matches!(
        event(&[("openinference.span.kind", S("CHAIN"))], "analysis", true, false),
        AgentEvent::Workflow(_)
    ));
    assert_eq!(event(&[("openinference.span.kind", S("CHAIN"))], "sub", false, false), AgentEvent::Other);
    assert_eq!(event(&[("openinference.span.kind", S("RETRIEVER"))], "r", false, false), AgentEvent::Other);
}

#[test]
fn openlit_costs() {
    let e = event(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.system", S("mistral")),
            ("gen_ai.request.model", S("mistral-large-latest")),
            ("gen_ai.usage.input_tokens", I(10)),
            ("gen_ai.usage.output_tokens", I(5)),
            ("gen_ai.usage.input_cost", D(0.002)),
            ("gen_ai.usage.output_cost", D(0.003)),
        ],
        "chat",
        false,
        false,
    );
    let AgentEvent::Llm(call) = e else { panic!() };
    assert!((call.cost_usd.expect("cost") - 0.005).abs() < 1e-12);
    let e = event(
        &[("gen_ai.operation.name", S("chat")), ("gen_ai.usage.cost", D(0.25)), ("gen_ai.usage.input_cost", D(9.0))],
        "chat",
        false,
        false,
    );
    let AgentEvent::Llm(call) = e else { panic!() };
    assert_eq!(call.cost_usd, Some(0.25), "a total cost wins over the split");
    assert_eq!((call.provider, call.model), ("unknown", "unknown"));
}

#[test]
fn absurd_tokens_invalidate_usage_but_not_the_call() {
    let e = event(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.usage.input_tokens", I(-5)),
            ("gen_ai.usage.output_tokens", I(3)),
        ],
        "chat",
        false,
        false,
    );
    let AgentEvent::Llm(call) = e else { panic!() };
    assert!(call.invalid_tokens && !call.has_usage);
    assert_eq!(call.tokens, Tokens::default());
}

#[test]
fn plain_spans_are_other() {
    assert_eq!(event(&[("http.request.method", S("GET"))], "GET /health", true, false), AgentEvent::Other);
    let by_fallback =
        event(&[("gen_ai.request.model", S("gpt-4o")), ("gen_ai.usage.input_tokens", I(1))], "call", false, false);
    assert!(matches!(by_fallback, AgentEvent::Llm(_)));
}
