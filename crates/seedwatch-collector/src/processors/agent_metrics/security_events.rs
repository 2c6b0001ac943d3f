//! `{ns}_security_events_total{service,event,outcome}` from agents' audit and security log
//! records: the agent crate's `security.*` and `audit.*` events (by event name), and records on
//! the guide's `modelseed.security` logger (by message: "Access attempt", "API key usage",
//! "Sensitive operation", "... authentication failed ...", "... API rate limit ...").

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use super::resources::instance;
use crate::derived_metrics::CounterFamily;

/// The logger (instrumentation scope) of the guide's SecurityAuditor.
const SECURITY_LOGGER: &str = "modelseed.security";
/// Longest event label kept; longer names are cut (they are also capped as label values).
const MAX_EVENT: usize = 64;

/// Counts every audit or security record of `req` in `family`.
pub(super) fn count(family: &CounterFamily, req: &ExportLogsServiceRequest) {
    for rl in &req.resource_logs {
        let (service, _) = instance(rl.resource.as_ref());
        for sl in &rl.scope_logs {
            let scope = sl.scope.as_ref().map_or("", |s| s.name.as_str());
            for record in &sl.log_records {
                if let Some((event, outcome)) = classify(scope, record) {
                    family.inc(&[service, &event, outcome], 1.0);
                }
            }
        }
    }
}

/// The event and outcome of an audit or security record; `None` for any other record.
pub(super) fn classify(scope: &str, record: &LogRecord) -> Option<(String, &'static str)> {
    let name = match record.event_name.as_str() {
        "" => string(&record.attributes, "event.name").unwrap_or(""),
        name => name,
    };
    let event = match name.strip_prefix("security.").or_else(|| name.strip_prefix("audit.")) {
        Some(event) => label(event),
        None if scope == SECURITY_LOGGER => from_message(record.body.as_ref().and_then(text).unwrap_or("")),
        None => return None,
    };
    let outcome = match (attribute(&record.attributes, "success"), string(&record.attributes, "event.outcome")) {
        (Some(any_value::Value::BoolValue(true)), _) => "success",
        (Some(any_value::Value::BoolValue(false)), _) => "failure",
        (Some(any_value::Value::StringValue(s)), _) if s.eq_ignore_ascii_case("true") => "success",
        (Some(any_value::Value::StringValue(s)), _) if s.eq_ignore_ascii_case("false") => "failure",
        (_, Some(o)) if o.eq_ignore_ascii_case("success") => "success",
        (_, Some(o)) if o.eq_ignore_ascii_case("failure") => "failure",
        _ if matches!(event.as_str(), "authentication_failure" | "rate_limit") => "failure",
        _ => "unknown",
    };
    Some((event, outcome))
}

/// The guide's messages, as its `intrusion_detection.sh` greps them.
fn from_message(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let event = if lower.contains("authentication failed") {
        "authentication_failure"
    } else if lower.contains("rate limit") {
        "rate_limit"
    } else if lower.starts_with("access attempt") {
        "access_attempt"
    } else if lower.starts_with("api key usage") {
        "api_key_usage"
    } else if lower.starts_with("sensitive operation") {
        "sensitive_operation"
    } else {
        "other"
    };
    event.to_owned()
}

/// Lower-case letters, digits and `_`, at most [`MAX_EVENT`] bytes.
fn label(event: &str) -> String {
    let cleaned: String = event
        .chars()
        .take(MAX_EVENT)
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    if cleaned.is_empty() { "other".to_owned() } else { cleaned }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()
}

fn string<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn text(value: &AnyValue) -> Option<&str> {
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn record(event_name: &str, body: &str, attributes: Vec<KeyValue>) -> LogRecord {
        LogRecord {
            event_name: event_name.into(),
            body: Some(AnyValue { value: Some(any_value::Value::StringValue(body.into())) }),
            attributes,
            ..Default::default()
        }
    }

    #[test]
    fn agent_crate_events_are_named_by_event_name_with_their_outcome() {
        let ok =
            record("security.api_key_usage", "API key usage", vec![kv("success", any_value::Value::BoolValue(true))]);
        assert_eq!(classify("modelseed.security", &ok), Some(("api_key_usage".into(), "success")));
        let tool = record(
            "",
            "Tool execution",
            vec![
                kv("event.name", any_value::Value::StringValue("audit.tool_execution".into())),
                kv("success", any_value::Value::BoolValue(false)),
            ],
        );
        assert_eq!(classify("seedwatch.audit", &tool), Some(("tool_execution".into(), "failure")));
        let odd = record("security.Login Failed!", "", vec![]);
        assert_eq!(classify("x", &odd), Some(("login_failed_".into(), "unknown")));
    }

    #[test]
    fn the_guides_logger_is_classified_by_message_like_intrusion_detection_sh() {
        let cases = [
            ("User bob: authentication failed (bad password)", "authentication_failure", "failure"),
            ("API rate limit exceeded for key sk-…", "rate_limit", "failure"),
            ("Access attempt", "access_attempt", "unknown"),
            ("Sensitive operation", "sensitive_operation", "unknown"),
            ("something else", "other", "unknown"),
        ];
        for (body, event, outcome) in cases {
            assert_eq!(classify(SECURITY_LOGGER, &record("", body, vec![])), Some((event.into(), outcome)), "{body}");
        }
        let with_outcome =
            record("", "Access attempt", vec![kv("success", any_value::Value::StringValue("False".into()))]);
        assert_eq!(classify(SECURITY_LOGGER, &with_outcome), Some(("access_attempt".into(), "failure")));
        assert_eq!(classify("modelseed.tools", &record("", "authentication failed", vec![])), None);
    }
}
