//! Cost per span of what seedwatch does with received spans — one validating walk on receipt,
//! one deriving walk in `agent_metrics` — against fully decoding the same spans with prost,
//! the work a collector that materialises requests does, measured in the same run.
//!
//! `cargo bench -p seedwatch-collector --bench agent_metrics`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use seedwatch_collector::pipeline::{Batch, Payload, TraceData, Transport};
use seedwatch_collector::processors::{BuildContext, REGISTRY};
use seedwatch_loadgen::traffic::{Dialect, TrafficConfig, request};

fn bench(c: &mut Criterion) {
    let factory = REGISTRY.iter().find(|f| f.kind == "agent_metrics").unwrap();
    // SEEDWATCH_BENCH_CONFIG: the processor's config (default `{}`, as shipped), for A/B runs.
    let config = std::env::var("SEEDWATCH_BENCH_CONFIG").unwrap_or_else(|_| "{}".to_owned());
    let processor =
        (factory.parse)(serde_norway::from_str(&config).unwrap()).unwrap().build(&mut BuildContext::default());
    // The load generator's traffic: 10 traces × (workflow root + 6 tools + 3 LLM calls), mixed dialects.
    let cfg = TrafficConfig { dialect: Dialect::Mixed, services: 50, error_rate: 0.05, traces_per_request: 10 };
    let encoded = Bytes::from(request(&cfg, 1).encode_to_vec());
    let spans = TraceData::from_protobuf(encoded.clone()).unwrap().spans();

    let mut group = c.benchmark_group("per_span");
    group.throughput(Throughput::Elements(spans));
    group.bench_function("reference_prost_decode", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(black_box(encoded.clone())).unwrap())
    });
    group.bench_function("receive_validate", |b| {
        b.iter(|| TraceData::from_protobuf(black_box(encoded.clone())).unwrap())
    });
    let mut batch = Batch::new(Payload::Traces(TraceData::from_protobuf(encoded.clone()).unwrap()), Transport::Grpc);
    group.bench_function("agent_metrics_process", |b| b.iter(|| processor.process(black_box(&mut batch))));
    group.bench_function("receive_and_derive", |b| {
        b.iter(|| {
            let data = TraceData::from_protobuf(black_box(encoded.clone())).unwrap();
            processor.process(&mut Batch::new(Payload::Traces(data), Transport::Grpc));
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
