//! Audit and security events as log records with `event.name`: tool executions (the guide's
//! ToolAuditor files, sent as OTLP instead) on the `seedwatch.audit` logger, and the guide's
//! SecurityAuditor events on `modelseed.security`. The collector's Elasticsearch exporter
//! routes both loggers and the `audit.` / `security.` event prefixes to the audit index.

use std::net::IpAddr;
use std::sync::Arc;

use opentelemetry::Context;
use serde_json::Value;

use crate::instrument::payload::Payload;
use crate::logs::{Field, Origin, emit_event};
use crate::shared::{self, AUDIT_SCOPE, SECURITY_SCOPE};

/// `event.name` of a tool execution record.
pub const TOOL_EXECUTION_EVENT: &str = "audit.tool_execution";
/// `event.name` of an access attempt.
pub const ACCESS_ATTEMPT_EVENT: &str = "security.access_attempt";
/// `event.name` of an API key use.
pub const API_KEY_USAGE_EVENT: &str = "security.api_key_usage";
/// `event.name` of a sensitive operation.
pub const SENSITIVE_OPERATION_EVENT: &str = "security.sensitive_operation";
/// `event.name` of a failed authentication (the guide's "authentication failed" lines).
pub const AUTHENTICATION_FAILURE_EVENT: &str = "security.authentication_failure";
/// `event.name` of a rate limit hit (the guide's "API rate limit" lines).
pub const RATE_LIMIT_EVENT: &str = "security.rate_limit";

fn json_field(value: Option<&Value>) -> Field {
    let sanitized = value.map(|v| shared::get().sanitizer.sanitize(v)).unwrap_or(Value::Null);
    Field::Str(sanitized.to_string())
}

/// One tool execution, as captured when the call ended; its audit record is made from it
/// (on the deferred worker, usually).
pub(crate) struct ToolExecution {
    pub origin: Origin,
    pub tool: Arc<str>,
    pub duration: f64,
    pub inputs: Option<Payload>,
    pub outputs: Option<Payload>,
    /// `error.type` and the message, already redacted.
    pub error: Option<(String, String)>,
    /// The process's memory and CPU when the call ended.
    pub memory: u64,
    pub cpu: f64,
}

impl ToolExecution {
    /// The audit record; inputs and outputs are sanitised here.
    pub(crate) fn emit(self) {
        let shared = shared::get();
        let mut fields = vec![
            ("tool_name", Field::Str(self.tool.to_string())),
            ("duration", Field::F64(self.duration)),
            ("success", Field::Bool(self.error.is_none())),
            ("inputs", json_field(self.inputs.map(Payload::into_json).as_ref())),
            ("outputs", json_field(self.outputs.map(Payload::into_json).as_ref())),
            ("memory_usage", Field::U64(self.memory)),
            ("cpu_usage", Field::F64(self.cpu)),
        ];
        let level = if self.error.is_some() { tracing::Level::WARN } else { tracing::Level::INFO };
        if let Some((error_type, message)) = self.error {
            fields.push(("error", Field::Str(message)));
            fields.push(("error.type", Field::Str(error_type)));
        }
        emit_event(
            &self.origin,
            shared.audit_logger.as_ref(),
            AUDIT_SCOPE,
            TOOL_EXECUTION_EVENT,
            level,
            "Tool execution",
            fields,
        );
    }
}

/// Names an API key in an audit record without carrying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRef(String);

impl ApiKeyRef {
    /// A key id the provider or your vault gave the key (not the key itself).
    pub fn id(id: impl Into<String>) -> ApiKeyRef {
        ApiKeyRef(id.into())
    }

    /// A fingerprint of the key: the first 12 hex digits of its SHA-256, `sha256:…`. Enough
    /// to tell keys apart in an audit trail; useless for recovering the key.
    pub fn fingerprint(key: &str) -> ApiKeyRef {
        let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        let hex: String = digest.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect();
        ApiKeyRef(format!("sha256:{hex}"))
    }

    /// The id or fingerprint.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The monitoring guide's SecurityAuditor: access attempts, API-key use and sensitive
/// operations, each a log event with the client's IP (`client.address`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityAuditor;

impl SecurityAuditor {
    /// An auditor; events go through the logger set up by [`crate::init`].
    pub fn new() -> SecurityAuditor {
        SecurityAuditor
    }

