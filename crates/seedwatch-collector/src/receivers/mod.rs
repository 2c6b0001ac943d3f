//! Receivers: where telemetry enters the collector.

mod ingest;
pub mod otlp;
mod tenant;
mod validate;

use serde::Deserialize;

use crate::config::{Problem, Validate};

pub use ingest::{Ingest, IngestError, IngestOutcome};
pub use otlp::retryable_status;
pub use tenant::stamp_tenant;

/// All receivers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiversConfig {
    /// The OTLP receiver (gRPC and HTTP).
    #[serde(default)]
    pub otlp: otlp::OtlpReceiverConfig,
}

impl ReceiversConfig {
    /// Validates every receiver, paths under `receivers`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        let mut own = Vec::new();
        self.otlp.validate(&mut own);
        problems.extend(own.into_iter().map(|p| p.under("receivers.otlp")));
    }
}
