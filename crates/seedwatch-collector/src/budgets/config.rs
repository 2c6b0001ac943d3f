//! Budget definitions and where their spend is kept.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

use super::period::Period;
use crate::config::Problem;

/// LLM cost budgets (`agent_metrics.budgets`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetsConfig {
    /// Time zone of calendar periods (IANA name such as `Europe/Berlin`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Where spend is persisted.
    #[serde(default)]
    pub store: StoreConfig,
    /// No exhaustion-forecast alert before this much of a period has passed (early rates are noise).
    #[serde(default = "default_forecast_after", with = "humantime_serde")]
    pub forecast_after: Duration,
    /// The budgets, by name (the `budget` label).
    #[serde(default)]
    pub limits: BTreeMap<String, BudgetConfig>,
}

impl Default for BudgetsConfig {
    fn default() -> Self {
        BudgetsConfig {
            timezone: default_timezone(),
            store: StoreConfig::default(),
            forecast_after: default_forecast_after(),
            limits: BTreeMap::new(),
        }
    }
}

fn default_timezone() -> String {
    "UTC".to_owned()
}
fn default_forecast_after() -> Duration {
    Duration::from_secs(3600)
}

/// The embedded store (redb).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The database file (its directory is created).
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// Spend is written this often: a crash loses at most this much.
    #[serde(default = "default_flush_interval", with = "humantime_serde")]
    pub flush_interval: Duration,
    /// A span is charged at most once, remembered this long after its end time; spans that
    /// ended longer ago than this when they arrive are not charged at all (counted).
    #[serde(default = "default_dedupe_window", with = "humantime_serde")]
    pub dedupe_window: Duration,
    /// Spans ending further than this in the future (the sender's clock is off) are not
    /// charged (counted).
    #[serde(default = "default_max_clock_skew", with = "humantime_serde")]
    pub max_clock_skew: Duration,
    /// Memory for the marks of recently charged spans (about 16 bytes each); older marks are
    /// looked up on disk.
    #[serde(default = "default_dedupe_memory")]
    pub dedupe_memory: ByteSize,
    /// Disk for the marks (about 48 bytes each); beyond it the oldest are forgotten early and
    /// the window shrinks (`seedwatch_budget_dedupe_window_seconds` shows it).
    #[serde(default = "default_dedupe_max_disk")]
    pub dedupe_max_disk: ByteSize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_path(),
            flush_interval: default_flush_interval(),
            dedupe_window: default_dedupe_window(),
            max_clock_skew: default_max_clock_skew(),
            dedupe_memory: default_dedupe_memory(),
            dedupe_max_disk: default_dedupe_max_disk(),
        }
    }
}

/// Memory per mark held in memory (a 64-bit fingerprint in a hash set, with its slack).
pub(super) const MEMORY_BYTES_PER_MARK: u64 = 16;

impl StoreConfig {
    /// Marks held in memory at most.
    pub(super) fn max_memory_marks(&self) -> usize {
        (self.dedupe_memory.as_u64() / MEMORY_BYTES_PER_MARK) as usize
    }

    /// Marks kept on disk at most.
    pub(super) fn max_disk_marks(&self) -> u64 {
        self.dedupe_max_disk.as_u64() / super::store::BYTES_PER_MARK
    }
}

fn default_path() -> PathBuf {
    PathBuf::from(".seedwatch/budgets.redb")
}
fn default_flush_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_dedupe_window() -> Duration {
    Duration::from_secs(86_400)
}
fn default_max_clock_skew() -> Duration {
    Duration::from_secs(300)
}
fn default_dedupe_memory() -> ByteSize {
    ByteSize::mib(32)
}
fn default_dedupe_max_disk() -> ByteSize {
    ByteSize::gib(1)
}

/// One budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// The limit in US dollars per period.
    pub limit_usd: f64,
    /// `day`, `week`, `month`, or a duration such as `1h`.
    #[serde(default = "default_period")]
    pub period: Period,
    /// Fractions of the limit that raise an alert (1.0 and above: critical).
    #[serde(default = "default_thresholds")]
    pub thresholds: Vec<f64>,
    /// Which LLM calls count; empty: all.
    #[serde(default)]
    pub scope: Scope,
}

