//! Starts a collector from validated settings and shuts it down in stages: stop receivers,
//! drain the pipeline to the exporters within the deadline, then stop the admin server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::alerting::AlertCenter;
use crate::config::Settings;
use crate::dashboard::Dashboard;
use crate::derived_metrics::DerivedRegistry;
use crate::health::{ComponentKind, ComponentStatus, Health};
use crate::limits::{MemoryLimiter, StringCap};
use crate::listener::{self, ConnectionLimits, Connections, ListenerSet, ListenerSpec, ListenerStats};
use crate::pipeline::{DrainOutcome, QueueSet, Topology};
use crate::processors::BuildContext;
use crate::receivers::otlp::{grpc_routes, http_router};
use crate::security::{ListenerGuard, Protocol, Role, Security, ServerTls};
use crate::server::{AdminState, admin_router};
use crate::shared::SharedState;
use crate::telemetry::SelfMetrics;

/// The collector could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listen address could not be bound.
    #[error("cannot listen on {endpoint} (config key `{key}`): {source}; free the port or set another address")]
    Bind {
        /// The config key of the address.
        key: &'static str,
        /// The address.
        endpoint: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A component could not be set up (its store, say).
    #[error("cannot start: {}", .0.join("; "))]
    Setup(Vec<String>),
    /// The HTTP client for alert delivery could not be built.
    #[error("cannot set up alert delivery (config section `alerting`): {0}")]
    Alerting(#[from] reqwest::Error),
}

/// A started collector.
#[derive(Debug)]
pub struct RunningCollector {
    /// Where OTLP/gRPC is served, if enabled.
    pub grpc_addr: Option<SocketAddr>,
    /// Where OTLP/HTTP is served, if enabled.
    pub http_addr: Option<SocketAddr>,
    /// Where `/metrics` and `/health*` are served.
    pub admin_addr: SocketAddr,
    /// Shared health, for embedding and tests.
    pub health: Arc<Health>,
    shutdown: CancellationToken,
    done: tokio::task::JoinHandle<DrainOutcome>,
}

const GRPC_KEY: &str = "receivers.otlp.grpc.endpoint";
const HTTP_KEY: &str = "receivers.otlp.http.endpoint";
const ADMIN_KEY: &str = "admin.endpoint";

async fn bind(key: &'static str, endpoint: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(endpoint).await.map_err(|source| StartError::Bind { key, endpoint: endpoint.to_owned(), source })
}

fn local_addr(key: &'static str, endpoint: &str, listener: &TcpListener) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Bind { key, endpoint: endpoint.to_owned(), source })
}

impl RunningCollector {
    /// Binds every listener, then starts the pipeline and servers. Fails before starting
    /// anything if an address cannot be bound.
    pub async fn start(settings: Settings) -> Result<RunningCollector, StartError> {
        let Settings { config, processors, exporters, .. } = settings;
        let otlp = &config.receivers.otlp;
        let grpc_listener = match otlp.grpc.enabled {
            true => Some(bind(GRPC_KEY, &otlp.grpc.endpoint).await?),
            false => None,
        };
        let http_listener = match otlp.http.enabled {
            true => Some(bind(HTTP_KEY, &otlp.http.endpoint).await?),
            false => None,
        };
        let admin_listener = bind(ADMIN_KEY, &config.admin.endpoint).await?;
        let grpc_addr = grpc_listener.as_ref().map(|l| local_addr(GRPC_KEY, &otlp.grpc.endpoint, l)).transpose()?;
        let http_addr = http_listener.as_ref().map(|l| local_addr(HTTP_KEY, &otlp.http.endpoint, l)).transpose()?;
        let admin_addr = local_addr(ADMIN_KEY, &config.admin.endpoint, &admin_listener)?;

        let memory = start_memory_limiter(&config.limits.memory);
        let limits = fit_to_fd_limit([
            otlp.grpc.enabled.then(|| otlp.grpc.limits()),
            otlp.http.enabled.then(|| otlp.http.limits()),
            Some(config.admin.limits()),
        ]);
        let queues = QueueSet::default();
        let listeners = ListenerSet::default();
        let mut registry = Registry::default();
        let metrics =
            Arc::new(SelfMetrics::register_all(&mut registry, queues.clone(), listeners.clone(), memory.clone()));
        let security = Security::start(&config.security, &mut registry)
            .map(Arc::new)
            .map_err(|err| StartError::Setup(vec![err.to_string()]))?;
        let health = Arc::new(Health::new(queues.clone()));
        health.watch(memory.clone(), listeners.clone());
        let strings = StringCap::new(config.limits.max_string_bytes);
        let mut build = BuildContext {
            derived: Arc::new(DerivedRegistry::with_strings(strings)),
            recent_workflows: if config.ui.enabled { config.ui.recent_workflows } else { 0 },
            ..Default::default()
        };
        let alerts = AlertCenter::start(config.alerting.clone(), &build.derived)?;
        build.alerts = Some(alerts.clone());
        if config.redis.enabled() {
            let shared = SharedState::new(config.redis.clone(), &build.derived, Some(health.clone()))
                .map_err(|err| StartError::Setup(vec![err.to_string()]))?;
            build.shared = Some(shared);
        }
        let topology = Topology::start(
            &config.pipeline,
            &processors,
            &mut build,
            exporters,
            queues,
            metrics,
            health.clone(),
            memory.clone(),
        );
        if !build.errors.is_empty() {
            topology.drain(std::time::Duration::ZERO).await;
            return Err(StartError::Setup(std::mem::take(&mut build.errors)));
        }
        if let Some(logs) = build.logs.clone() {
            alerts.attach_logs(logs);
        }
        let shared = build.shared.take();
        if let Some(shared) = &shared {
            shared.spawn();
        }
        let dashboard = config
            .ui
            .enabled
            .then(|| Dashboard::new(config.ui.clone(), build.dashboard.take(), Some(alerts.clone()), &build.derived));
        if let Some(dashboard) = &dashboard {
            tokio::spawn(dashboard.clone().run());
        }
        tokio::spawn(resend_alerts(alerts));

        let serving = Serving { listeners, memory, retry_after: config.pipeline.retry_after };
        let stop_receivers = CancellationToken::new();
        let mut receivers = JoinSet::new();
        if let (Some(listener), Some(addr), Some(limits)) = (grpc_listener, grpc_addr, limits[0]) {
            let guard = security.guard("otlp/grpc", Protocol::Grpc, Role::Write, otlp.grpc.auth, vec![], vec![]);
            let router = guarded(grpc_routes(topology.ingest(), &otlp.grpc).into_axum_router(), guard);
            let tls = security.tls.clone().filter(|_| otlp.grpc.tls);
            let served = serving.serve("otlp/grpc", limits, true, tls, listener, router, stop_receivers.clone());
            let health = health.clone();
            health.register(ComponentKind::Receiver, "otlp/grpc", Some(addr.to_string()));
            health.set(ComponentKind::Receiver, "otlp/grpc", ComponentStatus::Ok);
            receivers.spawn(async move {
                served.await;
                report_stopped(&health, "otlp/grpc")
            });
        }
        if let (Some(listener), Some(addr), Some(limits)) = (http_listener, http_addr, limits[1]) {
            let guard = security.guard("otlp/http", Protocol::OtlpHttp, Role::Write, otlp.http.auth, vec![], vec![]);
            let router = guarded(http_router(topology.ingest(), &otlp.http), guard);
            let tls = security.tls.clone().filter(|_| otlp.http.tls);
            let served = serving.serve("otlp/http", limits, false, tls, listener, router, stop_receivers.clone());
            let health = health.clone();
            health.register(ComponentKind::Receiver, "otlp/http", Some(addr.to_string()));
            health.set(ComponentKind::Receiver, "otlp/http", ComponentStatus::Ok);
            receivers.spawn(async move {
                served.await;
                report_stopped(&health, "otlp/http")
            });
        }

        let admin_state = AdminState {
            health: health.clone(),
            registries: Arc::new(vec![registry]),
            expositions: Arc::new(vec![build.derived.clone() as Arc<dyn crate::telemetry::Exposition>]),
            agents: build.agents.clone(),
            budgets: build.budgets.clone(),
        };
        let stop_admin = CancellationToken::new();
        let admin_limits = limits[2].unwrap_or_else(|| config.admin.limits());
        let admin = &config.admin;
        let guard = security.guard(
            "admin",
            Protocol::Admin,
            Role::Read,
            admin.auth,
            admin.open_paths.clone(),
            admin.hosts_allowed(),
        );
        let mut admin_routes = admin_router(admin_state);
        if let Some(dashboard) = dashboard {
            admin_routes = admin_routes.merge(crate::dashboard::routes(dashboard));
        }
        let mut admin_routes = guarded(admin_routes, guard);
        if !admin.cors_allowed_origins.is_empty() {
            let origins = admin.cors_allowed_origins.iter().filter_map(|o| o.parse().ok()).collect::<Vec<_>>();
            let cors = tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([http::Method::GET])
                .allow_headers([http::header::AUTHORIZATION]);
            admin_routes = admin_routes.layer(cors);
        }
        let tls = security.tls.clone().filter(|_| admin.tls);
        let admin_served =
            serving.serve("admin", admin_limits, false, tls, admin_listener, admin_routes, stop_admin.clone());
        let admin = tokio::spawn(admin_served);
        security.watch_files(stop_admin.clone());

        let shutdown = CancellationToken::new();
        let deadline = config.service.shutdown_timeout;
        let done = tokio::spawn(shutdown_in_stages(
            shutdown.clone(),
            deadline,
            stop_receivers,
            receivers,
            topology,
            stop_admin,
            admin,
            health.clone(),
            shared,
        ));
        tracing::info!(grpc = ?grpc_addr, http = ?http_addr, admin = %admin_addr, "seedwatch collector started");
        if config.ui.enabled {
            let scheme = if security.tls.is_some() && config.admin.tls { "https" } else { "http" };
            tracing::info!(url = %format!("{scheme}://{admin_addr}/"), "dashboard");
        }
        Ok(RunningCollector { grpc_addr, http_addr, admin_addr, health, shutdown, done })
    }

    /// Cancelling this token starts the graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the collector has shut down (after the token was cancelled).
    pub async fn wait(self) -> DrainOutcome {
        self.done.await.unwrap_or(DrainOutcome::DeadlineExceeded { items_left: 0 })
    }

    /// Starts the graceful shutdown and waits for it.
    pub async fn shutdown(self) -> DrainOutcome {
        self.shutdown.cancel();
        self.wait().await
    }
}

/// What every listener is served with.
struct Serving {
    listeners: ListenerSet,
    memory: Arc<MemoryLimiter>,
    retry_after: Duration,
}

impl Serving {
    /// Serves `router` on `listener` under `limits` until `stop`, its stats on `/metrics`.
    #[allow(clippy::too_many_arguments)]
    fn serve(
        &self,
        name: &'static str,
        limits: ConnectionLimits,
        http2_only: bool,
        tls: Option<Arc<ServerTls>>,
        listener: TcpListener,
        router: axum::Router,
        stop: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let stats = ListenerStats::new(name, Connections::new(limits));
        self.listeners.add(stats.clone());
        let spec = ListenerSpec { limits, http2_only, retry_after: self.retry_after, tls };
        listener::serve(listener, router, spec, stats, self.memory.clone(), stop)
    }
}

/// `router` behind `guard`, if the guard checks anything.
fn guarded(router: axum::Router, guard: Arc<ListenerGuard>) -> axum::Router {
    match guard.is_active() {
        true => router.layer(axum::middleware::from_fn_with_state(guard, crate::security::check)),
        false => router,
    }
}

/// The memory limiter from the config (and the cgroup), sampling resident memory.
fn start_memory_limiter(config: &crate::limits::MemoryConfig) -> Arc<MemoryLimiter> {
    let (limit, soft, source) = config.resolve(crate::limits::cgroup::memory_limit());
    tracing::info!(limit = %bytesize::ByteSize(limit), soft_limit = %bytesize::ByteSize(soft), from = %source,
        "memory limiter: new data is refused (retryable) above these");
    let memory = MemoryLimiter::new(limit, soft);
    if config.watch_resident {
        tokio::spawn(memory.clone().watch_resident(config.check_interval));
    }
    memory
}

/// The listeners' limits with `max_connections` lowered, if need be, to fit the open-file limit
/// (raised to its maximum first).
fn fit_to_fd_limit(limits: [Option<ConnectionLimits>; 3]) -> [Option<ConnectionLimits>; 3] {
    let Some(fd_limit) = listener::raise_fd_limit() else { return limits };
    let wanted: Vec<usize> = limits.iter().flatten().map(|l| l.max_connections).collect();
    let fitted = listener::fit_connections(&wanted, fd_limit);
    if fitted != wanted {
        tracing::warn!(fd_limit, wanted = ?wanted, fitted = ?fitted, reserved = listener::RESERVED_FDS,
            "the open-file limit is too low for the configured max_connections; lowered them to fit (raise `ulimit -n` to keep them)");
    }
    let mut fitted = fitted.into_iter();
    limits.map(|l| l.map(|l| ConnectionLimits { max_connections: fitted.next().unwrap_or(l.max_connections), ..l }))
}

/// Re-sends active alerts as Alertmanager expects, for as long as the process runs.
async fn resend_alerts(alerts: Arc<AlertCenter>) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        alerts.tick(std::time::Instant::now());
    }
}

