use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::*;
use crate::pipeline::{Batch, Payload, Transport};
use crate::telemetry::{Exposition, ExpositionFormat};

enum V {
    S(&'static str),
    I(i64),
    D(f64),
}
use V::*;

fn span(name: &str, attrs: &[(&str, V)], millis: u64, error: bool) -> Span {
    Span {
        trace_id: vec![7; 16],
        span_id: vec![1; 8],
        parent_span_id: vec![2; 8],
        name: name.into(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_000_000_000 + millis * 1_000_000,
        attributes: attrs
            .iter()
            .map(|(k, v)| KeyValue {
                key: (*k).into(),
                value: Some(AnyValue {
                    value: Some(match v {
                        S(s) => any_value::Value::StringValue((*s).into()),
                        I(i) => any_value::Value::IntValue(*i),
                        D(d) => any_value::Value::DoubleValue(*d),
                    }),
                }),
                ..Default::default()
            })
            .collect(),
        status: error.then(|| Status { code: 2, message: "boom".into() }),
        ..Default::default()
    }
}

/// A trace request as a receiver hands it on: encoded, validated, raw.
fn received(req: ExportTraceServiceRequest) -> Payload {
    use prost::Message;
    let data = crate::pipeline::TraceData::from_protobuf(req.encode_to_vec().into()).expect("valid request");
    assert!(data.is_raw_only());
    Payload::Traces(data)
}

fn run(yaml: &str, spans: Vec<Span>) -> String {
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    };
    run_payloads(yaml, vec![received(req)])
}

fn run_payloads(yaml: &str, payloads: Vec<Payload>) -> String {
    let parsed = parse(serde_norway::from_str(yaml).expect("yaml")).expect("valid config");
    let mut ctx = BuildContext::default();
    let processor = parsed.build(&mut ctx);
    for payload in payloads {
        processor.process(&mut Batch::new(payload, Transport::Grpc));
    }
    let mut out = String::new();
    ctx.derived.encode(&mut out, ExpositionFormat::Text004);
    out
}

fn value(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no `{sample}` in\n{text}"))
}

#[test]
fn tools_llm_calls_tokens_and_cost_from_every_dialect() {
    let spans = vec![
        span(
            "execute_tool run_metabolic_fba",
            &[("gen_ai.operation.name", S("execute_tool")), ("gen_ai.tool.name", S("run_metabolic_fba"))],
            1500,
            false,
        ),
        span("gapfill", &[("openinference.span.kind", S("TOOL")), ("tool.name", S("gapfill_model"))], 20, true),
        span(
            "chat",
            &[
                ("gen_ai.operation.name", S("chat")),
                ("gen_ai.provider.name", S("openai")),
                ("gen_ai.request.model", S("gpt-4o")),
                ("gen_ai.response.model", S("gpt-4o-2024-08-06")),
                ("gen_ai.usage.input_tokens", I(1_000_000)),
                ("gen_ai.usage.output_tokens", I(100_000)),
                ("gen_ai.usage.cache_read.input_tokens", I(200_000)),
            ],
            800,
            false,
        ),
        span(
            "ChatAnthropic",
            &[
                ("openinference.span.kind", S("LLM")),
                ("llm.provider", S("anthropic")),
                ("llm.model_name", S("claude-3-5-sonnet-20241022")),
                ("llm.token_count.prompt", I(10)),
                ("llm.token_count.completion", I(5)),
                ("llm.cost.total", D(0.25)),
            ],
            300,
            false,
        ),
        span(
            "openai.chat",
            &[
                ("llm.request.type", S("chat")),
                ("gen_ai.system", S("openai")),
                ("gen_ai.request.model", S("gpt-99")),
                ("gen_ai.usage.prompt_tokens", I(3)),
            ],
            100,
            false,
        ),
        span(
            "chat",
            &[
                ("gen_ai.operation.name", S("chat")),
                ("gen_ai.provider.name", S("openai")),
                ("error.type", S("RateLimitError")),
            ],
            50,
            true,
        ),
    ];
    let text = run("{}", spans);
    assert_eq!(value(&text, "modelseed_tool_executions_total{tool_name=\"run_metabolic_fba\"}"), 1.0);
    assert_eq!(value(&text, "modelseed_tool_executions_total{tool_name=\"gapfill_model\"}"), 1.0);
    assert_eq!(value(&text, "modelseed_tool_errors_total{tool_name=\"gapfill_model\",error_type=\"_OTHER\"}"), 1.0);
    assert_eq!(value(&text, "modelseed_tool_duration_seconds_sum{tool_name=\"run_metabolic_fba\"}"), 1.5);
    assert_eq!(value(&text, "modelseed_tool_duration_seconds_bucket{tool_name=\"run_metabolic_fba\",le=\"2.5\"}"), 1.0);
    assert_eq!(value(&text, "modelseed_tool_duration_seconds_bucket{tool_name=\"run_metabolic_fba\",le=\"1.0\"}"), 0.0);

    // The model asked for names the series; the dated version that answered prices the call.
    let gpt = "provider=\"openai\",model=\"gpt-4o\"";
    assert_eq!(value(&text, &format!("modelseed_llm_requests_total{{{gpt}}}")), 1.0);
    assert_eq!(value(&text, &format!("modelseed_llm_tokens_total{{{gpt},type=\"input\"}}")), 1_000_000.0);
    assert_eq!(value(&text, &format!("modelseed_llm_tokens_total{{{gpt},type=\"cache_read\"}}")), 200_000.0);
    // 800k uncached * 2.50 + 200k cached * 1.25 + 100k * 10.00, per million.
    assert!((value(&text, &format!("modelseed_llm_cost_usd_total{{{gpt}}}")) - 3.25).abs() < 1e-9);
    assert_eq!(
        value(&text, "modelseed_llm_cost_usd_total{provider=\"anthropic\",model=\"claude-3-5-sonnet-20241022\"}"),
        0.25,
        "a cost on the span wins over the table"
    );
    assert_eq!(value(&text, "modelseed_llm_cost_unknown_total{provider=\"openai\",model=\"gpt-99\"}"), 1.0);
    assert_eq!(value(&text, "modelseed_llm_errors_total{provider=\"openai\",error_type=\"RateLimitError\"}"), 1.0);
    assert_eq!(value(&text, "modelseed_llm_duration_seconds_count{provider=\"openai\"}"), 3.0);
    assert!(
        !text.contains("model=\"unknown\"} ")
            || !text.contains("modelseed_llm_cost_unknown_total{provider=\"openai\",model=\"unknown\"}"),
        "a failed call without usage is free, not unknown"
    );
}

#[test]
fn one_series_per_chosen_model_priced_by_the_model_that_answered() {
    let answered = |error: bool| {
        let mut attrs = vec![
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.provider.name", S("openai")),
            ("gen_ai.request.model", S("gpt-4o")),
        ];
        if !error {
            attrs.extend([
                ("gen_ai.response.model", S("gpt-4o-2024-05-13")),
                ("gen_ai.usage.input_tokens", I(1_000_000)),
                ("gen_ai.usage.output_tokens", I(0)),
            ]);
        }
        span("chat gpt-4o", &attrs, 10, error)
    };
    let yaml = "pricing:\n  models:\n    - {provider: openai, model: gpt-4o-2024-05-13, input: 5.0, output: 15.0}\n";
    let text = run(yaml, vec![answered(false), answered(true)]);
    let gpt = "provider=\"openai\",model=\"gpt-4o\"";
    assert_eq!(value(&text, &format!("modelseed_llm_requests_total{{{gpt}}}")), 2.0, "{text}");
    assert_eq!(value(&text, &format!("modelseed_llm_cost_usd_total{{{gpt}}}")), 5.0, "the dated version's own price");
    assert!(!text.contains("gpt-4o-2024-05-13"), "no series for the dated version");
}

#[test]
fn failed_calls_take_their_error_type_from_the_exception_event() {
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    let exception = |t: &str| Event {
        name: "exception".into(),
        attributes: vec![KeyValue {
            key: "exception.type".into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(t.into())) }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut failed = span(
        "ChatCompletion",
        &[
            ("openinference.span.kind", S("LLM")),
            ("llm.system", S("openai")),
            ("llm.invocation_parameters", S(r#"{"model": "gpt-4o"}"#)),
        ],
        10,
        true,
    );
    failed.events = vec![Event { name: "retry".into(), ..Default::default() }, exception("openai.RateLimitError")];
    let chat =
        [("gen_ai.operation.name", S("chat")), ("gen_ai.system", S("OpenAI")), ("gen_ai.request.model", S("gpt-4o"))];
    let mut survived = span("chat", &chat, 10, false);
    survived.events = vec![exception("ValueError")];
    let mut unnamed = span("chat", &chat, 10, true);
    unnamed.events = vec![Event { name: "log".into(), ..Default::default() }];
    let text = run("{}", vec![failed, survived, unnamed]);
    let errors =
        |t: &str| value(&text, &format!("modelseed_llm_errors_total{{provider=\"openai\",error_type=\"{t}\"}}"));
    assert_eq!(errors("openai.RateLimitError"), 1.0, "{text}");
    assert_eq!(errors("_OTHER"), 1.0);
    assert_eq!(value(&text, "modelseed_llm_requests_total{provider=\"openai\",model=\"gpt-4o\"}"), 3.0);
    assert!(!text.contains("ValueError"));
}

#[test]
fn a_producer_cost_of_zero_on_a_call_with_tokens_is_priced_here() {
    let call = |model: &'static str| {
        span(
            "chat",
            &[
                ("gen_ai.operation.name", S("chat")),
                ("gen_ai.provider.name", S("openai")),
                ("gen_ai.request.model", S(model)),
                ("gen_ai.usage.input_tokens", I(1_000_000)),
                ("gen_ai.usage.output_tokens", I(0)),
                ("gen_ai.usage.cost", I(0)),
            ],
            10,
            false,
        )
    };
    let text = run("{}", vec![call("gpt-4o"), call("house-model-1")]);
    assert_eq!(value(&text, "modelseed_llm_cost_usd_total{provider=\"openai\",model=\"gpt-4o\"}"), 2.5, "{text}");
    assert_eq!(value(&text, "modelseed_llm_cost_unknown_total{provider=\"openai\",model=\"house-model-1\"}"), 1.0);
}

#[test]
fn workflows_and_http_server_spans() {
    let mut root = span(
        "invoke_workflow",
        &[("gen_ai.operation.name", S("invoke_workflow")), ("gen_ai.workflow.name", S("model_analysis"))],
        65_000,
        false,
    );
    root.parent_span_id.clear();
    let failed =
        span("wf", &[("traceloop.span.kind", S("workflow")), ("traceloop.workflow.name", S("gapfill"))], 1000, true);
    let mut http =
        span("GET /models/{id}", &[("http.request.method", S("GET")), ("http.route", S("/models/{id}"))], 30, false);
    http.kind = 2;
    let text = run("namespace: agents", vec![root, failed, http]);
    assert_eq!(
        value(&text, "agents_workflow_duration_seconds_count{workflow_type=\"model_analysis\",status=\"completed\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "agents_workflow_duration_seconds_sum{workflow_type=\"model_analysis\",status=\"completed\"}"),
        65.0
    );
    assert_eq!(
        value(&text, "agents_workflow_duration_seconds_count{workflow_type=\"gapfill\",status=\"failed\"}"),
        1.0
    );
    assert_eq!(value(&text, "agents_requests_total{method=\"GET\",endpoint=\"/models/{id}\"}"), 1.0);
    assert_eq!(value(&text, "agents_request_duration_seconds_count"), 1.0);
}

#[test]
fn config_overrides_prices_and_rejects_bad_values() {
    let spans = vec![span(
        "chat",
        &[
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.provider.name", S("local")),
            ("gen_ai.request.model", S("llama")),
            ("gen_ai.usage.input_tokens", I(2_000_000)),
        ],
        10,
        false,
    )];
    let text = run("pricing:\n  models:\n    - {provider: local, model: llama, input: 0.5, output: 1.0}\n", spans);
    assert_eq!(value(&text, "modelseed_llm_cost_usd_total{provider=\"local\",model=\"llama\"}"), 1.0);

    let err =
        parse(serde_norway::from_str("namespace: 'bad-name'\ncardinality: {max_series_per_metric: 0}").expect("yaml"))
            .expect_err("invalid");
    let paths: Vec<_> = err.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["namespace", "cardinality.max_series_per_metric"]);
    let err = parse(serde_norway::from_str("pricing: {file: /nonexistent/pricing.yaml}").expect("yaml"))
        .expect_err("missing file");
    assert_eq!(err[0].path, "pricing.file");
    assert!(err[0].message.contains("cannot read"), "{}", err[0].message);
}

#[test]
fn implausible_costs_are_priced_from_tokens_or_not_charged() {
    let llm = |id: u8, attrs: &[(&str, V)]| {
        let mut base = vec![
            ("gen_ai.operation.name", S("chat")),
            ("gen_ai.provider.name", S("local")),
            ("gen_ai.request.model", S("llama")),
        ];
        base.extend(attrs.iter().map(|(k, v)| {
            (
                *k,
                match v {
                    S(s) => S(s),
                    I(i) => I(*i),
                    D(d) => D(*d),
                },
            )
        }));
        Span { span_id: vec![id; 8], ..span("chat", &base, 10, false) }
    };
    let spans = vec![
        // Stated $100,000: priced from its tokens instead ($0.50).
        llm(1, &[("seedwatch.llm.cost_usd", D(100_000.0)), ("gen_ai.usage.input_tokens", I(1_000_000))]),
        // Stated $60 and no tokens: nothing to price it from.
        llm(2, &[("seedwatch.llm.cost_usd", D(60.0))]),
        // Tokens worth $500: over the cap as well.
        llm(3, &[("gen_ai.usage.input_tokens", I(1_000_000_000))]),
        // A plausible stated cost is taken as it is.
        llm(4, &[("seedwatch.llm.cost_usd", D(49.0))]),
    ];
    let yaml = "pricing:\n  max_cost_per_call_usd: 50\n  models:\n    - {provider: local, model: llama, input: 0.5, output: 1.0}\n";
    let text = run(yaml, spans);
    let labels = "{provider=\"local\",model=\"llama\"}";
    assert_eq!(value(&text, &format!("modelseed_llm_cost_usd_total{labels}")), 49.5);
    assert_eq!(value(&text, &format!("modelseed_llm_cost_rejected_total{labels}")), 3.0);
    assert_eq!(value(&text, &format!("modelseed_llm_cost_unknown_total{labels}")), 2.0);
    let err = parse(serde_norway::from_str("pricing: {max_cost_per_call_usd: 0}").expect("yaml")).expect_err("zero");
    assert_eq!(err[0].path, "pricing.max_cost_per_call_usd");
}

#[test]
fn pricing_file_is_reloaded_when_it_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pricing.yaml");
    let write = |price: f64| {
        std::fs::write(
            &file,
            format!("as_of: test\nmodels:\n  - {{provider: local, model: m, input: {price}, output: 0}}\n"),
        )
        .expect("write")
    };
    write(1.0);
    let yaml = format!("pricing: {{file: '{}', reload_interval: 1s}}", file.display());
    let parsed = parse(serde_norway::from_str(&yaml).expect("yaml")).expect("valid");
    let mut ctx = BuildContext::default();
    let processor = parsed.build(&mut ctx);
    let llm = || {
        span(
            "chat",
            &[
                ("gen_ai.operation.name", S("chat")),
                ("gen_ai.provider.name", S("local")),
                ("gen_ai.request.model", S("m")),
                ("gen_ai.usage.input_tokens", I(1_000_000)),
            ],
            10,
            false,
        )
    };
    let send = |s: Span| {
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans: vec![s], ..Default::default() }],
                ..Default::default()
            }],
        };
        processor.process(&mut Batch::new(received(req), Transport::Grpc));
    };
    send(llm());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write(10.0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    send(llm());
    let mut out = String::new();
    ctx.derived.encode(&mut out, ExpositionFormat::Text004);
    assert_eq!(
        value(&out, "modelseed_llm_cost_usd_total{provider=\"local\",model=\"m\"}"),
        11.0,
        "1 at the old price, 10 at the new"
    );
}

