//! The collector's one YAML config: loading, `${ENV}` substitution, strict parsing and
//! validation, all before anything is started.
//!
//! The documented default is `otel-config/seedwatch.yaml`; it is embedded in the binary and is
//! what `seedwatch run` uses without `-c`.

mod component;
mod env;
mod error;

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_norway::{Mapping, Value};

pub use component::{
    ComponentEntry, Validate, check_endpoint, check_http_url, check_positive, component_entries, default_true,
    deserialize_at, enabled_switch, parse_section, pick_signals,
};
pub use env::Lookup;
pub use error::{ConfigError, Problem, join_path};

use crate::alerting::AlertingConfig;
use crate::dashboard::UiConfig;
use crate::exporters::{self, ExporterSpec};
use crate::limits::LimitsConfig;
use crate::pipeline::PipelineConfig;
use crate::processors::{self, ProcessorSpec};
use crate::receivers::ReceiversConfig;
use crate::security::SecurityConfig;
use crate::server::AdminConfig;
use crate::shared::RedisConfig;

/// The embedded default config (`otel-config/seedwatch.yaml`).
pub const EMBEDDED_DEFAULT: &str = include_str!("../../../../otel-config/seedwatch.yaml");
/// The name errors use for the embedded default.
pub const EMBEDDED_NAME: &str = "<embedded default config>";

/// The top level of the config file, each section parsed on its own so that one run reports
/// the problems of every section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    receivers: Value,
    #[serde(default)]
    pipeline: Value,
    #[serde(default)]
    processors: Value,
    #[serde(default)]
    exporters: Value,
    #[serde(default)]
    admin: Value,
    #[serde(default)]
    alerting: Value,
    #[serde(default)]
    service: Value,
    #[serde(default)]
    limits: Value,
    #[serde(default)]
    security: Value,
    #[serde(default)]
    ui: Value,
    #[serde(default)]
    redis: Value,
}

/// The core sections of the config file.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where telemetry comes in.
    pub receivers: ReceiversConfig,
    /// Queues between receivers, processors and exporters.
    pub pipeline: PipelineConfig,
    /// The admin HTTP server: `/metrics`, `/health*`.
    pub admin: AdminConfig,
    /// Where alerts go.
    pub alerting: AlertingConfig,
    /// Process-wide settings.
    pub service: ServiceConfig,
    /// What one client can make the collector hold.
    pub limits: LimitsConfig,
    /// TLS, credentials and rate limits.
    pub security: SecurityConfig,
    /// The built-in dashboard.
    pub ui: UiConfig,
    /// State shared with other replicas (empty url: none).
    pub redis: RedisConfig,
}

/// Deserializes one top-level section (absent or empty means its defaults) and, if that
/// worked, validates it; problems go to `problems` either way.
fn section<T: serde::de::DeserializeOwned + Default>(
    value: Value,
    key: &str,
    validate: fn(&T, &mut Vec<Problem>),
    problems: &mut Vec<Problem>,
) -> T {
    let parsed = if value.is_null() { Ok(T::default()) } else { deserialize_at(value, key) };
    match parsed {
        Ok(section) => {
            validate(&section, problems);
            section
        }
        Err(p) => {
            problems.push(p);
            T::default()
        }
    }
}

/// A component map section (`processors`, `exporters`); absent or empty means none.
fn component_map(value: Value, key: &str, problems: &mut Vec<Problem>) -> Mapping {
    match value {
        Value::Null => Mapping::new(),
        Value::Mapping(m) => m,
        _ => {
            problems.push(Problem::new(key, "expected a mapping of `type` or `type/name` keys"));
            Mapping::new()
        }
    }
}

/// Process-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// How long a graceful shutdown may take to drain queues to the exporters.
    #[serde(default = "default_shutdown_timeout", with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// The collector's own log output.
    #[serde(default)]
    pub log: LogConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig { shutdown_timeout: default_shutdown_timeout(), log: LogConfig::default() }
    }
}

fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(30)
}

/// The collector's own log output (to stderr).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `seedwatch_collector=debug`; `RUST_LOG` wins.
    #[serde(default = "default_log_level")]
    pub level: String,
    /// `text` or `json`.
    #[serde(default)]
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: default_log_level(), format: LogFormat::Text }
    }
}

