//! Alerts seedwatch raises itself (agents down or unhealthy; budgets crossing thresholds),
//! delivered to Alertmanager's v2 API (re-sent while active, resolved with `endsAt`), a generic
//! JSON webhook, and as log records. Deliveries retry with backoff in their own tasks and
//! never block ingestion; every outcome is counted in `seedwatch_alert_notifications_total`.

mod alert;
mod center;
mod config;
mod records;
mod sinks;

pub use alert::{Alert, fingerprint, severity};
pub use center::AlertCenter;
pub use config::{AlertingConfig, AlertmanagerConfig, WebhookConfig};
pub use sinks::{Sink, SinkError};

#[cfg(test)]
mod tests;
