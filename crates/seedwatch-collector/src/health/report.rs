//! The JSON bodies of `/health` and `/health/detailed`; also read back by `seedwatch health`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::ComponentStatus;
use crate::clock::unix_seconds;

/// Overall status, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverallStatus {
    /// Everything works.
    Healthy,
    /// Working with problems.
    Degraded,
    /// Not doing its job.
    Unhealthy,
}

/// `/health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryReport {
    /// Overall status.
    pub status: OverallStatus,
    /// Why it is not healthy (empty when healthy).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The collector version.
    pub version: String,
    /// Seconds since start.
    pub uptime_seconds: f64,
    /// Unix time of this report, in seconds.
    pub timestamp: f64,
}

impl SummaryReport {
    pub(super) fn new(status: OverallStatus, reasons: Vec<String>, uptime_seconds: f64) -> Self {
        SummaryReport {
            status,
            reasons,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_seconds,
            timestamp: unix_seconds(SystemTime::now()),
        }
    }
}

/// `/health/detailed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetailedReport {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: SummaryReport,
    /// Same as `/health/ready`.
    pub ready: bool,
    /// Every component by role and name.
    pub components: Components,
    /// Every queue by name.
    pub queues: BTreeMap<String, QueueReport>,
    /// How many agent instances are in each health state (when agents are tracked); the
    /// agents' health does not change the collector's own status.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub agents: Option<crate::agents::AgentCounts>,
    /// The memory limiter.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub memory: Option<MemoryReport>,
    /// Open connections per listener.
    #[serde(default)]
    pub listeners: BTreeMap<String, ListenerReport>,
}

impl DetailedReport {
    pub(super) fn new(summary: SummaryReport, ready: bool) -> Self {
        DetailedReport {
            summary,
            ready,
            components: Components::default(),
            queues: BTreeMap::new(),
            agents: None,
            memory: None,
            listeners: BTreeMap::new(),
        }
    }
}

/// The memory limiter in `/health/detailed`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemoryReport {
    /// Resident memory above which new data is refused.
    pub limit_bytes: u64,
    /// Data held above which new data is refused.
    pub soft_limit_bytes: u64,
    /// Data queued and in flight.
    pub accounted_bytes: u64,
    /// Resident memory at the last sample.
    pub resident_bytes: u64,
    /// Why new data is refused now, if it is.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refusing: Option<String>,
}

/// One listener in `/health/detailed`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListenerReport {
    /// Open now.
    pub connections: usize,
    /// The limit in force.
    pub max_connections: usize,
}

/// Components by role.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Components {
    /// Receivers by name.
    pub receivers: BTreeMap<String, ComponentReport>,
    /// Processors by name.
    pub processors: BTreeMap<String, ComponentReport>,
    /// Exporters by name.
    pub exporters: BTreeMap<String, ComponentReport>,
}

/// One component.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComponentReport {
    /// `starting`, `ok`, `degraded`, `failed` or `stopped`.
    pub status: String,
    /// Why it is degraded or failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Extra detail such as the bound endpoint.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
    /// Unix time (seconds) the status last changed.
    pub since: f64,
}

impl ComponentReport {
    pub(super) fn new(status: &ComponentStatus, detail: Option<String>, since: SystemTime) -> Self {
        let (status, reason) = match status {
            ComponentStatus::Starting => ("starting", None),
            ComponentStatus::Ok => ("ok", None),
            ComponentStatus::Degraded(r) => ("degraded", Some(r.clone())),
            ComponentStatus::Failed(r) => ("failed", Some(r.clone())),
            ComponentStatus::Stopped => ("stopped", None),
        };
        ComponentReport { status: status.to_owned(), reason, detail, since: unix_seconds(since) }
    }
}

/// One queue's depth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueReport {
    /// Queued, in `unit`s.
    pub size: u64,
    /// Capacity, in `unit`s.
    pub capacity: u64,
    /// What size and capacity count: `items` (in-memory queues) or `bytes` (durable queues).
    #[serde(default = "items_unit")]
    pub unit: String,
    /// size / capacity.
    pub utilization: f64,
}

fn items_unit() -> String {
    "items".into()
}

impl QueueReport {
    pub(super) fn new(size: u64, capacity: u64, unit: crate::pipeline::QueueUnit) -> Self {
        let unit = match unit {
            crate::pipeline::QueueUnit::Items => items_unit(),
            crate::pipeline::QueueUnit::Bytes => "bytes".into(),
        };
        QueueReport { size, capacity, unit, utilization: size as f64 / capacity.max(1) as f64 }
    }
}
