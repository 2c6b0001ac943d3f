//! Per agent instance: when it was last heard from (any signal), and its memory, CPU and
//! active analyses from the OTLP metrics it sends.
//!
//! | OTLP metric | becomes |
//! |---|---|
//! | `process.memory.usage` (bytes), `modelseed.memory.usage`, `modelseed_memory_usage_bytes` | `{ns}_memory_usage_bytes` |
//! | `process.cpu.utilization` (ratio, summed over `cpu.mode`) | `{ns}_cpu_usage_percent` (×100) |
//! | `modelseed.cpu.usage`, `modelseed_cpu_usage_percent` (percent) | `{ns}_cpu_usage_percent` |
//! | `modelseed.active_analyses`, `modelseed_active_analyses` | `{ns}_active_analyses` |
//! | `process.memory.usage` and the like, again | the instance's memory in its health state |
//! | `seedwatch.health.status` (gauge, one point per `seedwatch.health.check`: 0 ok, 1 degraded, 2 unhealthy) | the instance's own checks in its health state |
//!
//! The value is that of the newest data points in the batch (summed when several share the
//! newest timestamp, as CPU modes do).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as PointValue;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint};
use opentelemetry_proto::tonic::resource::v1::Resource;

use std::time::Instant;

use seedwatch_semconv::attributes::seedwatch::{HEALTH_CHECK, HEALTH_STATUS_METRIC};

use super::families::Families;
use crate::agents::{AgentTracker, HealthState};

/// `service` label when a resource has no `service.name`.
const UNKNOWN_SERVICE: &str = "unknown_service";
/// `instance` label when a resource has neither `service.instance.id` nor `host.name`.
const UNKNOWN_INSTANCE: &str = "unknown";

/// Picks `(service, instance)` from a resource's string attributes: `service.name`, and
/// `service.instance.id` else `host.name`.
fn pick_instance<'a>(attributes: impl FnOnce(&mut dyn FnMut(&'a str, &'a str))) -> (&'a str, &'a str) {
    let (mut service, mut id, mut host) = (None, None, None);
    attributes(&mut |key, value| match key {
        "service.name" => service = Some(value),
        "service.instance.id" => id = Some(value),
        "host.name" => host = Some(value),
        _ => {}
    });
    (service.unwrap_or(UNKNOWN_SERVICE), id.or(host).unwrap_or(UNKNOWN_INSTANCE))
}

/// `(service, instance)` of a decoded resource.
pub(super) fn instance(resource: Option<&Resource>) -> (&str, &str) {
    pick_instance(|visit| {
        for kv in resource.map(|r| r.attributes.as_slice()).unwrap_or_default() {
            if let Some(AnyValue::StringValue(v)) = kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                visit(&kv.key, v);
            }
        }
    })
}

/// `(service, instance)` of an encoded resource, read in place.
pub(super) fn instance_raw(resource: Option<&[u8]>) -> (&str, &str) {
    pick_instance(|visit| {
        if let Some(bytes) = resource {
            let _ = crate::otlp_wire::resource_attributes(bytes, |key, value| {
                if let seedwatch_semconv::AttrValue::Str(v) = value {
                    visit(key, v);
                }
            });
        }
    })
}

enum Target {
    Memory,
    CpuRatio,
    CpuPercent,
    ActiveAnalyses,
}

fn target(name: &str) -> Option<Target> {
    Some(match name {
        "process.memory.usage" | "modelseed.memory.usage" | "modelseed_memory_usage_bytes" => Target::Memory,
        "process.cpu.utilization" => Target::CpuRatio,
        "modelseed.cpu.usage" | "modelseed_cpu_usage_percent" => Target::CpuPercent,
        "modelseed.active_analyses" | "modelseed_active_analyses" => Target::ActiveAnalyses,
        _ => return None,
    })
}

fn point_value(p: &NumberDataPoint) -> Option<f64> {
    match p.value? {
        PointValue::AsDouble(d) => Some(d),
        PointValue::AsInt(i) => Some(i as f64),
    }
}

/// The sum of the data points with the newest timestamp.
fn newest_value(metric: &Metric) -> Option<f64> {
    let points = match metric.data.as_ref()? {
        Data::Gauge(g) => &g.data_points,
        Data::Sum(s) => &s.data_points,
        _ => return None,
    };
    let newest = points.iter().map(|p| p.time_unix_nano).max()?;
    let values = points.iter().filter(|p| p.time_unix_nano == newest).filter_map(point_value);
    values.fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

/// The agent's own health checks in a `seedwatch.health.status` gauge: (check, state) of each
/// data point with the newest timestamp.
fn reported_checks(metric: &Metric) -> Vec<(&str, HealthState)> {
    let Some(Data::Gauge(g)) = metric.data.as_ref() else { return Vec::new() };
    let Some(newest) = g.data_points.iter().map(|p| p.time_unix_nano).max() else { return Vec::new() };
    g.data_points
        .iter()
        .filter(|p| p.time_unix_nano == newest)
        .filter_map(|p| {
            let check = p.attributes.iter().find(|kv| kv.key == HEALTH_CHECK).and_then(|kv| {
                match kv.value.as_ref()?.value.as_ref()? {
                    AnyValue::StringValue(s) => Some(s.as_str()),
                    _ => None,
                }
            });
            Some((check.unwrap_or("self"), HealthState::from_reported(point_value(p)?)))
        })
        .collect()
}

impl Families {
    /// Records that an instance sent something, at `now` (unix seconds).
    pub(super) fn seen(&self, resource: Option<&Resource>, now: f64, agents: &AgentTracker) {
        let (service, instance) = instance(resource);
        self.agent_last_seen.set(&[service, instance], now);
        agents.seen(service, instance, Instant::now());
    }

    /// Resource gauges from one metrics request.
    pub(super) fn resource_metrics(&self, req: &ExportMetricsServiceRequest, now: f64, agents: &AgentTracker) {
        let at = Instant::now();
        for rm in &req.resource_metrics {
            self.seen(rm.resource.as_ref(), now, agents);
            let (service, instance) = instance(rm.resource.as_ref());
            let labels = [service, instance];
            for metric in rm.scope_metrics.iter().flat_map(|sm| &sm.metrics) {
                if metric.name == HEALTH_STATUS_METRIC {
                    for (check, state) in reported_checks(metric) {
                        agents.reported(service, instance, check, state, at);
                    }
                    continue;
                }
                let Some(target) = target(&metric.name) else { continue };
                let Some(value) = newest_value(metric) else { continue };
                match target {
                    Target::Memory => {
                        self.memory_usage.set(&labels, value);
                        agents.memory(service, instance, value, at);
                    }
                    Target::CpuRatio | Target::CpuPercent => {
                        let percent = if matches!(target, Target::CpuRatio) { value * 100.0 } else { value };
                        self.cpu_usage.set(&labels, percent);
                        agents.cpu(service, instance, percent, at);
                    }
                    Target::ActiveAnalyses => self.active_analyses.set(&labels, value),
                }
            }
        }
    }
}
