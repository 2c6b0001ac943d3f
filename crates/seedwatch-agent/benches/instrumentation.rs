//! Cost of one instrumented tool call and one LLM call, against a bare OpenTelemetry span from
//! the same SDK tracer provider in the same run. The providers record (spans are built with
//! their attributes, metrics aggregate) but export nothing, so this is the instrumentation's
//! own CPU cost, not the network's.

use criterion::{Criterion, criterion_main};
use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::SdkTracerProvider;
use seedwatch_agent::{Builder, JsonLogs, LlmCall, ToolCall, Usage};
use serde_json::json;

/// Aggregates are kept by the SDK; this exporter discards them.
struct Discard;

impl PushMetricExporter for Discard {
    async fn export(&self, _metrics: &ResourceMetrics) -> OTelSdkResult {
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

fn setup() -> seedwatch_agent::TelemetryGuard {
    opentelemetry::global::set_tracer_provider(SdkTracerProvider::builder().build());
    let reader = PeriodicReader::builder(Discard).with_interval(std::time::Duration::from_secs(3600)).build();
    opentelemetry::global::set_meter_provider(SdkMeterProvider::builder().with_reader(reader).build());
    Builder::new()
        .env(|_| None)
        .disabled(true)
        .json_logs(JsonLogs::Off)
        .install_subscriber(false)
        .resource_gauges(false)
        .install()
        .expect("telemetry set-up")
}

fn instrumentation(c: &mut Criterion) {
    let _guard = setup();
    let tracer = opentelemetry::global::tracer("bench");
    let mut group = c.benchmark_group("instrumentation");
    group.bench_function("bare_span (reference)", |b| {
        b.iter(|| {
            let mut span = tracer.start("execute_tool run_metabolic_fba");
            span.end();
        })
    });
    group.bench_function("tool_call", |b| {
        b.iter(|| {
            ToolCall::start("run_metabolic_fba")
                .with_inputs(json!({"model_id": "iML1515", "solver": "glpk"}))
                .succeed(json!({"objective": 0.87}));
        })
    });
    group.bench_function("llm_call", |b| {
        b.iter(|| {
            let mut call = LlmCall::start("openai", "gpt-4o");
            call.response_model("gpt-4o-2024-08-06");
            call.record_usage(Usage { input: 1200, output: 300, cache_read: 400, ..Usage::default() });
            call.succeed()
        })
    });
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::instrumentation);
}
use group::benches;
criterion_main!(benches);
