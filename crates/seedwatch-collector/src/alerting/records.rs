//! Alerts as OTLP log records (`event.name = seedwatch.alert`), for the exporters.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::alert::Alert;
use crate::own_logs::{resource_logs, string};

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// One record per alert: firing (WARN, or ERROR when critical) or resolved (INFO).
pub fn alert_records(alerts: &[Alert]) -> ExportLogsServiceRequest {
    let records = alerts
        .iter()
        .map(|a| {
            let resolved = a.ends_at.is_some();
            let status = if resolved { "resolved" } else { "firing" };
            let critical = a.labels.get("severity").is_some_and(|s| s == "critical");
            let (number, text) = match (resolved, critical) {
                (true, _) => (SeverityNumber::Info, "INFO"),
                (false, true) => (SeverityNumber::Error, "ERROR"),
                (false, false) => (SeverityNumber::Warn, "WARN"),
            };
            let summary = a.annotations.get("summary").map_or("", String::as_str);
            let mut attributes = vec![string("event.name", "seedwatch.alert"), string("alert.status", status)];
            attributes.extend(a.labels.iter().map(|(k, v)| string(&format!("alert.labels.{k}"), v)));
            attributes.extend(a.annotations.iter().map(|(k, v)| string(&format!("alert.annotations.{k}"), v)));
            LogRecord {
                time_unix_nano: nanos(a.ends_at.unwrap_or(a.starts_at)),
                observed_time_unix_nano: nanos(SystemTime::now()),
                severity_number: number as i32,
                severity_text: text.into(),
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(format!("[{status}] {}: {summary}", a.name()))),
                }),
                attributes,
                event_name: "seedwatch.alert".into(),
                ..Default::default()
            }
        })
        .collect();
    let seedwatch = Resource { attributes: vec![string("service.name", "seedwatch")], ..Default::default() };
    ExportLogsServiceRequest { resource_logs: vec![resource_logs(Some(seedwatch), "seedwatch.alerting", records)] }
}