    /// An access attempt: who, to what, doing what, from where, and whether it was allowed.
    pub fn access_attempt(
        &self,
        user_id: &str,
        resource: &str,
        action: &str,
        success: bool,
        client_ip: Option<IpAddr>,
    ) {
        let mut fields = vec![
            ("user.id", Field::Str(user_id.to_owned())),
            ("resource", Field::Str(resource.to_owned())),
            ("action", Field::Str(action.to_owned())),
            ("success", Field::Bool(success)),
        ];
        push_ip(&mut fields, client_ip);
        let level = if success { tracing::Level::INFO } else { tracing::Level::WARN };
        emit(ACCESS_ATTEMPT_EVENT, level, "Access attempt", fields);
    }

    /// A use of an API key, named by [`ApiKeyRef`] (never the key).
    pub fn api_key_usage(&self, key: &ApiKeyRef, provider: &str, success: bool, client_ip: Option<IpAddr>) {
        let mut fields = vec![
            ("api_key_id", Field::Str(key.as_str().to_owned())),
            ("provider", Field::Str(provider.to_owned())),
            ("success", Field::Bool(success)),
        ];
        push_ip(&mut fields, client_ip);
        let level = if success { tracing::Level::INFO } else { tracing::Level::WARN };
        emit(API_KEY_USAGE_EVENT, level, "API key usage", fields);
    }

    /// A sensitive operation (model deletion, credential rotation, ...); `details` are sanitised.
    pub fn sensitive_operation(
        &self,
        operation: &str,
        user_id: &str,
        details: Option<&Value>,
        client_ip: Option<IpAddr>,
    ) {
        let mut fields = vec![
            ("operation", Field::Str(operation.to_owned())),
            ("user.id", Field::Str(user_id.to_owned())),
            ("details", json_field(details)),
        ];
        push_ip(&mut fields, client_ip);
        emit(SENSITIVE_OPERATION_EVENT, tracing::Level::WARN, "Sensitive operation", fields);
    }
}

impl SecurityAuditor {
    /// A failed authentication: who claimed to be whom, how, from where. The message says
    /// "authentication failed", as the guide's `intrusion_detection.sh` looks for.
    pub fn authentication_failure(&self, user_id: &str, method: &str, client_ip: Option<IpAddr>) {
        let mut fields = vec![
            ("user.id", Field::Str(user_id.to_owned())),
            ("auth.method", Field::Str(method.to_owned())),
            ("success", Field::Bool(false)),
        ];
        push_ip(&mut fields, client_ip);
        emit(AUTHENTICATION_FAILURE_EVENT, tracing::Level::WARN, "authentication failed", fields);
    }

    /// A rate limit hit at an API (a provider's 429, say), by key ([`ApiKeyRef`]) and provider.
    /// The message says "API rate limit exceeded", as the guide's script looks for.
    pub fn rate_limit_exceeded(&self, key: &ApiKeyRef, provider: &str, client_ip: Option<IpAddr>) {
        let mut fields = vec![
            ("api_key_id", Field::Str(key.as_str().to_owned())),
            ("provider", Field::Str(provider.to_owned())),
            ("success", Field::Bool(false)),
        ];
        push_ip(&mut fields, client_ip);
        emit(RATE_LIMIT_EVENT, tracing::Level::WARN, "API rate limit exceeded", fields);
    }
}

fn push_ip(fields: &mut Vec<(&'static str, Field)>, ip: Option<IpAddr>) {
    if let Some(ip) = ip {
        fields.push(("client.address", Field::Str(ip.to_string())));
    }
}

fn emit(event: &'static str, level: tracing::Level, message: &str, fields: Vec<(&'static str, Field)>) {
    let shared = shared::get();
    let fields = fields
        .into_iter()
        .map(|(k, v)| match v {
            Field::Str(s) => (k, Field::Str(shared.sanitizer.redact_text(&s).into_owned())),
            v => (k, v),
        })
        .collect();
    emit_event(
        &Origin::capture(&Context::current(), std::time::SystemTime::now()),
        shared.security_logger.as_ref(),
        SECURITY_SCOPE,
        event,
        level,
        message,
        fields,
    );
}

#[cfg(test)]
mod tests {
    use super::ApiKeyRef;

    #[test]
    fn fingerprints_name_keys_without_carrying_them() {
        let key = "sk-proj-4fJk2Lm9Qx7Rt1Vb8Nc3Zp6Wy0Hs5DgEaKuTiOo2XyZ";
        let f = ApiKeyRef::fingerprint(key);
        assert!(f.as_str().starts_with("sha256:") && f.as_str().len() == 19, "{f:?}");
        assert!(!f.as_str().contains("4fJk"));
        assert_eq!(f, ApiKeyRef::fingerprint(key));
        assert_ne!(f, ApiKeyRef::fingerprint("sk-proj-other"));
    }
}