fn resource(service: &str, instance: &str) -> Option<opentelemetry_proto::tonic::resource::v1::Resource> {
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
        ..Default::default()
    };
    Some(opentelemetry_proto::tonic::resource::v1::Resource {
        attributes: vec![kv("service.name", service), kv("service.instance.id", instance)],
        ..Default::default()
    })
}

#[test]
fn agent_resource_gauges_and_last_seen() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
    };

    let point = |t: u64, v: f64, mode: Option<&str>| NumberDataPoint {
        time_unix_nano: t,
        value: Some(number_data_point::Value::AsDouble(v)),
        attributes: mode
            .map(|m| {
                vec![KeyValue {
                    key: "cpu.mode".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue(m.into())) }),
                    ..Default::default()
                }]
            })
            .unwrap_or_default(),
        ..Default::default()
    };
    let gauge = |name: &str, points: Vec<NumberDataPoint>| Metric {
        name: name.into(),
        data: Some(metric::Data::Gauge(Gauge { data_points: points })),
        ..Default::default()
    };
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("modelseed-agent", "a-1"),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    gauge("process.memory.usage", vec![point(1, 100.0, None), point(2, 9.5e9, None)]),
                    gauge(
                        "process.cpu.utilization",
                        vec![point(5, 0.2, Some("user")), point(5, 0.05, Some("system")), point(4, 0.9, Some("user"))],
                    ),
                    Metric {
                        name: "modelseed.active_analyses".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: vec![point(3, 2.0, None)],
                            ..Default::default()
                        })),
                        ..Default::default()
                    },
                    gauge("gen_ai.client.token.usage", vec![point(1, 999.0, None)]),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs { resource: resource("other-agent", "b-2"), ..Default::default() }],
    };
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    let text = run_payloads("{}", vec![Payload::Metrics(metrics), Payload::Logs(logs.into())]);
    let labels = "{service=\"modelseed-agent\",instance=\"a-1\"}";
    assert_eq!(value(&text, &format!("modelseed_memory_usage_bytes{labels}")), 9.5e9, "the newest point wins");
    assert!(
        (value(&text, &format!("modelseed_cpu_usage_percent{labels}")) - 25.0).abs() < 1e-9,
        "modes at the newest time, summed, as percent"
    );
    assert_eq!(value(&text, &format!("modelseed_active_analyses{labels}")), 2.0);
    assert!(
        value(&text, "modelseed_agent_last_seen_timestamp_seconds{service=\"other-agent\",instance=\"b-2\"}")
            >= before.floor()
    );
    assert!(!text.contains("999"), "GenAI client metrics never feed the derived series: {text}");
}

