//! Config of an exporter's `persistent_queue`.

use std::path::PathBuf;

use bytesize::ByteSize;
use serde::Deserialize;

use crate::config::Problem;

/// Where and how big.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurableQueueConfig {
    /// Parent directory; each exporter gets a sub-directory named after it.
    pub directory: PathBuf,
    /// Disk space the queue may take; at the cap the pipeline waits and receivers answer the
    /// OTLP retryable status.
    #[serde(default = "default_max_size")]
    pub max_size: ByteSize,
    /// Sync each batch to the device before acknowledging it (survives power loss, not just a
    /// killed process; costs a disk flush per batch).
    #[serde(default)]
    pub fsync: bool,
}

fn default_max_size() -> ByteSize {
    ByteSize::gib(1)
}

impl DurableQueueConfig {
    /// Validates, paths relative to the exporter entry.
    pub fn validate(&self, path: &str, problems: &mut Vec<Problem>) {
        if self.directory.as_os_str().is_empty() {
            problems.push(Problem::found_expected(
                format!("{path}.persistent_queue.directory"),
                "",
                "a directory such as `/var/lib/seedwatch/queue`",
            ));
        } else if self.directory.is_file() {
            problems.push(Problem::found_expected(
                format!("{path}.persistent_queue.directory"),
                self.directory.display(),
                "a directory, not a file",
            ));
        }
        if self.max_size.as_u64() < 1024 * 1024 {
            problems.push(Problem::found_expected(
                format!("{path}.persistent_queue.max_size"),
                self.max_size,
                "at least 1MiB, e.g. `2GiB`",
            ));
        }
    }
}
