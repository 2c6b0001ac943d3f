//! `otlp`: forwards to Jaeger or any OTLP backend over gRPC or HTTP/protobuf, with headers for
//! auth and optional gzip; traces by default, metrics and logs when listed in `signals`. Trace
//! batches are forwarded as the bytes received (never decoded and re-encoded) unless a
//! processor changed them.

mod client;
mod config;

use async_trait::async_trait;
use bytes::Bytes;
use prost::Message;

use self::client::Client;
use self::config::OtlpConfig;
use super::{BuildExporter, ExportError, Exporter, ExporterFactory};
use crate::config::parse_section;
use crate::pipeline::{Batch, Payload, Signal};

/// Registry entry.
pub const FACTORY: ExporterFactory = ExporterFactory {
    kind: "otlp",
    signals: &Signal::ALL,
    default_signals: &[Signal::Traces],
    parse: |value| Ok(Box::new(parse_section::<OtlpConfig>(value, "")?)),
};

impl BuildExporter for OtlpConfig {
    fn build(&self) -> Box<dyn Exporter> {
        Box::new(OtlpExporter { config: self.clone(), client: None })
    }
}

struct OtlpExporter {
    config: OtlpConfig,
    client: Option<Client>,
}

#[async_trait]
impl Exporter for OtlpExporter {
    async fn start(&mut self) -> Result<(), ExportError> {
        self.client = Some(Client::new(&self.config)?);
        Ok(())
    }

    async fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        let (signal, body) = match batch.payload() {
            Payload::Traces(data) => (Signal::Traces, data.encoded()),
            Payload::Metrics(req) => (Signal::Metrics, Bytes::from(req.encode_to_vec())),
            Payload::Logs(data) => (Signal::Logs, data.encoded()),
        };
        let client = self.client.as_mut().ok_or_else(|| ExportError::Retryable("not connected".into()))?;
        client.send(&self.config, signal, body).await
    }

    async fn shutdown(&mut self) -> Result<(), ExportError> {
        self.client = None;
        Ok(())
    }
}
