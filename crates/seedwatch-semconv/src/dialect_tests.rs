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
    assert_eq!((call.provider, call.model, call.response_model), ("openai", "gpt-4o", Some("gpt-4o-2024-08-06")));
    assert_eq!(
        call.tokens,
        Tokens { input: 1200, output: 300, cache_read: 1000, cache_creation: 0, reasoning: 120, cache_write_1h: 0 }
    );
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
        (call.provider, call.model, call.response_model, call.tokens.input, call.tokens.output),
        ("openai", "gpt-4o-mini", Some("gpt-4o-mini-2024-07-18"), 80, 20)
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
    assert_eq!(
        call.tokens,
        Tokens { input: 900, output: 100, cache_read: 512, cache_creation: 64, reasoning: 10, cache_write_1h: 0 }
    );
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

// Shapes below are what the named library versions wrote, instrumenting the official `openai`
// client against the test suite's fake OpenAI server (tests/e2e/genai_driver.py dumps them).

fn llm(attrs: &[(&str, V)], name: &'static str, status_error: bool) -> crate::LlmCall<'static> {
    match event(attrs, name, false, status_error) {
        AgentEvent::Llm(call) => call,
        other => panic!("not an LLM call: {other:?}"),
    }
}

#[test]
fn openllmetry_0_62_reasoning_tokens_and_errors() {
    let call = llm(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.provider.name", S("openai")),
            ("gen_ai.request.model", S("o3-mini")),
            ("gen_ai.response.model", S("o3-mini-2025-01-31")),
            ("gen_ai.usage.input_tokens", I(100)),
            ("gen_ai.usage.output_tokens", I(400)),
            ("gen_ai.usage.total_tokens", I(500)),
            ("gen_ai.usage.cache_read.input_tokens", I(0)),
            ("gen_ai.usage.reasoning_tokens", I(256)),
        ],
        "openai.response",
        false,
    );
    assert_eq!((call.model, call.tokens.reasoning, call.tokens.output), ("o3-mini", 256, 400));
    let failed = llm(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.provider.name", S("openai")),
            ("gen_ai.request.model", S("gpt-4o")),
            ("error.type", S("RateLimitError")),
        ],
        "openai.chat",
        true,
    );
    assert_eq!((failed.model, failed.error), ("gpt-4o", Some("RateLimitError")));
}