/// A receiver's listener stopped (it retries failed accepts, so only ever when told to).
fn report_stopped(health: &Health, name: &str) {
    health.set(ComponentKind::Receiver, name, ComponentStatus::Stopped);
}

#[allow(clippy::too_many_arguments)]
async fn shutdown_in_stages(
    shutdown: CancellationToken,
    deadline: Duration,
    stop_receivers: CancellationToken,
    mut receivers: JoinSet<()>,
    topology: Topology,
    stop_admin: CancellationToken,
    admin: tokio::task::JoinHandle<()>,
    health: Arc<Health>,
    shared: Option<Arc<SharedState>>,
) -> DrainOutcome {
    shutdown.cancelled().await;
    let started = Instant::now();
    tracing::info!(deadline = %humantime::format_duration(deadline), "shutting down: receivers stop accepting, queues drain to exporters");
    health.begin_shutdown();
    stop_receivers.cancel();
    let receivers_done = async { while receivers.join_next().await.is_some() {} };
    if tokio::time::timeout(deadline, receivers_done).await.is_err() {
        tracing::warn!("receivers did not finish their in-flight requests in time; closing them");
        receivers.abort_all();
    }
    let outcome = topology.drain(deadline.saturating_sub(started.elapsed())).await;
    match outcome {
        DrainOutcome::Drained => {
            tracing::info!(elapsed = ?started.elapsed(), "every queued item was exported; shut down cleanly")
        }
        DrainOutcome::DeadlineExceeded { items_left } => {
            tracing::error!(items_left, "shutdown deadline passed with items still queued; they are lost")
        }
    }
    if let Some(shared) = shared {
        // What this replica still holds of agents and workflows goes to Redis for the others.
        let _ = tokio::task::spawn_blocking(move || shared.shutdown()).await;
    }
    stop_admin.cancel();
    let _ = admin.await;
    outcome
}
