//! Config of the `elasticsearch` exporter.

use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

use crate::config::{Problem, Validate, check_http_url};

/// Where, how and in what shape documents go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchConfig {
    /// The cluster, e.g. `https://elasticsearch:9200`.
    pub endpoint: String,
    /// Field names: `ecs` (Elastic Common Schema) or `raw` (OpenTelemetry's own names).
    #[serde(default)]
    pub mapping: MappingMode,
    /// Index (or data stream) name per kind of record.
    #[serde(default)]
    pub indices: Indices,
    /// `daily`: `<name>-YYYY.MM.DD` from each record's time (UTC); `fixed`: the name as is;
    /// `data_stream`: the name is a data stream (documents are created, never overwritten).
    #[serde(default)]
    pub index_mode: IndexMode,
    /// Install an index template per kind with explicit mappings before the first write.
    #[serde(default = "crate::config::default_true")]
    pub install_templates: bool,
    /// Credentials, if the cluster wants them.
    pub auth: Option<Auth>,
    /// A CA to trust besides the system's (PEM), for clusters with their own certificates.
    pub ca_file: Option<PathBuf>,
    /// gzip request bodies.
    #[serde(default = "crate::config::default_true")]
    pub gzip: bool,
    /// Per bulk request.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How documents are grouped into bulk requests.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Bulk requests in flight at once.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    /// Documents Elasticsearch refuses for good (mapping errors, other 4xx) are appended here
    /// as JSON lines with its error; without it they are only logged and counted.
    pub dead_letter_file: Option<PathBuf>,
    /// Which log records are audit and security events (the audit index).
    #[serde(default)]
    pub audit: AuditRouting,
}

/// Field naming of documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MappingMode {
    /// Elastic Common Schema: `log.level`, `trace.id`, `service.name`, `labels.*`...
    #[default]
    Ecs,
    /// OpenTelemetry names as received: `severity_text`, `attributes.*`, `resource.attributes.*`.
    Raw,
}

/// How index names are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IndexMode {
    /// `<name>-YYYY.MM.DD`.
    #[default]
    Daily,
    /// `<name>`.
    Fixed,
    /// `<name>` is a data stream.
    DataStream,
}

/// Index names per record kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Indices {
    /// Log records that are none of the kinds below.
    pub logs: String,
    /// Spans.
    pub traces: String,
    /// Audit and security events.
    pub audit: String,
    /// Alerts the collector raised or resolved.
    pub alerts: String,
    /// Workflow summaries, one document per workflow.
    pub workflows: String,
}

impl Default for Indices {
    fn default() -> Self {
        Indices {
            logs: "modelseed-logs".into(),
            traces: "modelseed-traces".into(),
            audit: "modelseed-audit".into(),
            alerts: "modelseed-alerts".into(),
            workflows: "modelseed-workflows".into(),
        }
    }
}

/// Credentials: at most one of the three; empty values count as not given (so the default
/// config can take them from environment variables that may be unset).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// HTTP basic.
    pub basic: Option<Basic>,
    /// An Elasticsearch API key (the base64 `id:key` form), sent as `ApiKey ...`.
    pub api_key: Option<String>,
    /// A bearer token.
    pub bearer: Option<String>,
}

/// HTTP basic credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basic {
    /// User.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Bulk request sizing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Documents per bulk request at most; also how many items are gathered before sending.
    pub max_docs: usize,
    /// Uncompressed bytes per bulk request at most.
    pub max_bytes: ByteSize,
    /// Wait at most this long for more data before sending a partial batch.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { max_docs: 5000, max_bytes: ByteSize::mib(5), flush_interval: Duration::from_secs(1) }
    }
}

/// Which log records go to the audit index.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditRouting {
    /// Logger (instrumentation scope) names, e.g. the guide's `modelseed.security`.
    pub loggers: Vec<String>,
    /// `event.name` prefixes.
    pub event_prefixes: Vec<String>,
}

impl Default for AuditRouting {
    fn default() -> Self {
        AuditRouting {
            loggers: vec!["modelseed.security".into(), "seedwatch.audit".into()],
            event_prefixes: vec!["audit.".into(), "security.".into()],
        }
    }
}

impl Auth {
    /// Basic credentials, if a user name is given.
    pub fn basic(&self) -> Option<&Basic> {
        self.basic.as_ref().filter(|b| !b.username.is_empty())
    }
    /// The API key, if given.
    pub fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref().filter(|k| !k.is_empty())
    }
    /// The bearer token, if given.
    pub fn bearer(&self) -> Option<&str> {
        self.bearer.as_deref().filter(|t| !t.is_empty())
    }
}

impl ElasticsearchConfig {
    /// The CA file, if one is given (an empty path means none).
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.ca_file.as_deref().filter(|p| !p.as_os_str().is_empty())
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_in_flight() -> usize {
    2
}

impl Validate for ElasticsearchConfig {
    fn validate(&self, problems: &mut Vec<Problem>) {
        check_http_url(&self.endpoint, "endpoint", "a URL such as `http://elasticsearch:9200`", problems);
        let names = [
            ("logs", &self.indices.logs),
            ("traces", &self.indices.traces),
            ("audit", &self.indices.audit),
            ("alerts", &self.indices.alerts),
            ("workflows", &self.indices.workflows),
        ];
        for (kind, name) in names {
            let bad = name.is_empty()
                || name.starts_with(['-', '_', '+'])
                || name.chars().any(|c| c.is_ascii_uppercase() || " \"*\\<|,>/?#:".contains(c));
            if bad {
                problems.push(Problem::found_expected(
                    format!("indices.{kind}"),
                    name,
                    "a lower-case Elasticsearch index name such as `modelseed-logs`",
                ));
            }
        }
        if let Some(ca) = self.ca_file()
            && !ca.is_file()
        {
            problems.push(Problem::found_expected("ca_file", ca.display(), "a readable PEM file"));
        }
        if self.timeout.is_zero() {
            problems.push(Problem::new("timeout", "must be longer than 0s, e.g. 30s"));
        }
        if self.batch.max_docs == 0 {
            problems.push(Problem::found_expected("batch.max_docs", 0, "a number of documents greater than 0"));
        }
        if self.batch.max_bytes.as_u64() < 1024 {
            problems.push(Problem::found_expected("batch.max_bytes", self.batch.max_bytes, "at least 1KiB, e.g. 5MiB"));
        }
        if self.max_in_flight == 0 || self.max_in_flight > 64 {
            problems.push(Problem::found_expected("max_in_flight", self.max_in_flight, "between 1 and 64"));
        }
        if let Some(auth) = &self.auth {
            let given = [auth.basic().is_some(), auth.api_key().is_some(), auth.bearer().is_some()];
            if given.iter().filter(|g| **g).count() > 1 {
                problems.push(Problem::new("auth", "give only one of `basic`, `api_key` or `bearer`"));
            }
            if auth.basic.as_ref().is_some_and(|b| b.username.is_empty() && !b.password.is_empty()) {
                problems.push(Problem::new("auth.basic.username", "must not be empty when a password is given"));
            }
        }
    }
}