#[test]
fn openinference_0_1_66_failed_calls_and_embeddings_name_their_model() {
    let ok = llm(
        &[
            ("openinference.span.kind", S("LLM")),
            ("llm.system", S("openai")),
            ("llm.invocation_parameters", S(r#"{"model": "gpt-4o"}"#)),
            ("llm.model_name", S("gpt-4o-2024-08-06")),
            ("llm.token_count.prompt", I(1200)),
            ("llm.token_count.completion", I(300)),
            ("llm.token_count.prompt_details.cache_read", I(1000)),
            ("llm.token_count.completion_details.reasoning", I(64)),
        ],
        "ChatCompletion",
        false,
    );
    assert_eq!((ok.provider, ok.model, ok.response_model), ("openai", "gpt-4o", Some("gpt-4o-2024-08-06")));
    assert_eq!((ok.tokens.cache_read, ok.tokens.reasoning), (1000, 64));
    let mut facts = SpanFacts::default();
    for (k, v) in [
        ("openinference.span.kind", "LLM"),
        ("llm.system", "openai"),
        ("llm.invocation_parameters", r#"{"model": "gpt-4o"}"#),
    ] {
        facts.observe(k, AttrValue::Str(v));
    }
    assert!(facts.wants_exception_type());
    facts.set_exception_type("openai.RateLimitError");
    let AgentEvent::Llm(failed) =
        classify(&facts, SpanInfo { name: "ChatCompletion", is_root: false, status_error: true })
    else {
        panic!()
    };
    assert_eq!((failed.model, failed.error, failed.has_usage), ("gpt-4o", Some("openai.RateLimitError"), false));
    let embedding = llm(
        &[
            ("openinference.span.kind", S("EMBEDDING")),
            ("llm.system", S("openai")),
            (
                "embedding.invocation_parameters",
                S(r#"{"model": "text-embedding-3-small", "encoding_format": "base64"}"#),
            ),
            ("llm.token_count.prompt", I(8)),
            ("llm.token_count.total", I(8)),
            ("embedding.model_name", S("text-embedding-3-small")),
        ],
        "CreateEmbeddings",
        false,
    );
    assert_eq!(
        (embedding.model, embedding.response_model, embedding.tokens.input),
        ("text-embedding-3-small", None, 8)
    );
}

#[test]
fn the_exception_type_is_only_a_fallback_for_failed_spans() {
    let mut facts = SpanFacts::default();
    facts.observe("gen_ai.operation.name", AttrValue::Str("chat"));
    facts.observe("error.type", AttrValue::Str("RateLimitError"));
    assert!(!facts.wants_exception_type());
    facts.set_exception_type("openai.RateLimitError");
    let AgentEvent::Llm(call) = classify(&facts, SpanInfo { name: "chat", is_root: false, status_error: true }) else {
        panic!()
    };
    assert_eq!(call.error, Some("RateLimitError"), "error.type wins");
    let mut handled = SpanFacts::default();
    handled.observe("gen_ai.operation.name", AttrValue::Str("chat"));
    handled.set_exception_type("ValueError");
    let AgentEvent::Llm(call) = classify(&handled, SpanInfo { name: "chat", is_root: false, status_error: false })
    else {
        panic!()
    };
    assert_eq!(call.error, None, "an exception the call survived is no error");
}

#[test]
fn openlit_1_45_zero_cost_means_unpriced() {
    let call = llm(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.provider.name", S("openai")),
            ("gen_ai.request.model", S("house-model-1")),
            ("gen_ai.response.model", S("house-model-1")),
            ("gen_ai.usage.input_tokens", I(10)),
            ("gen_ai.usage.output_tokens", I(2)),
            ("gen_ai.usage.cost", I(0)),
            ("gen_ai.usage.cache_read.input_tokens", I(0)),
            ("gen_ai.usage.cache_creation.input_tokens", I(0)),
        ],
        "chat house-model-1",
        false,
    );
    assert_eq!((call.cost_usd, call.model, call.response_model), (None, "house-model-1", None));
    let failed = llm(
        &[("gen_ai.operation.name", S("chat")), ("gen_ai.request.model", S("gpt-4o")), ("gen_ai.usage.cost", D(0.0))],
        "chat gpt-4o",
        true,
    );
    assert_eq!(failed.cost_usd, Some(0.0), "a call without tokens may well cost nothing");
}

#[test]
fn cache_write_names_old_and_new_and_pydantic_ai_details() {
    for key in [
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "gen_ai.usage.details.cache_write_tokens",
    ] {
        let call = llm(
            &[("gen_ai.operation.name", S("chat")), ("gen_ai.usage.input_tokens", I(500)), (key, I(300))],
            "chat",
            false,
        );
        assert_eq!(call.tokens.cache_creation, 300, "{key}");
    }
    let anthropic = llm(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.provider.name", S("anthropic")),
            ("gen_ai.request.model", S("claude-sonnet-4")),
            ("gen_ai.usage.input_tokens", I(1000)),
            ("gen_ai.usage.output_tokens", I(10)),
            ("gen_ai.usage.cache_creation.input_tokens", I(600)),
            ("gen_ai.usage.details.cache_write_tokens", I(600)),
            ("gen_ai.usage.details.ephemeral_1h_input_tokens", I(400)),
            ("gen_ai.usage.details.reasoning_tokens", I(0)),
            ("operation.cost", D(0.0123)),
        ],
        "chat claude-sonnet-4",
        false,
    );
    assert_eq!((anthropic.tokens.cache_creation, anthropic.tokens.cache_write_1h), (600, 400));
    assert_eq!(anthropic.cost_usd, Some(0.0123), "Pydantic AI's operation.cost");
}

#[test]
fn pydantic_ai_2_78_agent_run_is_a_workflow_not_another_call() {
    let run = event(
        &[
            ("gen_ai.operation.name", S("invoke_agent")),
            ("gen_ai.agent.name", S("modelseed")),
            ("model_name", S("gpt-4o")),
            ("gen_ai.aggregated_usage.input_tokens", I(600)),
            ("gen_ai.aggregated_usage.output_tokens", I(80)),
        ],
        "invoke_agent modelseed",
        true,
        false,
    );
    assert!(matches!(run, AgentEvent::Workflow(ref w) if w.name == "modelseed" && w.kind == WorkflowKind::Agent));
    // With `use_aggregated_usage_attribute_names=False` the summed usage has the call names.
    let run = event(
        &[
            ("gen_ai.operation.name", S("invoke_agent")),
            ("gen_ai.agent.name", S("modelseed")),
            ("gen_ai.request.model", S("gpt-4o")),
            ("gen_ai.usage.input_tokens", I(600)),
        ],
        "invoke_agent modelseed",
        true,
        false,
    );
    assert!(matches!(run, AgentEvent::Workflow(_)));
    // Pydantic AI before 1.0: an `agent run` span with summed usage and no operation name.
    let old = event(
        &[("model_name", S("gpt-4o")), ("agent_name", S("agent")), ("gen_ai.usage.input_tokens", I(600))],
        "agent run",
        true,
        false,
    );
    assert_eq!(old, AgentEvent::Other);
}

#[test]
fn vercel_ai_6_inner_calls_count_and_outer_spans_do_not() {
    let inner = llm(
        &[
            ("operation.name", S("ai.generateText.doGenerate")),
            ("ai.operationId", S("ai.generateText.doGenerate")),
            ("ai.model.provider", S("openai.chat")),
            ("ai.model.id", S("gpt-4o")),
            ("gen_ai.system", S("openai.chat")),
            ("gen_ai.request.model", S("gpt-4o")),
            ("ai.response.model", S("gpt-4o-2024-08-06")),
            ("ai.usage.inputTokens", I(1200)),
            ("ai.usage.inputTokenDetails.noCacheTokens", I(200)),
            ("ai.usage.inputTokenDetails.cacheReadTokens", I(1000)),
            ("ai.usage.outputTokens", I(300)),
            ("ai.usage.outputTokenDetails.reasoningTokens", I(64)),
            ("ai.usage.reasoningTokens", I(64)),
            ("ai.usage.cachedInputTokens", I(1000)),
            ("gen_ai.response.model", S("gpt-4o-2024-08-06")),
            ("gen_ai.usage.input_tokens", I(1200)),
            ("gen_ai.usage.output_tokens", I(300)),
        ],
        "ai.generateText.doGenerate",
        false,
    );
    assert_eq!((inner.provider, inner.model, inner.response_model), ("openai", "gpt-4o", Some("gpt-4o-2024-08-06")));
    assert_eq!(
        inner.tokens,
        Tokens { input: 1200, output: 300, cache_read: 1000, cache_creation: 0, reasoning: 64, cache_write_1h: 0 }
    );
    let outer = event(
        &[
            ("ai.operationId", S("ai.generateText")),
            ("ai.model.provider", S("openai.chat")),
            ("ai.model.id", S("gpt-4o")),
            ("ai.usage.inputTokens", I(2400)),
            ("ai.usage.outputTokens", I(600)),
        ],
        "ai.generateText",
        true,
        false,
    );
    assert_eq!(outer, AgentEvent::Other);
    let embed = llm(
        &[
            ("ai.operationId", S("ai.embed.doEmbed")),
            ("ai.model.provider", S("openai.embedding")),
            ("ai.model.id", S("text-embedding-3-small")),
            ("ai.usage.tokens", I(8)),
        ],
        "ai.embed.doEmbed",
        false,
    );
    assert_eq!((embed.provider, embed.model, embed.tokens.input), ("openai", "text-embedding-3-small", 8));
    let tool = event(
        &[("ai.operationId", S("ai.toolCall")), ("ai.toolCall.name", S("run_fba")), ("ai.toolCall.id", S("call_1"))],
        "ai.toolCall",
        false,
        false,
    );
    assert_eq!(tool, AgentEvent::Tool(crate::ToolCall { name: "run_fba", error: None }));
    // v4 names.
    let v4 = llm(
        &[
            ("ai.operationId", S("ai.streamText.doStream")),
            ("ai.model.provider", S("anthropic.messages")),
            ("ai.model.id", S("claude-3-5-sonnet-latest")),
            ("ai.usage.promptTokens", I(70)),
            ("ai.usage.completionTokens", I(9)),
        ],
        "ai.streamText.doStream",
        false,
    );
    assert_eq!((v4.provider, v4.tokens.input, v4.tokens.output), ("anthropic", 70, 9));
}

#[test]
fn langfuse_observations() {
    let generation = llm(
        &[
            ("langfuse.observation.type", S("generation")),
            ("langfuse.observation.model.name", S("gpt-4o")),
            ("langfuse.observation.usage_details", S(r#"{"input": 200, "input_cached_tokens": 1000, "output": 300}"#)),
            ("langfuse.observation.cost_details", S(r#"{"input": 0.002, "output": 0.003, "total": 0.005}"#)),
        ],
        "OpenAI-generation",
        false,
    );
    assert_eq!((generation.model, generation.tokens.input, generation.tokens.cache_read), ("gpt-4o", 1200, 1000));
    assert_eq!(generation.cost_usd, Some(0.005));
    let agent = event(&[("langfuse.observation.type", S("agent"))], "planner", true, false);
    assert!(matches!(agent, AgentEvent::Workflow(ref w) if w.kind == WorkflowKind::Agent));
    assert_eq!(event(&[("langfuse.observation.type", S("span"))], "step", false, false), AgentEvent::Other);
}

#[test]
fn provider_names_are_normalised_across_dialects() {
    for (attr, raw, known) in [
        ("gen_ai.system", "gcp.vertex.agent", "gcp.vertex_ai"),
        ("gen_ai.system", "az.ai.openai", "azure.ai.openai"),
        ("gen_ai.provider.name", "Anthropic", "anthropic"),
        ("llm.provider", "azure", "azure.ai.openai"),
        ("gen_ai.system", "vertex_ai", "gcp.vertex_ai"),
    ] {
        let call = llm(&[("gen_ai.operation.name", S("chat")), (attr, S(raw))], "chat", false);
        assert_eq!(call.provider, known, "{raw}");
    }
}

#[test]
fn the_proposed_cost_attribute_is_taken_in_usd_only() {
    let usd = llm(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.usage.cost.amount", D(0.5)),
            ("gen_ai.usage.cost.currency", S("USD")),
        ],
        "chat",
        false,
    );
    assert_eq!(usd.cost_usd, Some(0.5));
    let eur = llm(
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.usage.cost.amount", D(0.5)),
            ("gen_ai.usage.cost.currency", S("EUR")),
        ],
        "chat",
        false,
    );
    assert_eq!(eur.cost_usd, None);
}
