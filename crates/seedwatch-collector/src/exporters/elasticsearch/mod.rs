//! `elasticsearch`: spans, logs, audit and security events, alerts and workflow summaries to
//! Elasticsearch through the Bulk API (NDJSON, gzip), one index per kind of record.
//!
//! Delivery: documents are grouped by count, bytes and time and sent with bounded
//! concurrency. A refused request or item that is worth retrying (connection errors, 429,
//! 5xx) is retried with backoff by the runner, and only the items that still need it are
//! sent again; items refused for good (mapping errors, other 4xx) go to the dead-letter file
//! with Elasticsearch's error and are counted as failed. With a `persistent_queue`, the
//! guarantee is at least once, made exactly-once in the index by the document ids (see
//! `documents`).

mod bulk;
mod client;
mod config;
mod dead_letter;
mod documents;
mod ecs;
mod json;
mod raw;
mod templates;

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::Value;

use self::bulk::{Op, Outcome};
use self::client::Client;
pub use self::config::ElasticsearchConfig;
use self::config::IndexMode;
use self::dead_letter::DeadLetters;
use self::documents::{Doc, Documents};
use super::{BuildExporter, ExportError, Exporter, ExporterFactory, Grouping, Rejected};
use crate::config::parse_section;
use crate::pipeline::{Batch, Signal};

/// Registry entry.
pub const FACTORY: ExporterFactory = ExporterFactory {
    kind: "elasticsearch",
    signals: &[Signal::Traces, Signal::Logs],
    default_signals: &[Signal::Traces, Signal::Logs],
    parse: |value| Ok(Box::new(parse_section::<ElasticsearchConfig>(value, "")?)),
};

impl BuildExporter for ElasticsearchConfig {
    fn build(&self) -> Box<dyn Exporter> {
        Box::new(ElasticsearchExporter {
            op: if self.index_mode == IndexMode::DataStream { Op::Create } else { Op::Index },
            documents: Documents::new(self),
            dead_letters: DeadLetters::new(self.dead_letter_file.clone()),
            config: self.clone(),
            client: None,
            templates_installed: false,
            resume: None,
        })
    }
}

/// What is left of a group after a failed attempt, so a retry sends only that.
struct Resume {
    group: Vec<usize>,
    docs: Vec<Doc>,
    rejected: Rejected,
}

struct ElasticsearchExporter {
    config: ElasticsearchConfig,
    op: Op,
    documents: Documents,
    dead_letters: DeadLetters,
    client: Option<Client>,
    templates_installed: bool,
    resume: Option<Resume>,
}

fn group_key(batches: &[Arc<Batch>]) -> Vec<usize> {
    batches.iter().map(|b| Arc::as_ptr(b) as usize).collect()
}

/// Splits documents into bulk requests of at most `max_docs` documents and about `max_bytes`.
fn chunks(docs: Vec<Doc>, max_docs: usize, max_bytes: usize) -> Vec<Vec<Doc>> {
    let mut out: Vec<Vec<Doc>> = Vec::new();
    let mut bytes = 0;
    for doc in docs {
        let size = bulk::size(&doc);
        match out.last_mut() {
            Some(last) if last.len() < max_docs && bytes + size <= max_bytes => {
                bytes += size;
                last.push(doc);
            }
            _ => {
                bytes = size;
                out.push(vec![doc]);
            }
        }
    }
    out
}

impl ElasticsearchExporter {
    async fn install_templates(&mut self, client: &Client) -> Result<(), ExportError> {
        if self.templates_installed || !self.config.install_templates {
            return Ok(());
        }
        for (name, body) in templates::all(&self.config) {
            match client.put_template(&name, &body).await {
                Ok(()) => {}
                Err(ExportError::Permanent(why)) => {
                    tracing::error!(template = %name, error = %why, "Elasticsearch refused the index template; writing without it");
                }
                Err(retry) => return Err(retry),
            }
        }
        self.templates_installed = true;
        Ok(())
    }
}

#[async_trait]
impl Exporter for ElasticsearchExporter {
    async fn start(&mut self) -> Result<(), ExportError> {
        self.client = Some(Client::new(&self.config)?);
        Ok(())
    }

    async fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        let rejected = self.export_group(&[Arc::new(batch.clone())]).await?;
        match rejected.of(batch.signal()) {
            0 => Ok(()),
            n => Err(ExportError::Permanent(format!("{n} documents refused"))),
        }
    }

    fn grouping(&self) -> Option<Grouping> {
        Some(Grouping { max_items: self.config.batch.max_docs as u64, linger: self.config.batch.flush_interval })
    }

    async fn export_group(&mut self, batches: &[Arc<Batch>]) -> Result<Rejected, ExportError> {
        let client = self.client.clone().ok_or_else(|| ExportError::Retryable("not started".into()))?;
        self.install_templates(&client).await?;
        let key = group_key(batches);
        let (docs, mut rejected) = match self.resume.take() {
            Some(resume) if resume.group == key => (resume.docs, resume.rejected),
            _ => {
                let mut docs = Vec::new();
                for batch in batches {
                    self.documents.of_batch(batch, &mut docs);
                }
                (docs, Rejected::default())
            }
        };
        let op = self.op;
        let requests = chunks(docs, self.config.batch.max_docs, self.config.batch.max_bytes.as_u64() as usize);
        let answers: Vec<(Vec<Doc>, Result<bulk::Response, ExportError>)> = futures_util::stream::iter(requests)
            .map(|chunk| {
                let client = client.clone();
                async move {
                    let mut body = Vec::with_capacity(chunk.iter().map(bulk::size).sum());
                    for doc in &chunk {
                        bulk::append(&mut body, op, doc);
                    }
                    let answer = client.bulk(body).await;
                    (chunk, answer)
                }
            })
            .buffer_unordered(self.config.max_in_flight)
            .collect()
            .await;
        let mut again = Vec::new();
        let mut last_error = String::new();
        for (chunk, answer) in answers {
            let mut refused: Vec<(&Doc, u16, Value)> = Vec::new();
            match answer.map(|response| bulk::outcomes(&response, op, chunk.len())) {
                Ok(Some(outcomes)) => {
                    for (doc, outcome) in chunk.iter().zip(outcomes) {
                        match outcome {
                            Outcome::Stored => {}
                            Outcome::Retry(why) => {
                                last_error = why;
                                again.push(doc.clone());
                            }
                            Outcome::Refused(status, error) => refused.push((doc, status, error)),
                        }
                    }
                }
                Ok(None) => {
                    last_error = "the bulk answer does not list every document".into();
                    again.extend(chunk.iter().cloned());
                }
                Err(ExportError::Retryable(why)) => {
                    last_error = why;
                    again.extend(chunk.iter().cloned());
                }
                Err(ExportError::Permanent(why)) => {
                    refused.extend(chunk.iter().map(|d| (d, 0, Value::String(why.clone()))));
                }
            }
            for (doc, _, _) in &refused {
                rejected.add(doc.signal, 1);
            }
            self.dead_letters.record(&refused);
        }
        if again.is_empty() {
            return Ok(rejected);
        }
        let n = again.len();
        self.resume = Some(Resume { group: key, docs: again, rejected });
        Err(ExportError::Retryable(format!("{n} documents to send again; last error: {last_error}")))
    }

    async fn shutdown(&mut self) -> Result<(), ExportError> {
        self.client = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
