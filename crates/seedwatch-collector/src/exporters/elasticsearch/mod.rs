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
mod fields;
mod json;
mod raw;
mod templates;
mod tree;

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;

use self::bulk::{Outcome, Outcomes};
use self::client::Client;
pub use self::config::ElasticsearchConfig;
use self::dead_letter::DeadLetters;
use self::documents::{DocBuffer, DocMeta, Documents};
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
            documents: Documents::new(self),
            dead_letters: DeadLetters::new(self.dead_letter_file.clone()),
            config: self.clone(),
            client: None,
            templates_installed: false,
            resume: None,
            spare: Vec::new(),
        })
    }
}

/// What is left of a group after a failed attempt, so a retry sends only that.
struct Resume {
    group: Vec<usize>,
    docs: DocBuffer,
    rejected: Rejected,
}

struct ElasticsearchExporter {
    config: ElasticsearchConfig,
    documents: Documents,
    dead_letters: DeadLetters,
    client: Option<Client>,
    templates_installed: bool,
    resume: Option<Resume>,
    /// The last group's buffer, kept for the next: bulk bodies are megabytes, and allocating
    /// them afresh each time costs page faults.
    spare: Vec<u8>,
}

fn group_key(batches: &[Arc<Batch>]) -> Vec<usize> {
    batches.iter().map(|b| Arc::as_ptr(b) as usize).collect()
}

/// Splits documents into bulk requests of at most `max_docs` documents and about
/// `max_bytes`, as ranges of document numbers.
fn chunks(docs: &[DocMeta], max_docs: usize, max_bytes: usize) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut bytes = 0;
    for (i, doc) in docs.iter().enumerate() {
        let size = doc.end - doc.start;
        match out.last_mut() {
            Some(last) if last.len() < max_docs && bytes + size <= max_bytes => {
                bytes += size;
                last.end = i + 1;
            }
            _ => {
                bytes = size;
                out.push(i..i + 1);
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
                let mut bytes = std::mem::take(&mut self.spare);
                bytes.clear();
                let mut docs = DocBuffer { bytes, docs: Vec::new() };
                let mut rejected = Rejected::default();
                for batch in batches {
                    rejected.add(batch.signal(), self.documents.of_batch(batch, &mut docs));
                }
                (docs, rejected)
            }
        };
        let op = self.documents.op();
        let requests = chunks(&docs.docs, self.config.batch.max_docs, self.config.batch.max_bytes.as_u64() as usize);
        // One buffer for every request of the group: each body is a slice of it, no copies.
        let DocBuffer { bytes, docs: metas } = docs;
        let body = Bytes::from(bytes);
        let answers: Vec<(Range<usize>, Result<Bytes, ExportError>)> = futures_util::stream::iter(requests)
            .map(|range| {
                let client = client.clone();
                let slice = body.slice(metas[range.start].start..metas[range.end - 1].end);
                async move { (range.clone(), client.bulk(slice).await) }
            })
            .buffer_unordered(self.config.max_in_flight)
            .collect()
            .await;
        let docs = DocBuffer { bytes: body.try_into_mut().map(Vec::from).unwrap_or_else(|b| b.to_vec()), docs: metas };
        let mut again = DocBuffer::default();
        let mut last_error = String::new();
        for (range, answer) in answers {
            let mut refused: Vec<(usize, u16, Value)> = Vec::new();
            match answer.map(|response| bulk::outcomes(&response, op, range.len())) {
                Ok(Some(Outcomes::AllStored)) => {}
                Ok(Some(Outcomes::Each(outcomes))) => {
                    for (i, outcome) in range.zip(outcomes) {
                        match outcome {
                            Outcome::Stored => {}
                            Outcome::Retry(why) => {
                                last_error = why;
                                again.push_from(&docs, i);
                            }
                            Outcome::Refused(status, error) => refused.push((i, status, error)),
                        }
                    }
                }
                Ok(None) => {
                    last_error = "the bulk answer is unreadable or does not list every document".into();
                    range.for_each(|i| again.push_from(&docs, i));
                }
                Err(ExportError::Retryable(why)) => {
                    last_error = why;
                    range.for_each(|i| again.push_from(&docs, i));
                }
                Err(ExportError::Permanent(why)) => {
                    refused.extend(range.map(|i| (i, 0, Value::String(why.clone()))));
                }
            }
            for (i, _, _) in &refused {
                rejected.add(docs.docs[*i].signal, 1);
            }
            self.dead_letters.record(&docs, &refused);
        }
        if docs.bytes.capacity() > self.spare.capacity() {
            self.spare = docs.bytes;
        }
        if again.docs.is_empty() {
            return Ok(rejected);
        }
        let n = again.docs.len();
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
