//! Config of the queues between receivers, processors and exporters.

use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

use crate::config::{Problem, check_positive};

/// Queue sizes and the backpressure answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Capacity of each signal's queue, in items (spans, data points, log records); also the
    /// default capacity of each exporter's queue.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: u64,
    /// Capacity of each signal's queue in bytes (what its batches hold against the memory
    /// limiter); also the default of each exporter's in-memory queue. A queue is full at
    /// whichever limit comes first.
    #[serde(default = "default_queue_max_bytes")]
    pub queue_max_bytes: ByteSize,
    /// How long a receiver waits for room in a full queue before answering the OTLP
    /// retryable status (gRPC UNAVAILABLE, HTTP 429).
    #[serde(default = "default_enqueue_timeout", with = "humantime_serde")]
    pub enqueue_timeout: Duration,
    /// The `Retry-After` / RetryInfo delay suggested to clients when refusing.
    #[serde(default = "default_retry_after", with = "humantime_serde")]
    pub retry_after: Duration,
    /// When a signal goes to an exporter with a persistent queue, a receiver answers only
    /// once the batch is on disk; after this long it answers the retryable status instead
    /// (the batch may still be written: at least once).
    #[serde(default = "default_persist_timeout", with = "humantime_serde")]
    pub persist_timeout: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            queue_capacity: default_queue_capacity(),
            queue_max_bytes: default_queue_max_bytes(),
            enqueue_timeout: default_enqueue_timeout(),
            retry_after: default_retry_after(),
            persist_timeout: default_persist_timeout(),
        }
    }
}

fn default_queue_capacity() -> u64 {
    100_000
}
fn default_queue_max_bytes() -> ByteSize {
    ByteSize::mib(64)
}
fn default_enqueue_timeout() -> Duration {
    Duration::from_millis(100)
}
fn default_persist_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_retry_after() -> Duration {
    Duration::from_secs(1)
}

impl PipelineConfig {
    /// Validates, paths under `pipeline`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        check_positive(self.queue_capacity, "pipeline.queue_capacity", problems);
        if self.queue_capacity > 100_000_000 {
            problems.push(Problem::found_expected(
                "pipeline.queue_capacity",
                self.queue_capacity,
                "at most 100000000 items",
            ));
        }
        if self.queue_max_bytes < ByteSize::mib(1) {
            problems.push(Problem::found_expected("pipeline.queue_max_bytes", self.queue_max_bytes, "at least 1MiB"));
        }
        if self.retry_after.is_zero() || self.retry_after > Duration::from_secs(3600) {
            problems.push(Problem::found_expected(
                "pipeline.retry_after",
                humantime::format_duration(self.retry_after),
                "a duration between 1s and 1h",
            ));
        }
        if self.enqueue_timeout > Duration::from_secs(60) {
            problems.push(Problem::found_expected(
                "pipeline.enqueue_timeout",
                humantime::format_duration(self.enqueue_timeout),
                "at most 60s (clients have their own deadlines)",
            ));
        }
    }
}