fn default_log_level() -> String {
    "info".to_owned()
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Validate for ServiceConfig {
    fn validate(&self, problems: &mut Vec<Problem>) {
        if self.shutdown_timeout.is_zero() {
            problems.push(Problem::found_expected("shutdown_timeout", "0s", "a positive duration such as `30s`"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            problems.push(Problem::found_expected(
                "log.level",
                &self.log.level,
                "a level (`error`, `warn`, `info`, `debug`, `trace`) or a tracing filter such as `seedwatch_collector=debug`",
            ));
        }
    }
}

/// A fully parsed and validated config, ready to build from.
#[derive(Debug)]
pub struct Settings {
    /// Where the config came from (a path or [`EMBEDDED_NAME`]).
    pub source: String,
    /// The core sections.
    pub config: Config,
    /// Enabled processors, in order.
    pub processors: Vec<ProcessorSpec>,
    /// Enabled exporters.
    pub exporters: Vec<ExporterSpec>,
}

impl Settings {
    /// Loads and validates a config file, substituting from the process environment.
    pub fn load_file(path: &Path) -> Result<Settings, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: file.clone(), source })?;
        Settings::parse(&text, &file, &|name| std::env::var(name).ok())
    }

    /// Loads the embedded default config, substituting from the process environment.
    pub fn load_embedded() -> Result<Settings, ConfigError> {
        Settings::parse(EMBEDDED_DEFAULT, EMBEDDED_NAME, &|name| std::env::var(name).ok())
    }

    /// Parses and validates config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str, lookup: Lookup<'_>) -> Result<Settings, ConfigError> {
        let invalid = |problems| ConfigError::Invalid { file: file.to_owned(), problems };
        let mut value: Value = serde_norway::from_str(text)
            .map_err(|err| ConfigError::Syntax { file: file.to_owned(), message: err.to_string() })?;
        if value.is_null() {
            value = Value::Mapping(Mapping::new());
        }
        let mut problems = Vec::new();
        env::substitute(&mut value, lookup, "", &mut problems);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let raw: RawConfig = deserialize_at(value, "").map_err(|p| invalid(vec![p]))?;
        let config = Config {
            receivers: section(raw.receivers, "receivers", ReceiversConfig::validate, &mut problems),
            pipeline: section(raw.pipeline, "pipeline", PipelineConfig::validate, &mut problems),
            admin: section(raw.admin, "admin", AdminConfig::validate, &mut problems),
            alerting: section(raw.alerting, "alerting", AlertingConfig::validate, &mut problems),
            service: section(raw.service, "service", validate_service, &mut problems),
            limits: section(raw.limits, "limits", validate_limits, &mut problems),
            security: section(raw.security, "security", SecurityConfig::validate, &mut problems),
            ui: section(raw.ui, "ui", validate_ui, &mut problems),
            redis: section(raw.redis, "redis", validate_redis, &mut problems),
        };
        let processor_map = component_map(raw.processors, "processors", &mut problems);
        let exporter_map = component_map(raw.exporters, "exporters", &mut problems);
        let processors = processors::parse_all(&processor_map, &mut problems);
        let exporters = exporters::parse_all(&exporter_map, &mut problems);
        if problems.is_empty() {
            check_ports_distinct(&config, &mut problems);
        }
        if problems.is_empty() {
            Ok(Settings { source: file.to_owned(), config, processors, exporters })
        } else {
            Err(invalid(problems))
        }
    }
}

impl Settings {
    /// What is allowed but unwise: a listener on a non-loopback address without TLS or without
    /// credentials. `validate` prints these and `run` logs them.
    pub fn warnings(&self) -> Vec<String> {
        let c = &self.config;
        let otlp = &c.receivers.otlp;
        let listeners = [
            (otlp.grpc.enabled, "receivers.otlp.grpc", &otlp.grpc.endpoint, otlp.grpc.tls, otlp.grpc.auth),
            (otlp.http.enabled, "receivers.otlp.http", &otlp.http.endpoint, otlp.http.tls, otlp.http.auth),
            (true, "admin", &c.admin.endpoint, c.admin.tls, c.admin.auth),
        ];
        let mut warnings = Vec::new();
        for (enabled, key, endpoint, tls, auth) in listeners {
            let exposed = endpoint.parse::<std::net::SocketAddr>().is_ok_and(|a| !a.ip().is_loopback());
            if !enabled || !exposed {
                continue;
            }
            let mut missing = Vec::new();
            if !(tls && c.security.tls.enabled()) {
                missing.push("TLS (security.tls, or SEEDWATCH_TLS_CERT_FILE and SEEDWATCH_TLS_KEY_FILE)");
            }
            if !(auth && c.security.auth_configured()) {
                missing.push("credentials (security.auth, or SEEDWATCH_AUTH_FILE)");
            }
            if !missing.is_empty() {
                warnings.push(format!(
                    "`{key}.endpoint` {endpoint} is reachable from other hosts without {}",
                    missing.join(" and ")
                ));
            }
        }
        warnings
    }
}

fn validate_service(service: &ServiceConfig, problems: &mut Vec<Problem>) {
    let mut own = Vec::new();
    service.validate(&mut own);
    problems.extend(own.into_iter().map(|p| p.under("service")));
}

fn validate_ui(ui: &UiConfig, problems: &mut Vec<Problem>) {
    let mut own = Vec::new();
    ui.validate(&mut own);
    problems.extend(own.into_iter().map(|p| p.under("ui")));
}

fn validate_redis(redis: &RedisConfig, problems: &mut Vec<Problem>) {
    let mut own = Vec::new();
    redis.validate(&mut own);
    problems.extend(own.into_iter().map(|p| p.under("redis")));
}

fn validate_limits(limits: &LimitsConfig, problems: &mut Vec<Problem>) {
    let mut own = Vec::new();
    limits.validate(&mut own);
    problems.extend(own.into_iter().map(|p| p.under("limits")));
}

fn check_ports_distinct(config: &Config, problems: &mut Vec<Problem>) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let otlp = &config.receivers.otlp;
    let candidates = [
        (otlp.grpc.enabled, "receivers.otlp.grpc.endpoint", otlp.grpc.endpoint.as_str()),
        (otlp.http.enabled, "receivers.otlp.http.endpoint", otlp.http.endpoint.as_str()),
        (true, "admin.endpoint", config.admin.endpoint.as_str()),
    ];
    for (enabled, path, endpoint) in candidates {
        if !enabled || endpoint.ends_with(":0") {
            continue;
        }
        if let Some((other, _)) = seen.iter().find(|(_, e)| *e == endpoint) {
            problems.push(Problem::found_expected(path, endpoint, format!("an address not already used by `{other}`")));
        }
        seen.push((path, endpoint));
    }
}

#[cfg(test)]
mod tests;
