//! `seedwatch-loadgen`: sends realistic agent traces over OTLP gRPC or HTTP/protobuf as fast as
//! the receiver takes them (or for a fixed number of requests), and reports accepted spans/s,
//! MB/s and latency percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use seedwatch_loadgen::raw_codec::RawCodec;
use seedwatch_loadgen::traffic::{Dialect, SPANS_PER_TRACE, TrafficConfig, request_ending_before};

/// Send realistic LLM-agent OTLP traffic.
#[derive(Debug, Parser)]
#[command(name = "seedwatch-loadgen", version)]
struct Args {
    /// OTLP endpoint (`http://host:4317` for grpc, `http://host:4318` for http).
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    endpoint: String,
    /// Transport.
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    protocol: Protocol,
    /// Concurrent in-flight requests.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// How long to send.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Stop after this many requests (whichever comes first with --duration).
    #[arg(long)]
    requests: Option<u64>,
    /// Spans per request (rounded to whole traces of 10 spans).
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// genai, openllmetry, openinference, openlit or mixed.
    #[arg(long, default_value = "mixed")]
    dialect: Dialect,
    /// Distinct service instances.
    #[arg(long, default_value_t = 50)]
    services: usize,
    /// Fraction of tool and LLM spans that fail.
    #[arg(long, default_value_t = 0.05)]
    error_rate: f64,
    /// Distinct pre-encoded requests, sent round robin (keeps the generator cheap).
    #[arg(long, default_value_t = 512)]
    pool: u64,
    /// Every request new (ids never repeat), built as it is sent, instead of a pool.
    #[arg(long)]
    unique: bool,
    /// With --unique: the number of the first request (a replay sends a range again).
    #[arg(long, default_value_t = 0)]
    start_at: u64,
    /// Spans end within the 10 minutes before this Unix time in seconds (default: now); give
    /// the same value to replay exactly the same spans.
    #[arg(long)]
    end_time: Option<u64>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// PEM CA certificates to trust for an `https://` endpoint (default: the public roots).
    #[arg(long)]
    ca_file: Option<std::path::PathBuf>,
    /// A header (gRPC metadata) sent with every request, `name=value`, e.g.
    /// `authorization=Bearer TOKEN`; repeatable.
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

fn parse_header(text: &str) -> Result<(http::HeaderName, http::HeaderValue), String> {
    let (name, value) = text.split_once('=').ok_or("expected name=value")?;
    let name = http::HeaderName::try_from(name.trim()).map_err(|e| format!("header name: {e}"))?;
    let value = http::HeaderValue::try_from(value.trim()).map_err(|e| format!("header value: {e}"))?;
    Ok((name, value))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Protocol {
    Grpc,
    Http,
}

#[derive(Default)]
struct Totals {
    requests_ok: AtomicU64,
    requests_refused: AtomicU64,
    requests_failed: AtomicU64,
    spans_sent: AtomicU64,
    spans_accepted: AtomicU64,
    bytes_sent: AtomicU64,
}

enum Outcome {
    Accepted { rejected: u64 },
    Refused,
    Failed(String),
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.batch_size < SPANS_PER_TRACE {
        bail!("--batch-size must be at least {SPANS_PER_TRACE} (one whole trace)");
    }
    if args.concurrency == 0 || args.pool == 0 {
        bail!("--concurrency and --pool must be at least 1");
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg = TrafficConfig {
        dialect: args.dialect,
        services: args.services,
        error_rate: args.error_rate,
        traces_per_request: args.batch_size / SPANS_PER_TRACE,
    };
    let spans_per_request = (cfg.traces_per_request * SPANS_PER_TRACE) as u64;
    let end = match args.end_time {
        Some(secs) => secs.saturating_mul(1_000_000_000),
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
    };
    let source = Arc::new(if args.unique {
        Requests::Unique { cfg, end }
    } else {
        let pool = (0..args.pool).map(|n| Bytes::from(request_ending_before(&cfg, n, end).encode_to_vec()));
        Requests::Pool(pool.collect())
    });
    // One connection per sender for gRPC: a single HTTP/2 connection's flow-control windows
    // would otherwise cap throughput below what the receiver can take.
    let mut clients = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        clients.push(Client::connect(&args).await?);
    }
    let totals = Arc::new(Totals::default());
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(args.start_at));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in clients {
        let (source, totals, stop, next) = (source.clone(), totals.clone(), stop.clone(), next.clone());
        let (limit, deadline) = (args.requests.map(|r| r.saturating_add(args.start_at)), started + args.duration);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|l| n >= l) {
                    break;
                }
                let body = source.get(n);
                let len = body.len() as u64;
                let sent_at = Instant::now();
                let outcome = client.send(body).await;
                let _ = latencies.record(sent_at.elapsed().as_micros().max(1) as u64);
                totals.bytes_sent.fetch_add(len, Ordering::Relaxed);
                totals.spans_sent.fetch_add(spans_per_request, Ordering::Relaxed);
                match outcome {
                    Outcome::Accepted { rejected } => {
                        totals.requests_ok.fetch_add(1, Ordering::Relaxed);
                        totals.spans_accepted.fetch_add(spans_per_request.saturating_sub(rejected), Ordering::Relaxed);
                    }
                    Outcome::Refused => {
                        totals.requests_refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Outcome::Failed(err) => {
                        if totals.requests_failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("seedwatch-loadgen: request failed: {err}");
                        }
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    for task in tasks {
        latencies.add(task.await.context("sender task")?).context("merging latencies")?;
    }
    stop.store(true, Ordering::Relaxed);
    report(&args, &totals, &latencies, started.elapsed());
    if totals.requests_ok.load(Ordering::Relaxed) == 0 {
        bail!("no request was accepted");
    }
    Ok(())
}

fn report(args: &Args, t: &Totals, lat: &Histogram<u64>, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let accepted = t.spans_accepted.load(Ordering::Relaxed);
    let mb = t.bytes_sent.load(Ordering::Relaxed) as f64 / 1e6;
    let ms = |q: f64| lat.value_at_quantile(q) as f64 / 1000.0;
    let report = serde_json::json!({
        "protocol": format!("{:?}", args.protocol).to_lowercase(),
        "end_time": args.end_time,
        "seconds": secs,
        "requests_ok": t.requests_ok.load(Ordering::Relaxed),
        "requests_refused": t.requests_refused.load(Ordering::Relaxed),
        "requests_failed": t.requests_failed.load(Ordering::Relaxed),
        "spans_sent": t.spans_sent.load(Ordering::Relaxed),
        "spans_accepted": accepted,
        "spans_per_second": accepted as f64 / secs,
        "megabytes_per_second": mb / secs,
        "latency_ms": {"p50": ms(0.50), "p90": ms(0.90), "p99": ms(0.99), "max": lat.max() as f64 / 1000.0},
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{:?} {:.1}s: {} spans accepted ({:.0}/s, {:.1} MB/s); requests ok {} refused {} failed {}; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
            args.protocol,
            secs,
            accepted,
            accepted as f64 / secs,
            mb / secs,
            report["requests_ok"],
            report["requests_refused"],
            report["requests_failed"],
            ms(0.5),
            ms(0.9),
            ms(0.99),
            lat.max() as f64 / 1000.0
        );
    }
}

/// Where request bodies come from.
enum Requests {
    /// Pre-encoded, sent round robin.
    Pool(Vec<Bytes>),
    /// Built per request number.
    Unique { cfg: TrafficConfig, end: u64 },
}

impl Requests {
    fn get(&self, n: u64) -> Bytes {
        match self {
            Requests::Pool(pool) => pool[(n % pool.len() as u64) as usize].clone(),
            Requests::Unique { cfg, end } => Bytes::from(request_ending_before(cfg, n, *end).encode_to_vec()),
        }
    }
}

/// One sender's connection (gRPC: an HTTP/2 channel; HTTP: a keep-alive client).
#[derive(Clone)]
enum Client {
    Grpc(tonic::client::Grpc<tonic::transport::Channel>, Arc<tonic::metadata::MetadataMap>),
    Http(reqwest::Client, String),
}

const TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

impl Client {
    async fn connect(args: &Args) -> anyhow::Result<Client> {
        Ok(match args.protocol {
            Protocol::Grpc => {
                let mut endpoint =
                    tonic::transport::Endpoint::from_shared(args.endpoint.clone()).context("--endpoint")?;
                if args.endpoint.starts_with("https://") {
                    let mut tls = tonic::transport::ClientTlsConfig::new();
                    tls = match &args.ca_file {
                        Some(file) => tls.ca_certificate(tonic::transport::Certificate::from_pem(
                            std::fs::read(file).with_context(|| format!("--ca-file {}", file.display()))?,
                        )),
                        None => tls.with_webpki_roots(),
                    };
                    endpoint = endpoint.tls_config(tls).context("TLS")?;
                }
                let channel = endpoint.connect().await.with_context(|| format!("connecting to {}", args.endpoint))?;
                let headers: http::HeaderMap = args.headers.iter().cloned().collect();
                Client::Grpc(
                    tonic::client::Grpc::new(channel),
                    Arc::new(tonic::metadata::MetadataMap::from_headers(headers)),
                )
            }
            Protocol::Http => {
                let mut builder = reqwest::Client::builder()
                    .pool_max_idle_per_host(args.concurrency)
                    .default_headers(args.headers.iter().cloned().collect());
                if let Some(file) = &args.ca_file {
                    let pem = std::fs::read(file).with_context(|| format!("--ca-file {}", file.display()))?;
                    builder = builder.tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).context("--ca-file")?);
                }
                let client = builder.build().context("HTTP client")?;
                Client::Http(client, format!("{}/v1/traces", args.endpoint.trim_end_matches('/')))
            }
        })
    }

    async fn send(&self, body: Bytes) -> Outcome {
        match self {
            Client::Grpc(grpc, metadata) => {
                let mut grpc = grpc.clone();
                if let Err(e) = grpc.ready().await {
                    return Outcome::Failed(e.to_string());
                }
                let path = http::uri::PathAndQuery::from_static(TRACE_EXPORT);
                let mut request = tonic::Request::new(body);
                if !metadata.is_empty() {
                    *request.metadata_mut() = (**metadata).clone();
                }
                match grpc.unary(request, path, RawCodec).await {
                    Ok(resp) => Outcome::Accepted { rejected: rejected(resp.into_inner()) },
                    Err(s) if matches!(s.code(), tonic::Code::Unavailable | tonic::Code::ResourceExhausted) => {
                        Outcome::Refused
                    }
                    Err(s) => Outcome::Failed(s.to_string()),
                }
            }
            Client::Http(client, url) => {
                let resp = client.post(url).header("content-type", "application/x-protobuf").body(body).send().await;
                match resp {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) => Outcome::Accepted { rejected: rejected(b) },
                        Err(e) => Outcome::Failed(e.to_string()),
                    },
                    Ok(r) if matches!(r.status().as_u16(), 429 | 503) => Outcome::Refused,
                    Ok(r) => Outcome::Failed(format!("HTTP {}", r.status())),
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
        }
    }
}

fn rejected(response: Bytes) -> u64 {
    ExportTraceServiceResponse::decode(response)
        .ok()
        .and_then(|r| r.partial_success)
        .map_or(0, |p| p.rejected_spans.max(0) as u64)
}