fn traces(spans: Vec<Span>) -> Payload {
    received(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource("modelseed-agent", "a-1"),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    })
}

fn with_trace(mut s: Span, trace: u8, parent: bool) -> Span {
    s.trace_id = vec![trace; 16];
    if !parent {
        s.parent_span_id.clear();
    }
    s
}

/// Builds the processor with a real logs queue behind its emitter.
fn build_with_logs(yaml: &str) -> (Arc<dyn Processor>, BuildContext, crate::pipeline::QueueReceiver<Batch>) {
    let parsed = parse(serde_norway::from_str(yaml).expect("yaml")).expect("valid config");
    let (tx, rx) = crate::pipeline::bounded::<Batch>("logs", 1000);
    let mut ctx = BuildContext { logs: Some(crate::processors::LogEmitter::new(tx)), ..Default::default() };
    let processor = parsed.build(&mut ctx);
    (processor, ctx, rx)
}

fn exposition(ctx: &BuildContext) -> String {
    let mut out = String::new();
    ctx.derived.encode(&mut out, ExpositionFormat::Text004);
    out
}

#[tokio::test]
async fn workflow_rollup_sums_children_that_arrive_before_the_root_and_emits_a_summary() {
    let (p, ctx, mut logs) = build_with_logs("workflows: {idle_timeout: 0s}");
    let llm = |input: i64, output: i64| {
        with_trace(
            span(
                "chat",
                &[
                    ("gen_ai.operation.name", S("chat")),
                    ("gen_ai.provider.name", S("openai")),
                    ("gen_ai.request.model", S("gpt-4o")),
                    ("gen_ai.usage.input_tokens", I(input)),
                    ("gen_ai.usage.output_tokens", I(output)),
                ],
                100,
                false,
            ),
            9,
            true,
        )
    };
    let tool = |error: bool| {
        with_trace(
            span(
                "execute_tool fba",
                &[("gen_ai.operation.name", S("execute_tool")), ("gen_ai.tool.name", S("run_metabolic_fba"))],
                10,
                error,
            ),
            9,
            true,
        )
    };
    // Children first, in two requests; the root last, in a third.
    p.process(&mut Batch::new(traces(vec![llm(1_000_000, 0), tool(false)]), Transport::Grpc));
    p.process(&mut Batch::new(traces(vec![llm(0, 100_000), tool(true)]), Transport::Grpc));
    p.tick();
    assert!(logs.stats().size() == 0, "no summary before the root arrives");
    let root = with_trace(
        span(
            "invoke_workflow",
            &[
                ("gen_ai.operation.name", S("invoke_workflow")),
                ("gen_ai.workflow.name", S("model_analysis")),
                ("seedwatch.workflow.id", S("wf-7")),
            ],
            3000,
            false,
        ),
        9,
        false,
    );
    p.process(&mut Batch::new(traces(vec![root]), Transport::Grpc));
    p.tick();

    let text = exposition(&ctx);
    // 1M input at 2.50 + 100k output at 10.00 per million.
    assert!(
        (value(&text, "modelseed_workflow_cost_usd_sum{workflow_type=\"model_analysis\"}") - 3.5).abs() < 1e-9,
        "{text}"
    );
    assert_eq!(value(&text, "modelseed_workflow_cost_usd_count{workflow_type=\"model_analysis\"}"), 1.0);
    assert_eq!(value(&text, "seedwatch_workflow_summaries_total{outcome=\"emitted\"}"), 1.0);

    let batch = logs.recv().await.expect("a summary");
    let Payload::Logs(data) = batch.payload() else { panic!("logs") };
    let req = data.request();
    let rl = &req.resource_logs[0];
    assert_eq!(crate::processors::agent_metrics::resources::instance(rl.resource.as_ref()), ("modelseed-agent", "a-1"));
    let record = &rl.scope_logs[0].log_records[0];
    assert_eq!(record.trace_id, vec![9; 16]);
    assert_eq!(record.event_name, "seedwatch.workflow.summary");
    let attr =
        |k: &str| record.attributes.iter().find(|kv| kv.key == k).and_then(|kv| kv.value.clone()).and_then(|v| v.value);
    use any_value::Value as AV;
    assert_eq!(attr("workflow.type"), Some(AV::StringValue("model_analysis".into())));
    assert_eq!(attr("workflow.id"), Some(AV::StringValue("wf-7".into())));
    assert_eq!(attr("workflow.status"), Some(AV::StringValue("completed".into())));
    assert_eq!(attr("workflow.duration_seconds"), Some(AV::DoubleValue(3.0)));
    assert_eq!(attr("workflow.tool_calls"), Some(AV::IntValue(2)));
    assert_eq!(attr("workflow.tool_errors"), Some(AV::IntValue(1)));
    assert_eq!(attr("workflow.llm_calls"), Some(AV::IntValue(2)));
    assert_eq!(attr("workflow.tokens.input"), Some(AV::IntValue(1_000_000)));
    assert_eq!(attr("workflow.cost_complete"), Some(AV::BoolValue(true)));
    let Some(AV::DoubleValue(cost)) = attr("workflow.cost_usd") else { panic!("cost") };
    assert!((cost - 3.5).abs() < 1e-9);
}

