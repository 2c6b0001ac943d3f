//! `seedwatch-demo-agent`: a simulated ModelSEED agent. It serves an analysis API and the
//! health endpoints, starts a fake OpenAI-compatible endpoint, and drives its own API with
//! workflow requests, all instrumented by `seedwatch-agent` and exported over OTLP as the
//! `OTEL_*` variables say (default: OTLP/HTTP to localhost:4318, where `seedwatch run`
//! listens).

mod failures;
mod fake_llm;
mod workflows;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use clap::Parser;
use seedwatch_agent::SecurityAuditor;
use seedwatch_agent::health::checks::{DiskSpaceCheck, FileSystemCheck, FnCheck, HttpCheck, MemoryCheck};
use seedwatch_agent::health::{CheckResult, Health};
use serde_json::{Value, json};

use workflows::Agent;

#[derive(Debug, Parser)]
#[command(version, about = "A simulated ModelSEED agent that sends real telemetry through seedwatch-agent")]
struct Args {
    /// Run this many workflows, then flush telemetry and exit; by default run until stopped.
    #[arg(long)]
    workflows: Option<u64>,
    /// Workflows running at once.
    #[arg(long, default_value_t = 2)]
    concurrency: u64,
    /// Address of the agent's API and health endpoints.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// Shorten simulated tool and model work to milliseconds (tests, load).
    #[arg(long)]
    fast: bool,
    /// Share of tool executions that fail (every 1/rate-th one).
    #[arg(long, default_value_t = 0.1)]
    tool_failure_rate: f64,
    /// Share of LLM calls the fake endpoint answers with 429 (every 1/rate-th one).
    #[arg(long, default_value_t = 0.05)]
    llm_error_rate: f64,
    /// Seconds between metric exports (OTEL_METRIC_EXPORT_INTERVAL wins when set).
    #[arg(long, default_value_t = 5)]
    metric_interval: u64,
    /// Directory of the simulated model store (checked by the file_system and database checks).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    data_dir: PathBuf,
    /// Before the workflows, send this many analysis requests with a wrong API key (each is
    /// refused with 401 and audited as an authentication failure), as an attacker would.
    #[arg(long, default_value_t = 0)]
    failed_logins: u64,
}

/// The key the agent's API accepts in `Authorization: Bearer …` (requests without the header
/// are let in, as before the API had keys).
const AGENT_API_KEY: &str = "demo-agent-api-key";

struct App {
    agent: Agent,
    next_id: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!((0.0..=1.0).contains(&args.tool_failure_rate), "--tool-failure-rate must be between 0 and 1");
    anyhow::ensure!((0.0..=1.0).contains(&args.llm_error_rate), "--llm-error-rate must be between 0 and 1");
    let mut builder = seedwatch_agent::Builder::new();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.service_name("modelseed-agent");
    }
    if std::env::var_os("OTEL_METRIC_EXPORT_INTERVAL").is_none() {
        builder = builder.metric_interval(Duration::from_secs(args.metric_interval.max(1)));
    }
    let telemetry = builder.install().context("setting up telemetry")?;

    let llm_url = fake_llm::start(args.llm_error_rate).await.context("starting the fake LLM endpoint")?;
    let store = args.data_dir.clone();
    let health = Health::new(env!("CARGO_PKG_VERSION"))
        .with_check(HttpCheck::new("llm_connectivity", format!("{llm_url}/models")))
        .with_check(FnCheck::new("database", move || {
            let store = store.clone();
            async move {
                match tokio::fs::metadata(&store).await {
                    Ok(m) if m.is_dir() => CheckResult::healthy(format!("model store {} reachable", store.display())),
                    Ok(_) => CheckResult::unhealthy(format!("{} is not a directory", store.display())),
                    Err(e) => CheckResult::unhealthy(format!("{}: {e}", store.display())),
                }
            }
        }))
        .with_check(FileSystemCheck::new(&args.data_dir))
        .with_check(MemoryCheck::default())
        .with_check(DiskSpaceCheck::new(&args.data_dir));
    health.run().await;
    let reporter = health.report_every(Duration::from_secs(15));

    let app =
        Arc::new(App { agent: Agent::new(llm_url, args.fast, args.tool_failure_rate), next_id: AtomicU64::new(1) });
    let api = Router::new().route("/api/v1/analyses", post(start_analysis)).with_state(app);
    let router = api
        .merge(seedwatch_agent::health::router(health))
        .layer(axum::middleware::from_fn(seedwatch_agent::track_requests));
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    tracing::info!(%addr, "agent API and health endpoints listening");

    intrude(addr, args.failed_logins).await;
    let (done, failed) = drive(addr, args.workflows, args.concurrency).await;
    reporter.abort();
    let stats = telemetry.shutdown();
    eprintln!(
        "seedwatch-demo-agent: {done} workflows ({failed} failed); telemetry: {} spans exported, {} dropped; {} log records exported, {} dropped; {} metric exports, {} failed",
        stats.spans_exported,
        stats.spans_dropped,
        stats.logs_exported,
        stats.logs_dropped,
        stats.metric_exports,
        stats.metric_exports_failed
    );
    Ok(())
}

/// Sends `n` analysis requests with a wrong API key to the agent's own API.
async fn intrude(addr: SocketAddr, n: u64) {
    let client = reqwest::Client::new();
    for _ in 0..n {
        let _ = client
            .post(format!("http://{addr}/api/v1/analyses"))
            .bearer_auth("guessed-key")
            .json(&json!({"user": "mallory"}))
            .send()
            .await;
    }
}

/// Sends workflow requests to the agent's own API, `concurrency` at a time, until `limit`
/// (or Ctrl-C). Returns (workflows run, failed).
async fn drive(addr: SocketAddr, limit: Option<u64>, concurrency: u64) -> (u64, u64) {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/analyses");
    let issued = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, issued, failed) = (client.clone(), url.clone(), issued.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = issued.fetch_add(1, Ordering::SeqCst);
                if limit.is_some_and(|l| n >= l) {
                    break;
                }
                let ok = match client.post(&url).json(&json!({"user": "demo-user"})).send().await {
                    Ok(r) => r.status().is_success(),
                    Err(_) => false,
                };
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let aborts: Vec<_> = workers.iter().map(|w| w.abort_handle()).collect();
    let mut all = std::pin::pin!(join_all(&mut workers));
    tokio::select! {
        _ = &mut all => {}
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("stopping");
            for a in &aborts {
                a.abort();
            }
        }
    }
    let done = limit.map_or_else(|| issued.load(Ordering::SeqCst), |l| l.min(issued.load(Ordering::SeqCst)));
    (done, failed.load(Ordering::Relaxed))
}

async fn join_all(handles: &mut [tokio::task::JoinHandle<()>]) {
    for h in handles {
        let _ = h.await;
    }
}

async fn start_analysis(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let user = body["user"].as_str().unwrap_or("anonymous").to_owned();
    if let Some(given) = headers.get(header::AUTHORIZATION)
        && given.as_bytes() != format!("Bearer {AGENT_API_KEY}").as_bytes()
    {
        SecurityAuditor::new().authentication_failure(&user, "api_key", Some(client.ip()));
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "authentication failed"})));
    }
    let id = format!("wf-{:06}", app.next_id.fetch_add(1, Ordering::Relaxed));
    match app.agent.run(id.clone(), &user).await {
        Ok(result) => (StatusCode::OK, Json(json!({"workflow_id": id, "status": "completed", "result": result}))),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"workflow_id": id, "status": "failed", "error": e}))),
    }
}
