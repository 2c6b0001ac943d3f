//! The fuzz targets: one per input format the collector reads from outside, plus the whole
//! OTLP/HTTP receiver. Each takes arbitrary bytes and must return without panicking; what it
//! accepts goes on through the `agent_metrics` processor (derivation, agent health, budgets),
//! so a decoder's output is also checked by what reads it.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, header};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use seedwatch_collector::config::Settings;
use seedwatch_collector::limits::MemoryLimiter;
use seedwatch_collector::otlp_wire::{each_log, each_span};
use seedwatch_collector::pipeline::{
    Batch, Payload, PipelineConfig, QueueReceiver, QueueSet, TraceData, Transport, bounded,
};
use seedwatch_collector::processors::{BuildContext, BuiltProcessor, build_all};
use seedwatch_collector::receivers::Ingest;
use seedwatch_collector::receivers::otlp::{HttpConfig, http_router};
use seedwatch_collector::security::{Authenticator, CredentialsSpec};
use seedwatch_collector::telemetry::SelfMetrics;
use tower::ServiceExt;

use super::seeds;

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name on the command line.
    pub name: &'static str,
    /// What it feeds the bytes to.
    pub about: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]),
    /// The seed corpus.
    pub seeds: fn() -> Vec<Vec<u8>>,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "trace_protobuf",
        about: "trace requests: the in-place readers, the validating walk, then derivation",
        run: trace_protobuf,
        seeds: seeds::traces,
    },
    Target {
        name: "metrics_protobuf",
        about: "metrics requests decoded, then agent resources and health checks",
        run: metrics_protobuf,
        seeds: seeds::metrics,
    },
    Target {
        name: "logs_protobuf",
        about: "log requests: the in-place reader, decoding, then agent tracking",
        run: logs_protobuf,
        seeds: seeds::logs,
    },
    Target {
        name: "otlp_json",
        about: "OTLP/JSON of each signal (first byte picks it), then processing",
        run: otlp_json,
        seeds: seeds::json,
    },
    Target {
        name: "http_receiver",
        about: "the OTLP/HTTP receiver: content type, gzip, decoding, validation, queueing, processing",
        run: http_receiver,
        seeds: seeds::http,
    },
    Target {
        name: "gzip_body",
        about: "gzip-compressed OTLP/HTTP bodies (bounded decompression, then the receiver)",
        run: gzip_body,
        seeds: seeds::gzip,
    },
    Target { name: "config_yaml", about: "the collector's config file", run: config_yaml, seeds: seeds::config },
    Target { name: "pricing_yaml", about: "a pricing file", run: pricing_yaml, seeds: seeds::pricing },
    Target {
        name: "credentials",
        about: "an Authorization header (first line) against configured credentials; the rest as a credentials file",
        run: credentials,
        seeds: seeds::credentials,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// What every target feeds accepted input to, built once per thread.
struct Harness {
    runtime: tokio::runtime::Runtime,
    processors: Vec<BuiltProcessor>,
    router: axum::Router,
    queues: Vec<QueueReceiver<Batch>>,
    runs: u64,
    _dir: std::path::PathBuf,
}

const HARNESS_CONFIG: &str = "
processors:
  agent_metrics:
    health: {max_agents: 1000}
    workflows: {max_traces: 1000}
    budgets:
      store: {path: '{DIR}/budgets.redb', dedupe_memory: 1MiB}
      limits:
        all: {limit_usd: 100}
        acme: {limit_usd: 10, scope: {resource: {tenant: acme}}}
";

impl Harness {
    fn new() -> Harness {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let dir = std::env::temp_dir().join(format!("seedwatch-fuzz-{}-{}", std::process::id(), fastrand::u64(..)));
        let yaml = HARNESS_CONFIG.replace("{DIR}", &dir.display().to_string());
        let settings = Settings::parse(&yaml, "harness.yaml", &|_| None).expect("harness config");
        let _guard = runtime.enter();
        let mut ctx = BuildContext::default();
        let processors = build_all(&settings.processors, &mut ctx);
        let (traces, t) = bounded::<Batch>("traces", 1_000_000);
        let (metrics, m) = bounded::<Batch>("metrics", 1_000_000);
        let (logs, l) = bounded::<Batch>("logs", 1_000_000);
        let self_metrics = Arc::new(SelfMetrics::register(&mut Default::default(), QueueSet::default()));
        let config = PipelineConfig::default();
        let ingest =
            Ingest::new(traces, metrics, logs, self_metrics, &config, &[], MemoryLimiter::new(256 << 20, 200 << 20));
        let router = http_router(ingest, &HttpConfig::default());
        Harness { runtime, processors, router, queues: vec![t, m, l], runs: 0, _dir: dir }
    }

    fn process(&mut self, payload: Payload) {
        let mut batch = Batch::new(payload, Transport::Grpc);
        for p in &self.processors {
            p.processor.process(&mut batch);
        }
        self.runs += 1;
        if self.runs.is_multiple_of(1000) {
            for p in &self.processors {
                p.processor.tick();
            }
        }
    }

    fn drain(&mut self) {
        let mut batches = Vec::new();
        for q in &mut self.queues {
            while let Some(b) = q.try_recv() {
                batches.push(b);
            }
        }
        for mut batch in batches {
            for p in &self.processors {
                p.processor.process(&mut batch);
            }
        }
    }
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

fn with_harness(f: impl FnOnce(&mut Harness)) {
    HARNESS.with(|h| f(h.borrow_mut().get_or_insert_with(Harness::new)));
}

fn trace_protobuf(data: &[u8]) {
    let _ = each_span(data, |origin, span| {
        let resource = origin.resource.map_or(0, |r| r.attributes().count());
        let _ = (resource, span.attributes().count(), span.events().count());
    });
    if let Ok(traces) = TraceData::from_protobuf(Bytes::copy_from_slice(data)) {
        let _ = traces.spans();
        with_harness(|h| h.process(Payload::Traces(traces)));
    }
}

fn metrics_protobuf(data: &[u8]) {
    if let Ok(request) = ExportMetricsServiceRequest::decode(data) {
        with_harness(|h| h.process(Payload::Metrics(request)));
    }
}

fn logs_protobuf(data: &[u8]) {
    let _ = each_log(data, |origin, log| {
        let _ = (origin.resource.map_or(0, |r| r.attributes().count()), log.attributes().count());
    });
    if let Ok(request) = ExportLogsServiceRequest::decode(data) {
        with_harness(|h| h.process(Payload::Logs(request.into())));
    }
}

fn otlp_json(data: &[u8]) {
    let Some((&which, json)) = data.split_first() else { return };
    let payload = match which % 3 {
        0 => serde_json::from_slice::<ExportTraceServiceRequest>(json).ok().map(|r| Payload::Traces(r.into())),
        1 => serde_json::from_slice::<ExportMetricsServiceRequest>(json).ok().map(Payload::Metrics),
        _ => serde_json::from_slice::<ExportLogsServiceRequest>(json).ok().map(|r| Payload::Logs(r.into())),
    };
    if let Some(payload) = payload {
        with_harness(|h| h.process(payload));
    }
}

/// The first byte picks the path, the content type and gzip; the rest is the body.
fn http_receiver(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else { return };
    post(which, which & 8 != 0, body);
}

fn gzip_body(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else { return };
    post(which, true, body);
}

fn post(which: u8, gzip: bool, body: &[u8]) {
    let path = ["/v1/traces", "/v1/metrics", "/v1/logs"][(which % 3) as usize];
    let content_type = if which & 4 == 0 { "application/x-protobuf" } else { "application/json" };
    let mut request = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if gzip {
        request = request.header(header::CONTENT_ENCODING, "gzip");
    }
    let Ok(request) = request.body(axum::body::Body::from(body.to_vec())) else { return };
    with_harness(|h| {
        let router = h.router.clone();
        let response = h.runtime.block_on(router.oneshot(request)).expect("the router never fails");
        let status = response.status().as_u16();
        assert!(matches!(status, 200 | 400 | 413 | 415 | 429 | 503), "unexpected status {status}");
        h.drain();
    });
}

fn config_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Settings::parse(text, "fuzz.yaml", &|name| (name == "SET").then(|| "value".to_owned()));
    }
}