#[tokio::test]
async fn rollup_memory_is_bounded_and_early_exits_are_counted() {
    let (p, ctx, _logs) = build_with_logs("workflows: {max_traces: 2, idle_timeout: 1h, max_wait: 1h}");
    let tool = |trace: u8| with_trace(span("t", &[("gen_ai.tool.name", S("x"))], 1, false), trace, true);
    for trace in 1..=5 {
        p.process(&mut Batch::new(traces(vec![tool(trace)]), Transport::Grpc));
    }
    p.tick();
    let text = exposition(&ctx);
    assert_eq!(value(&text, "seedwatch_workflow_rollup_evicted_total{reason=\"capacity\"}"), 3.0);
    assert_eq!(value(&text, "seedwatch_workflow_rollup_pending"), 2.0);

    let (p, ctx, _logs) = build_with_logs("workflows: {idle_timeout: 0s, max_wait: 0s}");
    p.process(&mut Batch::new(traces(vec![tool(1)]), Transport::Grpc));
    p.tick();
    assert_eq!(value(&exposition(&ctx), "seedwatch_workflow_rollup_evicted_total{reason=\"no_root\"}"), 1.0);
}

#[tokio::test]
async fn shutdown_closes_pending_workflows() {
    let (p, ctx, mut logs) = build_with_logs("workflows: {idle_timeout: 1h, max_wait: 1h}");
    let root = with_trace(
        span("wf", &[("traceloop.span.kind", S("workflow")), ("traceloop.workflow.name", S("gapfill"))], 10, true),
        3,
        false,
    );
    p.process(&mut Batch::new(traces(vec![root]), Transport::Grpc));
    p.tick();
    assert_eq!(logs.stats().size(), 0, "idle timeout not reached");
    p.shutdown();
    assert_eq!(value(&exposition(&ctx), "modelseed_workflow_cost_usd_count{workflow_type=\"gapfill\"}"), 1.0);
    let batch = logs.recv().await.expect("summary at shutdown");
    let Payload::Logs(data) = batch.payload() else { panic!() };
    let req = data.request();
    assert_eq!(req.resource_logs[0].scope_logs[0].log_records[0].severity_text, "ERROR");
}

