//! `file`: appends each batch as one line of OTLP/JSON (the export request, as the OTLP
//! specification encodes it), like the OpenTelemetry Collector's file exporter. For archives,
//! debugging, and replaying with any OTLP/JSON client.

mod config;

use async_trait::async_trait;
use tokio::io::{AsyncWriteExt, BufWriter};

use self::config::FileConfig;
use super::{BuildExporter, ExportError, Exporter, ExporterFactory};
use crate::config::parse_section;
use crate::pipeline::{Batch, Payload, Signal};

/// Registry entry.
pub const FACTORY: ExporterFactory = ExporterFactory {
    kind: "file",
    signals: &Signal::ALL,
    default_signals: &Signal::ALL,
    parse: |value| Ok(Box::new(parse_section::<FileConfig>(value, "")?)),
};

impl BuildExporter for FileConfig {
    fn build(&self) -> Box<dyn Exporter> {
        Box::new(FileExporter { config: self.clone(), out: None, line: Vec::new() })
    }
}

struct FileExporter {
    config: FileConfig,
    out: Option<BufWriter<tokio::fs::File>>,
    line: Vec<u8>,
}

fn io_error(what: &str, path: &std::path::Path, err: std::io::Error) -> ExportError {
    ExportError::Retryable(format!("{what} {}: {err}", path.display()))
}

#[async_trait]
impl Exporter for FileExporter {
    async fn start(&mut self) -> Result<(), ExportError> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.config.path)
            .await
            .map_err(|e| io_error("cannot open", &self.config.path, e))?;
        self.out = Some(BufWriter::new(file));
        Ok(())
    }

    async fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        self.line.clear();
        let encoded = match batch.payload() {
            Payload::Traces(data) => serde_json::to_writer(&mut self.line, data.request()),
            Payload::Metrics(req) => serde_json::to_writer(&mut self.line, req),
            Payload::Logs(data) => serde_json::to_writer(&mut self.line, data.request()),
        };
        encoded.map_err(|e| ExportError::Permanent(format!("cannot encode as OTLP/JSON: {e}")))?;
        self.line.push(b'\n');
        let out = self.out.as_mut().ok_or_else(|| ExportError::Retryable("file exporter not started".into()))?;
        out.write_all(&self.line).await.map_err(|e| io_error("cannot write", &self.config.path, e))?;
        out.flush().await.map_err(|e| io_error("cannot flush", &self.config.path, e))
    }

    async fn shutdown(&mut self) -> Result<(), ExportError> {
        if let Some(out) = self.out.as_mut() {
            out.flush().await.map_err(|e| io_error("cannot flush", &self.config.path, e))?;
        }
        Ok(())
    }
}
