//! Building the log records the collector makes itself (workflow summaries, agent state
//! changes, alerts): attributes, and the resource/scope wrapping every one of them shares.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// An attribute.
pub fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

/// A string attribute.
pub fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_owned()))
}

/// `records` under `resource`, in the instrumentation scope `scope` at the collector's version.
pub fn resource_logs(resource: Option<Resource>, scope: &str, records: Vec<LogRecord>) -> ResourceLogs {
    ResourceLogs {
        resource,
        scope_logs: vec![ScopeLogs {
            scope: Some(InstrumentationScope {
                name: scope.to_owned(),
                version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            }),
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    }
}
