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
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig { endpoint: default_endpoint(), connections: ConnectionsConfig::default() }
    }
}

fn default_endpoint() -> String {
    "127.0.0.1:8889".to_owned()
}

impl AdminConfig {
    /// Validates, paths under `admin`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        check_endpoint(&self.endpoint, "admin.endpoint", problems);
        self.connections.validate(ConnectionLimits::admin(), "admin.connections", problems);
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