#[tokio::test]
async fn interleaved_traces_in_one_batch_are_summed_per_trace() {
    let (p, ctx, mut logs) = build_with_logs("workflows: {idle_timeout: 0s}");
    let tool = |trace: u8, error: bool| with_trace(span("t", &[("gen_ai.tool.name", S("fba"))], 1, error), trace, true);
    let root = |trace: u8, name: &'static str| {
        with_trace(
            span(
                "wf",
                &[("gen_ai.operation.name", S("invoke_workflow")), ("gen_ai.workflow.name", S(name))],
                10,
                false,
            ),
            trace,
            false,
        )
    };
    // Trace 1 has three tool calls, trace 2 has one: A A B A, roots in between and at the end.
    let spans = vec![tool(1, false), tool(1, true), root(2, "two"), tool(2, false), tool(1, false), root(1, "one")];
    p.process(&mut Batch::new(traces(spans), Transport::Grpc));
    p.tick();
    let text = exposition(&ctx);
    assert_eq!(value(&text, "modelseed_tool_executions_total{tool_name=\"fba\"}"), 4.0, "{text}");
    assert_eq!(value(&text, "modelseed_workflow_cost_usd_count{workflow_type=\"one\"}"), 1.0);
    assert_eq!(value(&text, "modelseed_workflow_cost_usd_count{workflow_type=\"two\"}"), 1.0);
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 2 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), logs.recv()).await;
        let batch = next.expect("a summary per workflow").expect("logs queue open");
        let Payload::Logs(data) = batch.payload() else { panic!("logs") };
        let req = data.request();
        for rl in &req.resource_logs {
            let r = &rl.scope_logs[0].log_records[0];
            let get = |k: &str| {
                r.attributes.iter().find(|kv| kv.key == k).and_then(|kv| kv.value.clone()).and_then(|v| v.value)
            };
            seen.insert(
                format!("{:?}", get("workflow.type")),
                (get("workflow.tool_calls"), get("workflow.tool_errors")),
            );
        }
    }
    use any_value::Value as AV;
    let one = seen.get(&format!("{:?}", Some(AV::StringValue("one".into())))).cloned();
    let two = seen.get(&format!("{:?}", Some(AV::StringValue("two".into())))).cloned();
    assert_eq!(one, Some((Some(AV::IntValue(3)), Some(AV::IntValue(1)))), "{seen:?}");
    assert_eq!(two, Some((Some(AV::IntValue(1)), Some(AV::IntValue(0)))), "{seen:?}");
}

