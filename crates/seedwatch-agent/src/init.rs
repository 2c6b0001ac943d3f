//! [`init`] and its [`Builder`]: tracing, tracing-opentelemetry and the OTLP pipelines from the
//! standard environment variables, with overrides in code, and the guard that flushes them.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use seedwatch_semconv::pricing::{PricingError, PricingTable};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::deferred::{self, Worker};
use crate::export::gate::{TelemetryStats, abandon_in_flight, telemetry_stats};
use crate::export::settings::{EnvSettings, Protocol, signal_url};
use crate::export::{logger_provider, meter_provider, tracer_provider};
use crate::logs::{JsonLayer, LogSink};
use crate::redact::Sanitizer;
use crate::shared::{self, SCOPE, Shared};

/// Why telemetry could not be set up. Nothing is installed when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// An environment variable (or the builder value standing for it) is not valid.
    #[error("{variable}={value:?} is not valid: expected {expected}")]
    Invalid {
        /// The variable.
        variable: String,
        /// Its value (credentials hidden).
        value: String,
        /// What would be valid.
        expected: &'static str,
    },
    /// A header for a signal's exporter is not valid.
    #[error("header {name:?} for {signal}: {reason}; fix OTEL_EXPORTER_OTLP_HEADERS")]
    Header {
        /// traces, metrics or logs.
        signal: &'static str,
        /// The header's name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The OTLP exporter refused its configuration.
    #[error("the OTLP {signal} exporter cannot be built: {reason}")]
    Exporter {
        /// traces, metrics or logs.
        signal: &'static str,
        /// The exporter's message.
        reason: String,
    },
    /// The pricing table given to the builder is not valid.
    #[error("pricing table: {0}")]
    Pricing(#[from] PricingError),
    /// The runtime that drives gRPC exports could not start.
    #[error("cannot start the telemetry runtime: {0}")]
    Runtime(std::io::Error),
    /// `init` was called twice in one process.
    #[error("telemetry is already initialised in this process")]
    AlreadyInitialised,
    /// Another global `tracing` subscriber is set; use [`Builder::install_subscriber`]`(false)`.
    #[error("a global tracing subscriber is already set: {0}")]
    Subscriber(String),
}

/// Where JSON log lines go.
pub enum JsonLogs {
    /// Standard output (the default).
    Stdout,
    /// Nowhere: logs go only to OTLP.
    Off,
    /// A writer of your own (a file, a test buffer); each line is one `write_all`.
    Writer(Box<dyn std::io::Write + Send>),
}

/// Sets up telemetry from the `OTEL_*` environment variables; see [`Builder`] to override them.
pub fn init() -> Result<TelemetryGuard, InitError> {
    Builder::new().install()
}

type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// Telemetry set-up: the environment first, then what is set here.
pub struct Builder {
    lookup: Lookup,
    service_name: Option<String>,
    endpoint: Option<String>,
    protocol: Option<Protocol>,
    headers: Vec<(String, String)>,
    resource: Vec<(String, String)>,
    disabled: Option<bool>,
    metric_interval: Option<Duration>,
    json_logs: JsonLogs,
    log_filter: Option<String>,
    sanitizer: Sanitizer,
    pricing: Option<String>,
    resource_gauges: bool,
    install_subscriber: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Reads the process environment at [`Builder::install`].
    pub fn new() -> Builder {
        Builder {
            lookup: Box::new(|name| std::env::var(name).ok()),
            service_name: None,
            endpoint: None,
            protocol: None,
            headers: Vec::new(),
            resource: Vec::new(),
            disabled: None,
            metric_interval: None,
            json_logs: JsonLogs::Stdout,
            log_filter: None,
            sanitizer: Sanitizer::default(),
            pricing: None,
            resource_gauges: true,
            install_subscriber: true,
        }
    }

    /// Reads variables through `lookup` instead of the process environment.
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String> + 'static) -> Self {
        self.lookup = Box::new(lookup);
        self
    }

    /// `service.name` (`OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Base endpoint of all signals (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Protocol of all signals (`OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// A header sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. `authorization`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A resource attribute (`OTEL_RESOURCE_ATTRIBUTES`).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// Turns exporting off (`OTEL_SDK_DISABLED=true`) or on.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// How often metrics are exported (`OTEL_METRIC_EXPORT_INTERVAL`, default 60 s).
    pub fn metric_interval(mut self, every: Duration) -> Self {
        self.metric_interval = Some(every);
        self
    }

    /// Where JSON log lines go (default standard output).
    pub fn json_logs(mut self, logs: JsonLogs) -> Self {
        self.json_logs = logs;
        self
    }

    /// The `tracing` filter (`RUST_LOG` syntax); default `RUST_LOG`, else `info`.
    pub fn log_filter(mut self, filter: impl Into<String>) -> Self {
        self.log_filter = Some(filter.into());
        self
    }

    /// The sanitiser applied to audit records and log fields.
    pub fn sanitizer(mut self, sanitizer: Sanitizer) -> Self {
        self.sanitizer = sanitizer;
        self
    }

    /// A pricing table (the YAML format of `otel-config/pricing.yaml`) instead of the embedded
    /// one.
    pub fn pricing_yaml(mut self, yaml: impl Into<String>) -> Self {
        self.pricing = Some(yaml.into());
        self
    }

    /// Whether to register the process and system resource gauges (default yes).
    pub fn resource_gauges(mut self, on: bool) -> Self {
        self.resource_gauges = on;
        self
    }

    /// Whether to set the global `tracing` subscriber (default yes). Without it this crate
    /// neither prints nor exports `tracing` events (keep your own subscriber for those); spans,
    /// metrics, audit and security events are sent all the same.
    pub fn install_subscriber(mut self, on: bool) -> Self {
        self.install_subscriber = on;
        self
    }

    /// The settings `install` would use.
    pub fn settings(&self) -> Result<EnvSettings, InitError> {
        let mut s = EnvSettings::from_lookup(&self.lookup)?;
        if self.protocol.is_some() || self.endpoint.is_some() {
            // Endpoints follow the builder's protocol and base; a per-signal endpoint from the
            // environment is still used as given.
            let env_base = (self.lookup)("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|v| !v.trim().is_empty());
            for (signal, t) in s.targets_mut() {
                if let Some(p) = self.protocol {
                    t.protocol = p;
                }
                let own = (self.lookup)(&format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.env_name()))
                    .filter(|v| !v.trim().is_empty());
                if own.is_some() && self.endpoint.is_none() {
                    continue;
                }
                let base = match (&self.endpoint, &env_base) {
                    (Some(b), _) | (None, Some(b)) => b.trim().to_owned(),
                    (None, None) => t.protocol.default_endpoint().to_owned(),
                };
                t.endpoint = signal_url(&base, t.protocol, signal);
            }
        }
        for (_, t) in s.targets_mut() {
            for (k, v) in &self.headers {
                t.headers.retain(|(key, _)| !key.eq_ignore_ascii_case(k));
                t.headers.push((k.clone(), v.clone()));
            }
        }
        if let Some(name) = &self.service_name {
            s.service_name = Some(name.clone());
        }
        s.resource_attributes.extend(self.resource.iter().cloned());
        if let Some(d) = self.disabled {
            s.disabled = d;
        }
        if let Some(every) = self.metric_interval {
            s.metric_interval = every;
        }
        if let Some(base) = &self.endpoint
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return Err(InitError::Invalid {
                variable: "Builder::endpoint".into(),
                value: base.clone(),
                expected: "an http:// or https:// URL, e.g. http://localhost:4318",
            });
        }
        Ok(s)
    }

    /// Builds and installs everything. Nothing is exported synchronously: spans, metrics and
    /// log records are buffered (boundedly) and sent by background threads, so a down
    /// collector never blocks or fails the agent. On error nothing global has been changed.
    pub fn install(self) -> Result<TelemetryGuard, InitError> {
        if shared::installed() {
            return Err(InitError::AlreadyInitialised);
        }
        let settings = self.settings()?;
        let pricing = match &self.pricing {
            Some(yaml) => PricingTable::from_yaml(yaml)?,
            None => PricingTable::embedded()?,
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let resource = resource(&settings);
        let mut guard = TelemetryGuard { tracer: None, meter: None, logger: None, runtime: None, deferred: None };
        if !settings.disabled {
            let needs_runtime = settings.targets().iter().any(|t| t.protocol == Protocol::Grpc);
            if needs_runtime {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("seedwatch-otlp")
                    .enable_all()
                    .build()
                    .map_err(InitError::Runtime)?;
                guard.runtime = Some(rt);
            }
            let _entered = guard.runtime.as_ref().map(|rt| rt.enter());
            guard.tracer = Some(tracer_provider(&settings, resource.clone())?);
            guard.meter = Some(meter_provider(&settings, resource.clone())?);
            guard.logger = Some(logger_provider(&settings, resource)?);
        }
        if self.install_subscriber {
            let filter = match &self.log_filter {
                Some(f) => EnvFilter::try_new(f),
                None => EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new("info")),
            }
            .map_err(|e| InitError::Invalid {
                variable: "RUST_LOG".into(),
                value: e.to_string(),
                expected: "a tracing filter such as info or my_agent=debug",
            })?;
            let otel = guard.tracer.as_ref().map(|t| tracing_opentelemetry::layer().with_tracer(t.tracer(SCOPE)));
            tracing_subscriber::registry()
                .with(filter)
                .with(otel)
                .with(JsonLayer)
                .try_init()
                .map_err(|e| InitError::Subscriber(e.to_string()))?;
        }
        let sink = match self.json_logs {
            JsonLogs::Stdout => LogSink::stdout(),
            JsonLogs::Off => LogSink::off(),
            JsonLogs::Writer(w) => LogSink::writer(w),
        };
        if let Some(t) = &guard.tracer {
            opentelemetry::global::set_tracer_provider(t.clone());
        }
        if let Some(m) = &guard.meter {
            opentelemetry::global::set_meter_provider(m.clone());
        }
        let queue = std::sync::Arc::new(deferred::queue());
        let shared = Shared::new(self.sanitizer, pricing, sink, guard.logger.as_ref())
            .with_tracer_of(guard.tracer.as_ref())
            .with_deferred(queue.clone());
        if !shared::install(shared) {
            return Err(InitError::AlreadyInitialised);
        }
        guard.deferred = Worker::start(queue);
        if self.resource_gauges {
            crate::resources::register();
        }
        crate::health::register_status_gauge();
        Ok(guard)
    }
}

