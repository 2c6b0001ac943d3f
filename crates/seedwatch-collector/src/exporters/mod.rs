//! Exporters: each has its own bounded queue fed by the pipeline and a task that sends with
//! retries. Adding one: a folder here with a `FACTORY`, and one line in [`REGISTRY`].

mod elasticsearch;
mod file;
mod otlp;
mod runner;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_norway::{Mapping, Value};

use crate::config::{Problem, component_entries, deserialize_at, pick_signals};
use crate::pipeline::durable::DurableQueueConfig;
use crate::pipeline::{Batch, Signal};

pub(crate) use runner::{Backoff, run_exporter};

/// Every exporter type the collector knows.
pub const REGISTRY: &[ExporterFactory] = &[elasticsearch::FACTORY, file::FACTORY, otlp::FACTORY];

/// Keys every exporter entry accepts besides its own.
const COMMON_KEYS: &[&str] = &["enabled", "signals", "queue_capacity", "queue_max_bytes", "persistent_queue", "retry"];

/// gzips a request body (fast level: exporters trade ratio for CPU).
pub(crate) fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    gz.write_all(body)?;
    gz.finish()
}

/// Why an export attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Worth trying again (connection refused, 429, 5xx, disk full...).
    #[error("{0}")]
    Retryable(String),
    /// Will fail the same way every time (the data is rejected); counted and not retried.
    #[error("{0}")]
    Permanent(String),
}

/// Items the backend refused for good within a group that was otherwise delivered, per signal
/// (in [`Signal::ALL`] order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rejected([u64; 3]);

impl Rejected {
    /// Counts `n` refused items of `signal`.
    pub fn add(&mut self, signal: Signal, n: u64) {
        self.0[signal.index()] += n;
    }
    /// Refused items of `signal`.
    pub fn of(&self, signal: Signal) -> u64 {
        self.0[signal.index()]
    }
}

/// How the runner groups queued batches into one export call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    /// Stop adding batches once the group holds this many items.
    pub max_items: u64,
    /// Wait at most this long for more batches after the first.
    pub linger: Duration,
}

/// Sends batches somewhere. Owned by its runner task, so it needs no locking.
#[async_trait]
pub trait Exporter: Send {
    /// Opens files or connections; retried with backoff until it succeeds.
    async fn start(&mut self) -> Result<(), ExportError>;
    /// Sends one batch.
    async fn export(&mut self, batch: &Batch) -> Result<(), ExportError>;
    /// How to group batches for [`Exporter::export_group`]; `None` sends them one by one.
    fn grouping(&self) -> Option<Grouping> {
        None
    }
    /// Sends a group of batches (one batch unless [`Exporter::grouping`] says otherwise).
    /// `Ok` means each item was delivered or refused for good (and returned as such); on
    /// `Err` the runner may call again with the same group, so an exporter that delivered
    /// part of it should remember that or make resending harmless.
    async fn export_group(&mut self, batches: &[Arc<Batch>]) -> Result<Rejected, ExportError> {
        for batch in batches {
            self.export(batch).await?;
        }
        Ok(Rejected::default())
    }
    /// Flushes and closes after the last batch.
    async fn shutdown(&mut self) -> Result<(), ExportError>;
}

/// A parsed, validated exporter config that can build the exporter.
pub trait BuildExporter: Send + Sync + Debug {
    /// Builds the exporter; no I/O happens before [`Exporter::start`].
    fn build(&self) -> Box<dyn Exporter>;
}

/// Parses an exporter's own keys; problem paths are relative to the entry.
pub type ParseExporter = fn(Value) -> Result<Box<dyn BuildExporter>, Vec<Problem>>;

/// One registry entry: an exporter type and how to parse its config.
pub struct ExporterFactory {
    /// The `type` in `type/name` keys.
    pub kind: &'static str,
    /// Signals it can send.
    pub signals: &'static [Signal],
    /// Signals it sends when `signals` is not given.
    pub default_signals: &'static [Signal],
    /// Parses and validates the component's own keys; problem paths are relative.
    pub parse: ParseExporter,
}

