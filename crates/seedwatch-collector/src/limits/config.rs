//! The `limits` section of the config.

use serde::Deserialize;

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
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { max_string_bytes: default_max_string_bytes() }
    }
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
    }
}