fn pricing_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = seedwatch_semconv::pricing::PricingFile::parse(text);
    }
}

/// Credentials the `credentials` target checks headers against: a token, and a basic-auth
/// user whose bcrypt hash (cost 4, the cheapest) is made once.
const FUZZ_CREDENTIALS: &str = "tokens: [{name: t, token: token-for-fuzzing-0001, tenant: acme, roles: [write]}]\n";

thread_local! {
    static AUTH: (tokio::runtime::Runtime, Authenticator) = {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let hash = bcrypt::hash("p", 4).expect("bcrypt");
        let yaml = format!("{FUZZ_CREDENTIALS}basic: [{{name: b, username: u, password_hash: '{hash}', roles: [read]}}]\n");
        let spec = CredentialsSpec::parse(&yaml).expect("fuzz credentials");
        (runtime, Authenticator::new([&spec]))
    };
}

fn credentials(data: &[u8]) {
    let (header, file) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(text) = std::str::from_utf8(file)
        && let Ok(spec) = CredentialsSpec::parse(text)
    {
        let mut problems = Vec::new();
        spec.validate("fuzz", &mut problems);
        let _ = Authenticator::new([&spec]);
    }
    if let Ok(value) = header::HeaderValue::from_bytes(header) {
        let mut headers = http::HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value);
        AUTH.with(|(runtime, auth)| {
            let _ = runtime.block_on(auth.authenticate(&headers, None));
        });
    }
}