/// Retry policy for failed exports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// First wait after a failure.
    #[serde(default = "default_initial", with = "humantime_serde")]
    pub initial_interval: Duration,
    /// Longest wait between attempts (the wait doubles up to this).
    #[serde(default = "default_max_interval", with = "humantime_serde")]
    pub max_interval: Duration,
    /// Give up on a batch after retrying this long; it is then counted as failed. Not used
    /// with a `persistent_queue`: there, retryable failures are retried until delivered.
    #[serde(default = "default_max_elapsed", with = "humantime_serde")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_interval: default_initial(),
            max_interval: default_max_interval(),
            max_elapsed_time: default_max_elapsed(),
        }
    }
}

fn default_initial() -> Duration {
    Duration::from_millis(500)
}
fn default_max_interval() -> Duration {
    Duration::from_secs(30)
}
fn default_max_elapsed() -> Duration {
    Duration::from_secs(300)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    #[serde(default = "crate::config::default_true", deserialize_with = "crate::config::enabled_switch")]
    enabled: bool,
    signals: Option<Vec<Signal>>,
    queue_capacity: Option<u64>,
    queue_max_bytes: Option<bytesize::ByteSize>,
    persistent_queue: Option<DurableQueueConfig>,
    #[serde(default)]
    retry: RetryConfig,
}

/// A configured exporter, ready to build.
#[derive(Debug)]
pub struct ExporterSpec {
    /// `type` or `type/name`; the `exporter` label.
    pub name: String,
    /// Signals routed to it.
    pub signals: Vec<Signal>,
    /// Its queue's capacity in items; `None` means the pipeline default.
    pub queue_capacity: Option<u64>,
    /// Its queue's capacity in bytes (of batches held against the memory limiter); `None`
    /// means the pipeline default.
    pub queue_max_bytes: Option<bytesize::ByteSize>,
    /// Keep its queue on disk instead (then `queue_capacity` does not apply).
    pub persistent_queue: Option<DurableQueueConfig>,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Its own parsed config.
    pub config: Box<dyn BuildExporter>,
}

fn validate_common(c: &Common, path: &str, problems: &mut Vec<Problem>) {
    if c.queue_capacity == Some(0) {
        problems.push(Problem::found_expected(format!("{path}.queue_capacity"), 0, "a number of items greater than 0"));
    }
    if c.queue_max_bytes.is_some_and(|b| b.as_u64() < 1024 * 1024) {
        problems.push(Problem::found_expected(
            format!("{path}.queue_max_bytes"),
            c.queue_max_bytes.unwrap_or_default(),
            "at least 1MiB",
        ));
    }
    if let Some(q) = &c.persistent_queue {
        q.validate(path, problems);
        for (key, set) in
            [("queue_capacity", c.queue_capacity.is_some()), ("queue_max_bytes", c.queue_max_bytes.is_some())]
        {
            if set {
                problems.push(Problem::new(
                    format!("{path}.{key}"),
                    "does not apply with `persistent_queue` (bounded by `persistent_queue.max_size`); remove one",
                ));
            }
        }
    }
    let r = &c.retry;
    if r.initial_interval.is_zero() || r.initial_interval > r.max_interval {
        problems.push(Problem::found_expected(
            format!("{path}.retry.initial_interval"),
            humantime::format_duration(r.initial_interval),
            "a positive duration no longer than `retry.max_interval`",
        ));
    }
}

/// Parses every entry of `exporters:`, keeping the enabled ones.
pub fn parse_all(map: &Mapping, problems: &mut Vec<Problem>) -> Vec<ExporterSpec> {
    let kinds: Vec<&str> = REGISTRY.iter().map(|f| f.kind).collect();
    let mut specs = Vec::new();
    for entry in component_entries(map, "exporters", COMMON_KEYS, &kinds, problems) {
        let Some(factory) = REGISTRY.iter().find(|f| f.kind == entry.kind) else { continue };
        let common: Common = match deserialize_at(entry.common, &entry.path) {
            Ok(c) => c,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        validate_common(&common, &entry.path, problems);
        let chosen = common.signals.or_else(|| Some(factory.default_signals.to_vec()));
        let signals = match pick_signals(chosen, factory.signals, &entry.path) {
            Ok(s) => s,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        match (factory.parse)(entry.own) {
            Ok(config) if common.enabled => specs.push(ExporterSpec {
                name: entry.name,
                signals,
                queue_capacity: common.queue_capacity,
                queue_max_bytes: common.queue_max_bytes,
                persistent_queue: common.persistent_queue,
                retry: common.retry,
                config,
            }),
            Ok(_) => {}
            Err(own) => problems.extend(own.into_iter().map(|p| p.under(&entry.path))),
        }
    }
    specs
}
