//! The monitoring guide's health endpoints as an axum [`Router`](axum::Router):
//!
//! | path | answers |
//! |---|---|
//! | `/health` | `{status, timestamp, version}`, always 200 while the process serves (startup probe) |
//! | `/health/live` | `{status: alive, uptime, memory_usage, cpu_usage}` (system memory %, process CPU %) |
//! | `/health/ready` | 200 `{status: ready}`, or 503 `{status: not ready, error, failing}` naming the failing checks |
//! | `/health/detailed` | every check's status, message and time, plus process metrics and telemetry counts; 503 when one is unhealthy |
//!
//! Checks are [`HealthCheck`] trait objects, each run with its own timeout; built-ins in
//! [`checks`]. Every run's results are also reported to the collector as the
//! `seedwatch.health.status` gauge (0 healthy, 1 degraded, 2 unhealthy), so the collector's
//! per-agent health state includes them; [`Health::report_every`] runs them periodically for
//! that.

pub mod checks;
mod router;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use seedwatch_semconv::attributes::seedwatch::{HEALTH_CHECK, HEALTH_STATUS_METRIC};
use serde::Serialize;

pub use router::router;

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Working.
    Healthy,
    /// Working, but close to a limit.
    Degraded,
    /// Not working.
    Unhealthy,
}

impl CheckStatus {
    fn gauge_value(self) -> i64 {
        match self {
            CheckStatus::Healthy => 0,
            CheckStatus::Degraded => 1,
            CheckStatus::Unhealthy => 2,
        }
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// The verdict.
    pub status: CheckStatus,
    /// A human-readable reason.
    pub message: String,
}

impl CheckResult {
    /// Healthy, with a note.
    pub fn healthy(message: impl Into<String>) -> Self {
        CheckResult { status: CheckStatus::Healthy, message: message.into() }
    }
    /// Degraded, with the reason.
    pub fn degraded(message: impl Into<String>) -> Self {
        CheckResult { status: CheckStatus::Degraded, message: message.into() }
    }
    /// Unhealthy, with the reason.
    pub fn unhealthy(message: impl Into<String>) -> Self {
        CheckResult { status: CheckStatus::Unhealthy, message: message.into() }
    }
}

/// One health check.
#[async_trait::async_trait]
pub trait HealthCheck: Send + Sync {
    /// The component's name (`database`, `llm_connectivity`, ...).
    fn name(&self) -> &str;
    /// How long the check may take before it counts as unhealthy (default 3 s).
    fn timeout(&self) -> Duration {
        Duration::from_secs(3)
    }
    /// Whether an unhealthy result makes the agent not ready (default yes).
    fn affects_readiness(&self) -> bool {
        true
    }
    /// Runs the check.
    async fn check(&self) -> CheckResult;
}

/// One check's result in a report.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentReport {
    /// The verdict and reason.
    #[serde(flatten)]
    pub result: CheckResult,
    /// How long the check took, in milliseconds.
    pub duration_ms: f64,
    /// Whether it decides readiness.
    #[serde(skip)]
    pub affects_readiness: bool,
}

/// The health checks of an agent, and what the endpoints need to answer.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    version: String,
    started: Instant,
    checks: Vec<Arc<dyn HealthCheck>>,
}

impl Health {
    /// No checks yet; `version` is reported by `/health`.
    pub fn new(version: impl Into<String>) -> Health {
        Health { inner: Arc::new(Inner { version: version.into(), started: Instant::now(), checks: Vec::new() }) }
    }

    /// Adds a check. A `Health` already handed to a router keeps the checks it had.
    pub fn with_check(mut self, check: impl HealthCheck + 'static) -> Health {
        Arc::make_mut(&mut self.inner).checks.push(Arc::new(check));
        self
    }

    /// Seconds since this `Health` was made.
    pub fn uptime(&self) -> f64 {
        self.inner.started.elapsed().as_secs_f64()
    }

    /// Runs every check concurrently, each under its timeout, and records the results for the
    /// `seedwatch.health.status` gauge.
    pub async fn run(&self) -> BTreeMap<String, ComponentReport> {
        let runs = self.inner.checks.iter().map(|check| async move {
            let started = Instant::now();
            let result = match tokio::time::timeout(check.timeout(), check.check()).await {
                Ok(r) => r,
                Err(_) => CheckResult::unhealthy(format!("timed out after {:?}", check.timeout())),
            };
            let report = ComponentReport {
                result,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                affects_readiness: check.affects_readiness(),
            };
            (check.name().to_owned(), report)
        });
        let reports: BTreeMap<_, _> = futures_util::future::join_all(runs).await.into_iter().collect();
        if let Ok(mut last) = LAST_RESULTS.lock() {
            for (name, r) in &reports {
                last.insert(name.clone(), r.result.status);
            }
        }
        reports
    }

    /// Runs the checks every `period` on the current Tokio runtime, so their results reach
    /// the collector even when nothing probes the endpoints.
    pub fn report_every(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let health = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                health.run().await;
            }
        })
    }

    pub(crate) fn version(&self) -> &str {
        &self.inner.version
    }
}

/// The newest result of every check that ran in this process.
static LAST_RESULTS: Mutex<BTreeMap<String, CheckStatus>> = Mutex::new(BTreeMap::new());

/// Registers the `seedwatch.health.status` gauge on the global meter provider.
pub(crate) fn register_status_gauge() {
    opentelemetry::global::meter(crate::shared::SCOPE)
        .i64_observable_gauge(HEALTH_STATUS_METRIC)
        .with_description("The agent's own health checks: 0 healthy, 1 degraded, 2 unhealthy")
        .with_callback(|obs| {
            if let Ok(last) = LAST_RESULTS.lock() {
                for (name, status) in last.iter() {
                    obs.observe(status.gauge_value(), &[KeyValue::new(HEALTH_CHECK, name.clone())]);
                }
            }
        })
        .build();
}

#[cfg(test)]
mod tests;