#[tokio::test]
async fn agents_are_tracked_from_their_own_telemetry_not_from_records_the_collector_made() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
    let (p, ctx, _logs) = build_with_logs("{}");
    let agents = ctx.agents.clone().expect("agent_metrics tracks agents");
    let logs = |transport| {
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs { resource: resource("modelseed-agent", "a-9"), ..Default::default() }],
        };
        Batch::new(Payload::Logs(req.into()), transport)
    };
    p.process(&mut logs(Transport::Internal));
    assert_eq!(agents.counts().total, 0, "a workflow summary or alert record is not the agent speaking");
    p.process(&mut logs(Transport::Grpc));
    let seen = agents.snapshot(std::time::Instant::now());
    assert_eq!((seen.len(), seen[0].instance.as_str()), (1, "a-9"));
    p.process(&mut Batch::new(traces(vec![span("t", &[("gen_ai.tool.name", S("fba"))], 1, true)]), Transport::Grpc));
    let all = agents.snapshot(std::time::Instant::now());
    let a = all.iter().find(|a| a.instance == "a-1").expect("the span's agent");
    assert!(a.tool_error_rate > 0.0 && a.tool_call_rate == a.tool_error_rate, "{a:?}");
}

#[tokio::test]
async fn an_agents_own_health_checks_and_memory_feed_its_state() {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
    };
    let (p, ctx, _logs) = build_with_logs("health: {memory_bytes: 1000}");
    let agents = ctx.agents.clone().expect("tracked");
    let point = |check: &str, v: i64| NumberDataPoint {
        time_unix_nano: 1_700_000_000_000_000_000,
        value: Some(number_data_point::Value::AsInt(v)),
        attributes: vec![KeyValue {
            key: "seedwatch.health.check".into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(check.into())) }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let request = |metrics: Vec<Metric>| ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("modelseed-agent", "a-1"),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    };
    let gauge = |name: &str, points: Vec<NumberDataPoint>| Metric {
        name: name.into(),
        data: Some(metric::Data::Gauge(Gauge { data_points: points })),
        ..Default::default()
    };
    let checks = gauge("seedwatch.health.status", vec![point("database", 2), point("disk", 0)]);
    p.process(&mut Batch::new(Payload::Metrics(request(vec![checks])), Transport::Grpc));
    p.tick();
    let a = &agents.snapshot(std::time::Instant::now())[0];
    assert_eq!(a.state, crate::agents::HealthState::Unhealthy, "{a:?}");
    assert_eq!(a.checks.len(), 2);
    assert!(a.reasons.iter().any(|r| r.contains("`database` reports unhealthy")), "{a:?}");

    let fixed = gauge("seedwatch.health.status", vec![point("database", 0)]);
    let memory = gauge("process.memory.usage", vec![point("ignored", 5000)]);
    p.process(&mut Batch::new(Payload::Metrics(request(vec![fixed, memory])), Transport::Grpc));
    p.tick();
    let a = &agents.snapshot(std::time::Instant::now())[0];
    assert_eq!(a.state, crate::agents::HealthState::Degraded, "memory over 1000 bytes: {a:?}");
    assert_eq!(a.memory_bytes, Some(5000.0));
}