fn resource(s: &EnvSettings) -> Resource {
    let mut attrs: Vec<KeyValue> =
        s.resource_attributes.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
    attrs.push(KeyValue::new("process.pid", i64::from(std::process::id())));
    if !s.resource_attributes.iter().any(|(k, _)| k == "service.instance.id") {
        let host = sysinfo::System::host_name().unwrap_or_else(|| "unknown".into());
        attrs.push(KeyValue::new("service.instance.id", format!("{host}-{}", std::process::id())));
        attrs.push(KeyValue::new("host.name", host));
    }
    let mut builder = Resource::builder().with_attributes(attrs);
    if let Some(name) = &s.service_name {
        builder = builder.with_service_name(name.clone());
    }
    builder.build()
}

/// Keeps the pipelines running; flushes and shuts them down when dropped (at most about
/// 5 s, even when the backend is down; what is left then is counted as dropped).
pub struct TelemetryGuard {
    /// Audit records and call metrics waiting to be made: done before the pipelines flush.
    deferred: Option<Worker>,
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
    logger: Option<SdkLoggerProvider>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// How long shutdown waits for each pipeline.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

impl TelemetryGuard {
    /// Exports what is buffered now.
    pub fn flush(&self) {
        if let Some(d) = &self.deferred {
            d.flush(SHUTDOWN_TIMEOUT);
        }
        if let Some(t) = &self.tracer {
            let _ = t.force_flush();
        }
        if let Some(l) = &self.logger {
            let _ = l.force_flush();
        }
        if let Some(m) = &self.meter {
            let _ = m.force_flush();
        }
    }

