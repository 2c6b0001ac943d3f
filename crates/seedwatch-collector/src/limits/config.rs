//! The `limits` section of the config.

use std::time::Duration;

use bytesize::ByteSize;
use serde::{Deserialize, Deserializer};

use super::strings::{DEFAULT_MAX_STRING_BYTES, MIN_MAX_STRING_BYTES};
use crate::config::{Problem, Validate};

/// Process-wide limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest string kept beyond its request (agent ids, service and check names, label
    /// values, alert labels, workflow names), in bytes; longer ones are cut visibly and counted.
    #[serde(default = "default_max_string_bytes")]
    pub max_string_bytes: usize,
    /// The memory limiter.
    #[serde(default)]
    pub memory: MemoryConfig,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { max_string_bytes: default_max_string_bytes(), memory: MemoryConfig::default() }
    }
}

/// `limits.memory`: the bytes of data queued and in flight, and the process's resident memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    /// `auto` (80% of the cgroup's memory limit when there is one, else 1 GiB) or a size:
    /// what the process's resident memory is kept under.
    #[serde(default, deserialize_with = "memory_limit")]
    pub limit: MemoryLimit,
    /// Above this fraction of the limit (data held plus the process's own memory) new data is
    /// refused; between it and the limit requests already being read may still grow.
    #[serde(default = "default_soft_limit_ratio")]
    pub soft_limit_ratio: f64,
    /// How often resident memory is read while data arrives (each read costs about 15 µs);
    /// idle, the pause grows to 1 s and the next arrival wakes the sampler.
    #[serde(default = "default_check_interval", with = "humantime_serde")]
    pub check_interval: Duration,
    /// Count the process's resident memory beyond the data it holds against the limits (turn
    /// off only where the process holds memory that is not the collector's, as when embedded).
    #[serde(default = "crate::config::default_true")]
    pub watch_resident: bool,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            limit: MemoryLimit::Auto,
            soft_limit_ratio: default_soft_limit_ratio(),
            check_interval: default_check_interval(),
            watch_resident: true,
        }
    }
}

/// `limits.memory.limit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemoryLimit {
    /// From the cgroup, else [`FALLBACK_MEMORY_LIMIT`].
    #[default]
    Auto,
    /// As configured.
    Bytes(ByteSize),
}

/// The limit without a cgroup limit to derive it from.
pub const FALLBACK_MEMORY_LIMIT: ByteSize = ByteSize::gib(1);
/// Share of the cgroup limit taken by `auto`: the rest is for the process itself.
const CGROUP_SHARE: f64 = 0.8;
/// Smallest limit accepted: below it the collector's own state does not fit.
const MIN_MEMORY_LIMIT: ByteSize = ByteSize::mib(64);

fn memory_limit<'de, D: Deserializer<'de>>(d: D) -> Result<MemoryLimit, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim() == "auto" {
        return Ok(MemoryLimit::Auto);
    }
    text.trim()
        .parse::<ByteSize>()
        .map(MemoryLimit::Bytes)
        .map_err(|_| serde::de::Error::custom(format!("expected `auto` or a size such as `512MiB`, found `{text}`")))
}

impl MemoryConfig {
    /// The limit and soft limit in bytes, and where the limit came from (for the log).
    pub fn resolve(&self, cgroup_limit: Option<u64>) -> (u64, u64, String) {
        let (limit, source) = match (self.limit, cgroup_limit) {
            (MemoryLimit::Bytes(b), _) => (b.as_u64(), "limits.memory.limit".to_owned()),
            (MemoryLimit::Auto, Some(cgroup)) => {
                ((cgroup as f64 * CGROUP_SHARE) as u64, format!("80% of the cgroup limit of {}", ByteSize(cgroup)))
            }
            (MemoryLimit::Auto, None) => (FALLBACK_MEMORY_LIMIT.as_u64(), "no cgroup limit: the default".to_owned()),
        };
        (limit, (limit as f64 * self.soft_limit_ratio) as u64, source)
    }
}

fn default_soft_limit_ratio() -> f64 {
    0.8
}
fn default_check_interval() -> Duration {
    Duration::from_millis(20)
}

fn default_max_string_bytes() -> usize {
    DEFAULT_MAX_STRING_BYTES
}

/// Largest `max_string_bytes` accepted: past it the cap no longer bounds memory usefully.
const MAX_MAX_STRING_BYTES: usize = 64 * 1024;

impl Validate for LimitsConfig {
    fn validate(&self, problems: &mut Vec<Problem>) {
        if !(MIN_MAX_STRING_BYTES..=MAX_MAX_STRING_BYTES).contains(&self.max_string_bytes) {
            problems.push(Problem::found_expected(
                "max_string_bytes",
                self.max_string_bytes,
                format!("a number of bytes between {MIN_MAX_STRING_BYTES} and {MAX_MAX_STRING_BYTES}, e.g. 256"),
            ));
        }
        let m = &self.memory;
        if let MemoryLimit::Bytes(b) = m.limit
            && b < MIN_MEMORY_LIMIT
        {
            problems.push(Problem::found_expected("memory.limit", b, "`auto` or at least 64MiB"));
        }
        if !(m.soft_limit_ratio > 0.0 && m.soft_limit_ratio <= 1.0) {
            problems.push(Problem::found_expected(
                "memory.soft_limit_ratio",
                m.soft_limit_ratio,
                "a fraction of the limit in (0, 1], e.g. 0.8",
            ));
        }
        if m.check_interval < Duration::from_millis(10) || m.check_interval > Duration::from_secs(10) {
            problems.push(Problem::found_expected(
                "memory.check_interval",
                humantime::format_duration(m.check_interval),
                "between 10ms and 10s",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> LimitsConfig {
        serde_norway::from_str(yaml).expect("yaml")
    }

    #[test]
    fn the_memory_limit_is_auto_or_a_size() {
        let auto = parse("{}");
        assert_eq!(auto.memory.resolve(None).0, FALLBACK_MEMORY_LIMIT.as_u64());
        let (limit, soft, source) = auto.memory.resolve(Some(1 << 30));
        assert_eq!((limit, soft), (858_993_459, 687_194_767));
        assert!(source.contains("cgroup"), "{source}");
        let fixed = parse("memory: {limit: 256MiB, soft_limit_ratio: 0.5}");
        assert_eq!(fixed.memory.resolve(Some(1 << 30)).0, 256 << 20, "a configured limit wins");
        assert_eq!(fixed.memory.resolve(None).1, 128 << 20);
        let err = serde_norway::from_str::<LimitsConfig>("memory: {limit: lots}").expect_err("bad");
        assert!(err.to_string().contains("expected `auto` or a size"), "{err}");
    }

    #[test]
    fn validate_rejects_limits_that_cannot_work() {
        let mut problems = Vec::new();
        parse("{max_string_bytes: 8, memory: {limit: 1MiB, soft_limit_ratio: 2}}").validate(&mut problems);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["max_string_bytes", "memory.limit", "memory.soft_limit_ratio"]);
    }
}