#[test]
fn genai_histograms_from_spans_except_those_a_service_sends_itself() {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
    let spans = || {
        vec![
            span(
                "chat gpt-4o",
                &[
                    ("gen_ai.operation.name", S("chat")),
                    ("gen_ai.provider.name", S("openai")),
                    ("gen_ai.request.model", S("gpt-4o")),
                    ("gen_ai.usage.input_tokens", I(1200)),
                    ("gen_ai.usage.output_tokens", I(300)),
                ],
                1500,
                false,
            ),
            span(
                "ChatCompletion",
                &[("openinference.span.kind", S("EMBEDDING")), ("embedding.model_name", S("e3"))],
                30,
                true,
            ),
            span(
                "execute_tool run_fba",
                &[("gen_ai.operation.name", S("execute_tool")), ("gen_ai.tool.name", S("run_fba"))],
                200,
                false,
            ),
            span(
                "invoke_agent",
                &[("gen_ai.operation.name", S("invoke_agent")), ("gen_ai.agent.name", S("modelseed"))],
                3000,
                false,
            ),
        ]
    };
    let sends_own = Payload::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("modelseed-agent", "a-1"),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric { name: "gen_ai.client.operation.duration".into(), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    assert!(!run_payloads("{}", vec![traces(spans())]).contains("gen_ai_"), "off by default");
    let text = run_payloads("genai_metrics: auto", vec![traces(spans())]);
    let op = "gen_ai_client_operation_duration_seconds";
    let chat = "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\"";
    assert_eq!(value(&text, &format!("{op}_count{{{chat},error_type=\"\"}}")), 1.0, "{text}");
    assert_eq!(
        value(&text, &format!("{op}_bucket{{{chat},error_type=\"\",le=\"1.28\"}}")),
        0.0,
        "the conventions' buckets"
    );
    assert_eq!(value(&text, &format!("{op}_bucket{{{chat},error_type=\"\",le=\"2.56\"}}")), 1.0);
    let embeddings =
        "gen_ai_operation_name=\"embeddings\",gen_ai_provider_name=\"unknown\",gen_ai_request_model=\"e3\"";
    assert_eq!(value(&text, &format!("{op}_count{{{embeddings},error_type=\"_OTHER\"}}")), 1.0);
    let tokens = "gen_ai_client_token_usage";
    assert_eq!(value(&text, &format!("{tokens}_sum{{{chat},gen_ai_token_type=\"input\"}}")), 1200.0);
    assert_eq!(value(&text, &format!("{tokens}_sum{{{chat},gen_ai_token_type=\"output\"}}")), 300.0);
    assert_eq!(
        value(&text, "gen_ai_execute_tool_duration_seconds_sum{gen_ai_tool_name=\"run_fba\",error_type=\"\"}"),
        0.2
    );
    assert_eq!(
        value(&text, "gen_ai_invoke_agent_duration_seconds_sum{gen_ai_agent_name=\"modelseed\",error_type=\"\"}"),
        3.0
    );

    // The service sends its own operation durations: only the others are derived for it.
    let text = run_payloads("genai_metrics: auto", vec![sends_own.clone(), traces(spans())]);
    assert!(!text.contains(&format!("{op}_count{{")), "{text}");
    assert_eq!(value(&text, &format!("{tokens}_count{{{chat},gen_ai_token_type=\"input\"}}")), 1.0);
    // `always` derives whatever the service sends; `off` (the default) registers nothing.
    let text = run_payloads("genai_metrics: always", vec![sends_own, traces(spans())]);
    assert_eq!(value(&text, &format!("{op}_count{{{chat},error_type=\"\"}}")), 1.0);
    let text = run_payloads("genai_metrics: off", vec![traces(spans())]);
    assert!(!text.contains("gen_ai_"), "{text}");
}