    /// Flushes, shuts down, and tells what was exported and dropped.
    pub fn shutdown(mut self) -> TelemetryStats {
        self.stop();
        telemetry_stats()
    }

    /// Shuts the three pipelines down side by side, so a down backend costs at most one
    /// timeout in all, not one per signal.
    fn stop(&mut self) {
        if let Some(mut d) = self.deferred.take() {
            d.stop(SHUTDOWN_TIMEOUT);
        }
        let (meter, tracer, logger) = (self.meter.take(), self.tracer.take(), self.logger.take());
        std::thread::scope(|scope| {
            if let Some(m) = &meter {
                scope.spawn(|| m.shutdown_with_timeout(SHUTDOWN_TIMEOUT));
            }
            if let Some(t) = &tracer {
                scope.spawn(|| t.shutdown_with_timeout(SHUTDOWN_TIMEOUT));
            }
            if let Some(l) = &logger {
                scope.spawn(|| l.shutdown_with_timeout(SHUTDOWN_TIMEOUT));
            }
        });
        abandon_in_flight();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn builder_protocol_moves_default_and_environment_endpoints() {
        let s = Builder::new().env(env(&[])).protocol(Protocol::Grpc).settings().unwrap();
        assert_eq!(s.traces.endpoint, "http://localhost:4317");
        let s = Builder::new()
            .env(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")]))
            .protocol(Protocol::Grpc)
            .settings()
            .unwrap();
        assert_eq!(s.logs.endpoint, "http://collector:4317", "no /v1/logs on gRPC");
        let s = Builder::new()
            .env(env(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9000/ingest")]))
            .protocol(Protocol::HttpJson)
            .settings()
            .unwrap();
        assert_eq!(s.logs.endpoint, "http://logs:9000/ingest", "a per-signal endpoint is used as given");
        assert_eq!(s.traces.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(s.logs.protocol, Protocol::HttpJson);
    }

    #[test]
    fn builder_values_override_the_environment() {
        let s = Builder::new()
            .env(env(&[("OTEL_SERVICE_NAME", "from-env"), ("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=old,x=1")]))
            .service_name("from-code")
            .endpoint("https://collector.example:4318")
            .header("authorization", "Bearer new")
            .disabled(true)
            .settings()
            .unwrap();
        assert_eq!(s.service_name.as_deref(), Some("from-code"));
        assert_eq!(s.metrics.endpoint, "https://collector.example:4318/v1/metrics");
        assert_eq!(s.traces.headers, vec![("x".into(), "1".into()), ("authorization".into(), "Bearer new".into())]);
        assert!(s.disabled);
        let err = Builder::new().env(env(&[])).endpoint("collector:4318").settings().unwrap_err().to_string();
        assert!(err.contains("Builder::endpoint") && err.contains("http://"), "{err}");
    }
}
