//! Exporter settings from the standard `OTEL_*` environment variables, as the OpenTelemetry
//! SDK configuration specification defines them. Pure: the variables come through a lookup
//! function, so tests need no process environment.

use std::time::Duration;

use crate::InitError;

/// The wire protocol of an OTLP exporter (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC (`grpc`), default port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`), default port 4318. The specification's
    /// default.
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (`http/json`).
    HttpJson,
}

impl Protocol {
    /// Parses the specification's spelling.
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.trim() {
            "grpc" => Some(Protocol::Grpc),
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            "http/json" => Some(Protocol::HttpJson),
            _ => None,
        }
    }

    pub(crate) fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf | Protocol::HttpJson => "http://localhost:4318",
        }
    }
}

/// One of the three signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metrics.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// The upper-case name in per-signal variables (`TRACES`).
    pub(crate) fn env_name(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }

    /// The OTLP/HTTP path appended to a base endpoint.
    fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Metrics => "v1/metrics",
            Signal::Logs => "v1/logs",
        }
    }
}

/// Where and how one signal is exported.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalTarget {
    /// The full URL: for OTLP/HTTP with the signal's path, for gRPC the server's address.
    pub endpoint: String,
    /// The protocol.
    pub protocol: Protocol,
    /// Headers (gRPC metadata) sent with every export, e.g. for authentication.
    pub headers: Vec<(String, String)>,
    /// Time limit of one export.
    pub timeout: Duration,
    /// TLS files for an `https://` endpoint.
    pub tls: TlsFiles,
}

/// `OTEL_EXPORTER_OTLP_CERTIFICATE`, `_CLIENT_KEY` and `_CLIENT_CERTIFICATE` (or the
/// per-signal variants): PEM files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsFiles {
    /// CA certificates to trust instead of the public roots.
    pub certificate: Option<String>,
    /// Our private key, for a server that asks for a client certificate.
    pub client_key: Option<String>,
    /// Our certificate chain.
    pub client_certificate: Option<String>,
}

/// Everything the environment says about exporting.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSettings {
    /// `OTEL_SDK_DISABLED=true`: no exporters are built; instrumentation is a no-op.
    pub disabled: bool,
    /// `OTEL_SERVICE_NAME`.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, in order.
    pub resource_attributes: Vec<(String, String)>,
    /// Traces, metrics and logs targets.
    pub traces: SignalTarget,
    /// See [`EnvSettings::traces`].
    pub metrics: SignalTarget,
    /// See [`EnvSettings::traces`].
    pub logs: SignalTarget,
    /// `OTEL_METRIC_EXPORT_INTERVAL` (default 60 s).
    pub metric_interval: Duration,
    /// `OTEL_BSP_MAX_QUEUE_SIZE` / `OTEL_BLRP_MAX_QUEUE_SIZE` (default 2048): spans or log
    /// records buffered while the backend is slow or down, then dropped and counted.
    pub span_queue: usize,
    /// See [`EnvSettings::span_queue`].
    pub log_queue: usize,
}

/// Default export time limit (the specification's 10 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default buffer of spans and log records per signal.
const DEFAULT_QUEUE: usize = 2048;

impl EnvSettings {
    /// The three signals' targets.
    pub(crate) fn targets(&self) -> [&SignalTarget; 3] {
        [&self.traces, &self.metrics, &self.logs]
    }

