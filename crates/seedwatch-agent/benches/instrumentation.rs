//! Cost of one instrumented tool call and one LLM call, against a bare OpenTelemetry span from
//! the same tracer provider in the same run, on the calling thread. The pipelines are the
//! shipped ones (`Builder::install`: batch span and log processors, the periodic metric reader,
//! OTLP/HTTP) exporting to a server here that answers every request with an empty 200; audit
//! records and redaction are on, JSON log lines off (they would go to the terminal).
//!
//! Group `instrumentation` times calls in chunks and flushes the pipelines (untimed) between
//! chunks: the cost to the calling thread at a rate the pipelines sustain, with the deferred
//! worker and the export threads running as they do in an agent. Group `saturated` times
//! back-to-back calls, where the background threads never catch up, contend with the caller
//! for the allocator, and the batch queues drop (the SDK's own behaviour when full).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_main};
use opentelemetry::trace::{Span as _, Tracer as _};
use seedwatch_agent::{Builder, JsonLogs, LlmCall, ToolCall, Usage};
use serde_json::json;

/// An OTLP/HTTP server that reads each request and answers 200 with an empty body.
fn discarding_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if reader.get_mut().write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn setup() -> seedwatch_agent::TelemetryGuard {
    let endpoint = discarding_server();
    Builder::new()
        .env(move |name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
            "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("http/protobuf".into()),
            "OTEL_SERVICE_NAME" => Some("bench-agent".into()),
            _ => None,
        })
        .json_logs(JsonLogs::Off)
        .install_subscriber(false)
        .resource_gauges(false)
        .install()
        .expect("telemetry set-up")
}

/// Calls timed per chunk; the pipelines are flushed (untimed) between chunks.
const CHUNK: u64 = 256;

/// Times `call` on the calling thread in chunks of [`CHUNK`], flushing the pipelines between
/// chunks so the batch queues never overflow and the export threads are idle while the
/// caller is timed: the caller's own cost at a rate the pipelines sustain.
fn paced(guard: &seedwatch_agent::TelemetryGuard, iters: u64, mut call: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let start = Instant::now();
        for _ in 0..n {
            call();
        }
        total += start.elapsed();
        left -= n;
        guard.flush();
    }
    total
}

fn bare_span(tracer: &opentelemetry::global::BoxedTracer) {
    let mut span = tracer.start("execute_tool run_metabolic_fba");
    span.end();
}

/// Inputs and outputs built as JSON on the calling thread (`json!`, six allocations).
fn tool_call() {
    ToolCall::start("run_metabolic_fba")
        .with_inputs(json!({"model_id": "iML1515", "solver": "glpk"}))
        .succeed(json!({"objective": 0.87}));
}

#[derive(serde::Serialize)]
struct FbaInputs {
    model_id: &'static str,
    solver: &'static str,
}

#[derive(serde::Serialize)]
struct FbaOutputs {
    objective: f64,
}

/// The same audit record from the tool's own argument and result types, serialised on the
/// deferred worker.
fn tool_call_typed() {
    ToolCall::start("run_metabolic_fba")
        .with_inputs(FbaInputs { model_id: "iML1515", solver: "glpk" })
        .succeed(FbaOutputs { objective: 0.87 });
}

fn llm_call() -> Option<f64> {
    let mut call = LlmCall::start("openai", "gpt-4o");
    call.response_model("gpt-4o-2024-08-06");
    call.record_usage(Usage { input: 1200, output: 300, cache_read: 400, ..Usage::default() });
    call.succeed()
}

fn instrumentation(c: &mut Criterion) {
    let guard = setup();
    let tracer = opentelemetry::global::tracer("bench");
    let mut group = c.benchmark_group("instrumentation");
    group.bench_function("bare_span (reference)", |b| b.iter_custom(|n| paced(&guard, n, || bare_span(&tracer))));
    group.bench_function("tool_call", |b| b.iter_custom(|n| paced(&guard, n, tool_call)));
    group.bench_function("tool_call_typed", |b| b.iter_custom(|n| paced(&guard, n, tool_call_typed)));
    group.bench_function("llm_call", |b| {
        b.iter_custom(|n| {
            paced(&guard, n, || {
                black_box(llm_call());
            })
        })
    });
    group.finish();
    let mut group = c.benchmark_group("saturated");
    group.bench_function("bare_span (reference)", |b| b.iter(|| bare_span(&tracer)));
    group.bench_function("tool_call", |b| b.iter(tool_call));
    group.bench_function("tool_call_typed", |b| b.iter(tool_call_typed));
    group.bench_function("llm_call", |b| b.iter(llm_call));
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::instrumentation);
}
use group::benches;
criterion_main!(benches);
