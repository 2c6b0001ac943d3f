//! The admin HTTP server: `/metrics` and the collector's `/health*` endpoints `/api/v1/agents`, `/api/v1/budgets`.

mod agents;
mod budgets;
mod health;
mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use prometheus_client::registry::Registry;
use serde::Deserialize;

pub use budgets::BudgetsReport;

use crate::agents::AgentTracker;
use crate::budgets::Budgets;
use crate::config::{Problem, check_endpoint};
use crate::health::Health;
use crate::listener::{ConnectionLimits, ConnectionsConfig};
use crate::telemetry::Exposition;

/// Admin server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Listen address, `host:port`.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Connection limits and timeouts (defaults: [`ConnectionLimits::admin`]).
    #[serde(default)]
    pub connections: ConnectionsConfig,
    /// Serve TLS here when `security.tls` is configured (default); `false`: plain text.
    #[serde(default = "crate::config::default_true")]
    pub tls: bool,
    /// Demand a credential with the `read` role when `security.auth` has any (default).
    #[serde(default = "crate::config::default_true")]
    pub auth: bool,
    /// Paths served without a credential (for probes).
    #[serde(default = "default_open_paths")]
    pub open_paths: Vec<String>,
    /// `Host` names (without port) answered; others get 421, which stops DNS-rebinding pages.
    /// Empty: on a loopback address `localhost`, `127.0.0.1` and `::1`; elsewhere any host.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Origins browsers may read the admin API from (CORS); empty: none.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            endpoint: default_endpoint(),
            connections: ConnectionsConfig::default(),
            tls: true,
            auth: true,
            open_paths: default_open_paths(),
            allowed_hosts: Vec::new(),
            cors_allowed_origins: Vec::new(),
        }
    }
}

fn default_endpoint() -> String {
    "127.0.0.1:8889".to_owned()
}

fn default_open_paths() -> Vec<String> {
    vec!["/health/live".to_owned(), "/health/ready".to_owned()]
}

/// The admin routes there are, for checking `open_paths`.
const ROUTES: &[&str] =
    &["/metrics", "/health", "/health/live", "/health/ready", "/health/detailed", "/api/v1/agents", "/api/v1/budgets"];

impl AdminConfig {
    /// Validates, paths under `admin`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        check_endpoint(&self.endpoint, "admin.endpoint", problems);
        self.connections.validate(ConnectionLimits::admin(), "admin.connections", problems);
        for (i, path) in self.open_paths.iter().enumerate() {
            if !ROUTES.contains(&path.as_str()) {
                problems.push(Problem::found_expected(
                    format!("admin.open_paths[{i}]"),
                    path,
                    format!("one of the admin routes: {}", ROUTES.join(", ")),
                ));
            }
        }
        for (i, origin) in self.cors_allowed_origins.iter().enumerate() {
            let ok = origin != "*"
                && reqwest::Url::parse(origin).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
                && http::HeaderValue::from_str(origin).is_ok();
            if !ok {
                problems.push(Problem::found_expected(
                    format!("admin.cors_allowed_origins[{i}]"),
                    origin,
                    "an origin such as `https://grafana.example.com` (scheme, host, optional port; no path, no `*`)",
                ));
            }
        }
    }

    /// The `Host` names answered: as configured, else the loopback names on a loopback address.
    pub fn hosts_allowed(&self) -> Vec<String> {
        if !self.allowed_hosts.is_empty() {
            return self.allowed_hosts.clone();
        }
        let loopback = self.endpoint.parse::<std::net::SocketAddr>().is_ok_and(|a| a.ip().is_loopback());
        match loopback {
            true => ["localhost", "127.0.0.1", "::1"].map(str::to_owned).to_vec(),
            false => Vec::new(),
        }
    }

    /// The connection limits in force.
    pub fn limits(&self) -> ConnectionLimits {
        self.connections.resolve(ConnectionLimits::admin())
    }
}

/// What the admin endpoints read.
#[derive(Debug, Clone)]
pub struct AdminState {
    /// Collector health.
    pub health: Arc<Health>,
    /// Registries rendered on `/metrics`, in order.
    pub registries: Arc<Vec<Registry>>,
    /// Other metric sources rendered after them (derived metrics).
    pub expositions: Arc<Vec<Arc<dyn Exposition>>>,
    /// Per-agent health, when the `agent_metrics` processor tracks it.
    pub agents: Option<Arc<AgentTracker>>,
    /// LLM cost budgets, when configured.
    pub budgets: Option<Arc<Budgets>>,
}

/// The admin routes.
pub fn admin_router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .route("/health", get(health::summary))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/health/detailed", get(health::detailed))
        .route("/api/v1/agents", get(agents::list))
        .route("/api/v1/budgets", get(budgets::list))
        .with_state(state)
}

#[cfg(test)]
mod tests;