fn default_period() -> Period {
    Period::Day
}
fn default_thresholds() -> Vec<f64> {
    vec![0.5, 0.8, 1.0]
}

/// Filters; every one given must match.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The call's provider (`openai`, `anthropic`, ...).
    pub provider: Option<String>,
    /// The call's model as priced (response model, else request model).
    pub model: Option<String>,
    /// The agent's `service.name`.
    pub service: Option<String>,
    /// The workflow type on the LLM span itself (`gen_ai.workflow.name`, `traceloop.workflow.name`).
    pub workflow_type: Option<String>,
    /// Resource attributes, e.g. `{tenant: acme}`.
    #[serde(default)]
    pub resource: BTreeMap<String, String>,
}

impl Scope {
    /// `global` when nothing is filtered, else the filters as `key=value` pairs.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let fields = [
            ("provider", &self.provider),
            ("model", &self.model),
            ("service", &self.service),
            ("workflow_type", &self.workflow_type),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        }
        parts.extend(self.resource.iter().map(|(k, v)| format!("{k}={v}")));
        if parts.is_empty() { "global".to_owned() } else { parts.join(",") }
    }
}

impl BudgetsConfig {
    /// Pushes a problem for every bad value; paths under `path`.
    pub fn validate(&self, path: &str, problems: &mut Vec<Problem>) {
        if jiff::tz::TimeZone::get(&self.timezone).is_err() {
            problems.push(Problem::found_expected(
                format!("{path}.timezone"),
                &self.timezone,
                "an IANA time zone such as `UTC` or `Europe/Berlin`",
            ));
        }
        if self.store.flush_interval < Duration::from_millis(10) {
            problems.push(Problem::new(format!("{path}.store.flush_interval"), "must be at least 10ms, e.g. 1s"));
        }
        let store = |k: &str| format!("{path}.store.{k}");
        if self.store.dedupe_window < Duration::from_secs(60)
            || self.store.dedupe_window > Duration::from_secs(90 * 86_400)
        {
            problems.push(Problem::found_expected(
                store("dedupe_window"),
                humantime::format_duration(self.store.dedupe_window),
                "a duration between 1m and 90d, e.g. 24h",
            ));
        }
        if self.store.max_clock_skew > self.store.dedupe_window {
            problems.push(Problem::found_expected(
                store("max_clock_skew"),
                humantime::format_duration(self.store.max_clock_skew),
                "at most dedupe_window, e.g. 5m",
            ));
        }
        if self.store.dedupe_memory < ByteSize::kib(64) {
            problems.push(Problem::found_expected(
                store("dedupe_memory"),
                self.store.dedupe_memory,
                "at least 64KiB, e.g. 32MiB",
            ));
        }
        if self.store.dedupe_max_disk < ByteSize::mib(1) {
            problems.push(Problem::found_expected(
                store("dedupe_max_disk"),
                self.store.dedupe_max_disk,
                "at least 1MiB, e.g. 1GiB",
            ));
        }
        if !self.limits.is_empty() && self.store.path.as_os_str().is_empty() {
            problems.push(Problem::new(format!("{path}.store.path"), "a file for the budgets' spend is needed"));
        }
        for (name, b) in &self.limits {
            let at = |k: &str| format!("{path}.limits.{name}.{k}");
            let label_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !label_ok {
                problems.push(Problem::found_expected(
                    format!("{path}.limits"),
                    name,
                    "a name of letters, digits, `-`, `_` or `.`",
                ));
            }
            if !(b.limit_usd.is_finite() && b.limit_usd > 0.0) {
                problems.push(Problem::found_expected(at("limit_usd"), b.limit_usd, "an amount in USD above 0"));
            }
            if b.thresholds.is_empty() || b.thresholds.iter().any(|t| !(t.is_finite() && *t > 0.0 && *t <= 10.0)) {
                problems.push(Problem::new(
                    at("thresholds"),
                    "must be fractions of the limit in (0, 10], e.g. [0.5, 0.8, 1.0]",
                ));
            }
        }
    }
}
