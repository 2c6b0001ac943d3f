//! State changes as OTLP log records, one per change, under the agent's own resource so that
//! a log backend files them with the agent's other logs.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use seedwatch_semconv::attributes::seedwatch::AGENT_HEALTH_CHANGED_EVENT;

use super::state::HealthState;
use super::tracker::StateChange;
use crate::own_logs::{resource_logs, string};

fn severity(state: HealthState) -> (SeverityNumber, &'static str) {
    match state {
        HealthState::Healthy => (SeverityNumber::Info, "INFO"),
        HealthState::Degraded => (SeverityNumber::Warn, "WARN"),
        HealthState::Unhealthy | HealthState::Down => (SeverityNumber::Error, "ERROR"),
    }
}

/// One log record per change (`event.name = seedwatch.agent.health_changed`).
pub fn state_change_records(changes: &[StateChange]) -> ExportLogsServiceRequest {
    let resource_logs = changes
        .iter()
        .map(|c| {
            let (number, text) = severity(c.to);
            let from = c.from.map_or("new", HealthState::as_str);
            let reasons = AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue {
                    values: c
                        .reasons
                        .iter()
                        .map(|r| AnyValue { value: Some(any_value::Value::StringValue(r.clone())) })
                        .collect(),
                })),
            };
            let body = if c.reasons.is_empty() {
                format!("agent {}/{} is {} (was {from})", c.service, c.instance, c.to)
            } else {
                format!("agent {}/{} is {} (was {from}): {}", c.service, c.instance, c.to, c.reasons.join("; "))
            };
            let record = LogRecord {
                time_unix_nano: (c.at * 1e9) as u64,
                observed_time_unix_nano: (c.at * 1e9) as u64,
                severity_number: number as i32,
                severity_text: text.into(),
                body: Some(AnyValue { value: Some(any_value::Value::StringValue(body)) }),
                attributes: vec![
                    string("event.name", AGENT_HEALTH_CHANGED_EVENT),
                    string("agent.health.state", c.to.as_str()),
                    string("agent.health.previous_state", from),
                    KeyValue { key: "agent.health.reasons".into(), value: Some(reasons), ..Default::default() },
                ],
                event_name: AGENT_HEALTH_CHANGED_EVENT.into(),
                ..Default::default()
            };
            let resource = Resource {
                attributes: vec![string("service.name", &c.service), string("service.instance.id", &c.instance)],
                ..Default::default()
            };
            resource_logs(Some(resource), "seedwatch.agents", vec![record])
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}
