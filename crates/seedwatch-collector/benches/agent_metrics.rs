//! Cost per span of the `agent_metrics` processor (one pass over attributes, classify,
//! derive the metric updates and the workflow roll-up), against decoding the same spans from
//! protobuf — the work every OTLP collector does for each span — measured in the same run.
//!
//! `cargo bench -p seedwatch-collector --bench agent_metrics`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use seedwatch_collector::pipeline::{Batch, Payload, Transport};
use seedwatch_collector::processors::{BuildContext, REGISTRY};

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue { key: k.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
}
fn s(k: &str, v: &str) -> KeyValue {
    kv(k, any_value::Value::StringValue(v.into()))
}
fn i(k: &str, v: i64) -> KeyValue {
    kv(k, any_value::Value::IntValue(v))
}

/// 100 spans shaped like a ModelSEED agent's: per workflow one root, 6 tool calls and 3 LLM
/// calls, across the GenAI, OpenInference and OpenLLMetry dialects, with the usual extra
/// attributes (code location, HTTP, thread) that the classifier must skip.
fn request(seed: u64) -> ExportTraceServiceRequest {
    let mut spans = Vec::new();
    for w in 0..10u64 {
        let mut trace = [0u8; 16];
        trace[..8].copy_from_slice(&(seed * 100 + w + 1).to_be_bytes());
        let span = |n: u64, name: &str, attrs: Vec<KeyValue>, root: bool| Span {
            trace_id: trace.to_vec(),
            span_id: (n + 1).to_be_bytes().to_vec(),
            parent_span_id: if root { vec![] } else { vec![0, 0, 0, 0, 0, 0, 0, 1] },
            name: name.into(),
            start_time_unix_nano: 1_700_000_000_000_000_000 + n * 1_000_000,
            end_time_unix_nano: 1_700_000_000_000_000_000 + n * 1_000_000 + 250_000_000,
            attributes: attrs,
            ..Default::default()
        };
        let noise = || {
            vec![
                s("code.function", "run"),
                s("code.filepath", "agent/tools/fba.py"),
                i("thread.id", 7),
                s("session.id", "abc"),
            ]
        };
        let mut root = noise();
        root.extend([s("gen_ai.operation.name", "invoke_workflow"), s("gen_ai.workflow.name", "model_analysis")]);
        spans.push(span(0, "invoke_workflow model_analysis", root, true));
        for t in 0..6u64 {
            let tool = ["run_metabolic_fba", "find_minimal_media", "gapfill_model"][t as usize % 3];
            let mut a = noise();
            if t % 2 == 0 {
                a.extend([
                    s("gen_ai.operation.name", "execute_tool"),
                    s("gen_ai.tool.name", tool),
                    s("gen_ai.tool.call.id", "call-1"),
                ]);
            } else {
                a.extend([s("openinference.span.kind", "TOOL"), s("tool.name", tool)]);
            }
            spans.push(span(1 + t, tool, a, false));
        }
        for l in 0..3u64 {
            let mut a = noise();
            match l {
                0 => a.extend([
                    s("gen_ai.operation.name", "chat"),
                    s("gen_ai.provider.name", "openai"),
                    s("gen_ai.request.model", "gpt-4o"),
                    s("gen_ai.response.model", "gpt-4o-2024-08-06"),
                    i("gen_ai.usage.input_tokens", 1200),
                    i("gen_ai.usage.output_tokens", 300),
                    i("gen_ai.usage.cache_read.input_tokens", 1000),
                ]),
                1 => a.extend([
                    s("openinference.span.kind", "LLM"),
                    s("llm.provider", "anthropic"),
                    s("llm.model_name", "claude-3-5-sonnet-20241022"),
                    i("llm.token_count.prompt", 900),
                    i("llm.token_count.completion", 100),
                    i("llm.token_count.total", 1000),
                ]),
                _ => a.extend([
                    s("llm.request.type", "chat"),
                    s("gen_ai.system", "openai"),
                    s("gen_ai.request.model", "gpt-4o-mini"),
                    i("gen_ai.usage.prompt_tokens", 80),
                    i("gen_ai.usage.completion_tokens", 20),
                ]),
            }
            spans.push(span(7 + l, "chat", a, false));
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![s("service.name", "modelseed-agent"), s("service.instance.id", "a-1")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn bench(c: &mut Criterion) {
    let factory = REGISTRY.iter().find(|f| f.kind == "agent_metrics").unwrap();
    let processor = (factory.parse)(serde_norway::from_str("{}").unwrap()).unwrap().build(&mut BuildContext::default());
    let req = request(1);
    let spans = req.resource_spans[0].scope_spans[0].spans.len() as u64;
    let encoded = req.encode_to_vec();

    let mut group = c.benchmark_group("per_span");
    group.throughput(Throughput::Elements(spans));
    group.bench_function("reference_protobuf_decode", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(black_box(encoded.as_slice())).unwrap())
    });
    let mut batch = Batch::new(Payload::Traces(req), Transport::Grpc);
    group.bench_function("agent_metrics_process", |b| b.iter(|| processor.process(black_box(&mut batch))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