    /// The three signals' targets, with their signal.
    pub(crate) fn targets_mut(&mut self) -> [(Signal, &mut SignalTarget); 3] {
        [(Signal::Traces, &mut self.traces), (Signal::Metrics, &mut self.metrics), (Signal::Logs, &mut self.logs)]
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, InitError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`; an empty value counts as unset, as the specification
    /// says.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InitError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let disabled = match get("OTEL_SDK_DISABLED") {
            None => false,
            Some(v) => parse_bool("OTEL_SDK_DISABLED", &v)?,
        };
        let protocol = match get("OTEL_EXPORTER_OTLP_PROTOCOL") {
            None => Protocol::HttpProtobuf,
            Some(v) => parse_protocol("OTEL_EXPORTER_OTLP_PROTOCOL", &v)?,
        };
        let base = get("OTEL_EXPORTER_OTLP_ENDPOINT");
        let headers = match get("OTEL_EXPORTER_OTLP_HEADERS") {
            None => Vec::new(),
            Some(v) => parse_pairs("OTEL_EXPORTER_OTLP_HEADERS", &v)?,
        };
        let timeout = match get("OTEL_EXPORTER_OTLP_TIMEOUT") {
            None => DEFAULT_TIMEOUT,
            Some(v) => Duration::from_millis(parse_number("OTEL_EXPORTER_OTLP_TIMEOUT", &v)?),
        };
        let target = |signal: Signal| -> Result<SignalTarget, InitError> {
            let var = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{}_{suffix}", signal.env_name());
            let protocol = match get(&var("PROTOCOL")) {
                None => protocol,
                Some(v) => parse_protocol(&var("PROTOCOL"), &v)?,
            };
            let endpoint = match (get(&var("ENDPOINT")), &base) {
                (Some(own), _) => check_url(own.trim(), &var("ENDPOINT"))?.to_owned(),
                (None, Some(base)) => {
                    signal_url(check_url(base.trim(), "OTEL_EXPORTER_OTLP_ENDPOINT")?, protocol, signal)
                }
                (None, None) => signal_url(protocol.default_endpoint(), protocol, signal),
            };
            let mut all_headers = headers.clone();
            if let Some(v) = get(&var("HEADERS")) {
                for (k, v) in parse_pairs(&var("HEADERS"), &v)? {
                    all_headers.retain(|(key, _)| !key.eq_ignore_ascii_case(&k));
                    all_headers.push((k, v));
                }
            }
            let timeout = match get(&var("TIMEOUT")) {
                None => timeout,
                Some(v) => Duration::from_millis(parse_number(&var("TIMEOUT"), &v)?),
            };
            let file = |suffix: &str| get(&var(suffix)).or_else(|| get(&format!("OTEL_EXPORTER_OTLP_{suffix}")));
            let tls = TlsFiles {
                certificate: file("CERTIFICATE"),
                client_key: file("CLIENT_KEY"),
                client_certificate: file("CLIENT_CERTIFICATE"),
            };
            if tls.client_key.is_some() != tls.client_certificate.is_some() {
                return Err(InitError::Invalid {
                    variable: var("CLIENT_CERTIFICATE"),
                    value: tls.client_certificate.clone().unwrap_or_default(),
                    expected: "set together with OTEL_EXPORTER_OTLP_CLIENT_KEY (or neither)",
                });
            }
            Ok(SignalTarget { endpoint, protocol, headers: all_headers, timeout, tls })
        };
        let metric_interval = match get("OTEL_METRIC_EXPORT_INTERVAL") {
            None => Duration::from_secs(60),
            Some(v) => Duration::from_millis(parse_number("OTEL_METRIC_EXPORT_INTERVAL", &v)?.max(1)),
        };
        let queue = |name: &str| -> Result<usize, InitError> {
            match get(name) {
                None => Ok(DEFAULT_QUEUE),
                Some(v) => Ok(usize::try_from(parse_number(name, &v)?.max(1)).unwrap_or(usize::MAX)),
            }
        };
        Ok(EnvSettings {
            disabled,
            service_name: get("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()),
            resource_attributes: match get("OTEL_RESOURCE_ATTRIBUTES") {
                None => Vec::new(),
                Some(v) => parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &v)?,
            },
            traces: target(Signal::Traces)?,
            metrics: target(Signal::Metrics)?,
            logs: target(Signal::Logs)?,
            metric_interval,
            span_queue: queue("OTEL_BSP_MAX_QUEUE_SIZE")?,
            log_queue: queue("OTEL_BLRP_MAX_QUEUE_SIZE")?,
        })
    }
}

/// The URL of one signal under a base endpoint: OTLP/HTTP appends `v1/<signal>`, gRPC does not.
pub(crate) fn signal_url(base: &str, protocol: Protocol, signal: Signal) -> String {
    match protocol {
        Protocol::Grpc => base.to_owned(),
        Protocol::HttpProtobuf | Protocol::HttpJson => {
            format!("{}/{}", base.trim_end_matches('/'), signal.http_path())
        }
    }
}

fn check_url<'a>(url: &'a str, var: &str) -> Result<&'a str, InitError> {
    let ok = ["http://", "https://"].iter().any(|s| url.len() > s.len() && url.starts_with(s));
    if ok {
        Ok(url)
    } else {
        Err(InitError::Invalid {
            variable: var.to_owned(),
            value: url.to_owned(),
            expected: "an http:// or https:// URL, e.g. http://localhost:4318",
        })
    }
}

fn parse_bool(var: &str, v: &str) -> Result<bool, InitError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(InitError::Invalid { variable: var.to_owned(), value: v.to_owned(), expected: "true or false" }),
    }
}

fn parse_protocol(var: &str, v: &str) -> Result<Protocol, InitError> {
    Protocol::parse(v).ok_or_else(|| InitError::Invalid {
        variable: var.to_owned(),
        value: v.to_owned(),
        expected: "grpc, http/protobuf or http/json",
    })
}

fn parse_number(var: &str, v: &str) -> Result<u64, InitError> {
    v.trim().parse().map_err(|_| InitError::Invalid {
        variable: var.to_owned(),
        value: v.to_owned(),
        expected: "a whole number of milliseconds or items",
    })
}

/// `key1=value1,key2=value2` with percent-encoded values (W3C baggage octets), as
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES` use.
fn parse_pairs(var: &str, text: &str) -> Result<Vec<(String, String)>, InitError> {
    let bad = || InitError::Invalid {
        variable: var.to_owned(),
        value: redact_pairs(text),
        expected: "comma-separated key=value pairs with percent-encoded values",
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(bad)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(bad());
        }
        out.push((key.to_owned(), percent_decode(value.trim()).ok_or_else(bad)?));
    }
    Ok(out)
}

/// A pairs list with its values hidden: headers usually carry credentials, and errors are
/// printed.
fn redact_pairs(text: &str) -> String {
    text.split(',')
        .map(|p| p.split_once('=').map_or("?", |(k, _)| k).trim().to_owned() + "=…")
        .collect::<Vec<_>>()
        .join(",")
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<EnvSettings, InitError> {
        EnvSettings::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_follow_the_specification() {
        let s = settings(&[]).unwrap();
        assert!(!s.disabled);
        assert_eq!(s.traces.protocol, Protocol::HttpProtobuf);
        assert_eq!(s.traces.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(s.metrics.endpoint, "http://localhost:4318/v1/metrics");
        assert_eq!(s.logs.endpoint, "http://localhost:4318/v1/logs");
        assert_eq!(s.traces.timeout, Duration::from_secs(10));
        assert_eq!(s.metric_interval, Duration::from_secs(60));
        assert_eq!(s.span_queue, 2048);
    }

    #[test]
    fn base_endpoint_gets_signal_paths_for_http_only() {
        let s = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap();
        assert_eq!(s.logs.endpoint, "http://collector:4318/v1/logs");
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap();
        assert_eq!(s.traces.endpoint, "http://collector:4317");
        assert_eq!(s.traces.protocol, Protocol::Grpc);
    }

    #[test]
    fn per_signal_variables_win_and_are_used_as_given() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:9999/custom"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20abc,x-team=seed"),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "Authorization=Basic%20xyz"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "2500"),
        ])
        .unwrap();
        assert_eq!(s.traces.endpoint, "http://b:9999/custom");
        assert_eq!(s.metrics.protocol, Protocol::HttpJson);
        assert_eq!(s.metrics.endpoint, "http://a:4318/v1/metrics");
        assert_eq!(
            s.traces.headers,
            vec![("authorization".into(), "Bearer abc".into()), ("x-team".into(), "seed".into())]
        );
        assert_eq!(
            s.logs.headers,
            vec![("x-team".into(), "seed".into()), ("Authorization".into(), "Basic xyz".into())]
        );
        assert_eq!(s.logs.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn service_and_resource_attributes() {
        let s = settings(&[
            ("OTEL_SERVICE_NAME", "modelseed-agent"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod, team=metabolic%2Cmodels"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ])
        .unwrap();
        assert_eq!(s.service_name.as_deref(), Some("modelseed-agent"));
        assert_eq!(
            s.resource_attributes,
            vec![("deployment.environment.name".into(), "prod".into()), ("team".into(), "metabolic,models".into())]
        );
        assert!(s.disabled);
    }

    #[test]
    fn invalid_values_name_the_variable_and_hide_header_values() {
        let err = settings(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http")]).unwrap_err().to_string();
        assert!(
            err.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && err.contains("grpc, http/protobuf or http/json"),
            "{err}"
        );
        let err = settings(&[("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%zzsecret")]).unwrap_err().to_string();
        assert!(err.contains("OTEL_EXPORTER_OTLP_HEADERS") && !err.contains("secret"), "{err}");
        let err = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317")]).unwrap_err().to_string();
        assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT") && err.contains("localhost:4317"), "{err}");
        assert!(settings(&[("OTEL_SDK_DISABLED", "yes")]).is_err());
        assert!(settings(&[("OTEL_METRIC_EXPORT_INTERVAL", "5s")]).is_err());
    }

    #[test]
    fn empty_values_count_as_unset() {
        let s = settings(&[("OTEL_EXPORTER_OTLP_PROTOCOL", ""), ("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]).unwrap();
        assert_eq!(s.traces.endpoint, "http://localhost:4318/v1/traces");
    }
}
