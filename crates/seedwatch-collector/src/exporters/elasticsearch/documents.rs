//! Turns batches into Bulk API lines: which index each record goes to, its id, and its body
//! in the configured field naming, written straight from the encoded request into the body.
//!
//! Ids make replays harmless (the durable queue delivers at least once): a span's is its
//! trace and span id; a log record's is its `log.record.uid` attribute if it has one, else a
//! hash of the record and its resource; a workflow summary's is its trace id, so a workflow
//! has one document.

use super::bulk::Op;
use super::config::{ElasticsearchConfig, IndexMode, MappingMode};
use super::fields::{Fields, Scratch, Val, write_free};
use super::json::{day, day_number, hex, is_id, string, string_body, timestamp};
use super::{ecs, raw};
use crate::otlp_wire::{AnyRef, FullLog, KeyValues, Origin, each_log, each_span};
use crate::pipeline::{Batch, Payload, Signal};

/// `event.name` of workflow summaries and alerts, made by the collector itself.
const WORKFLOW_SUMMARY: &[u8] = b"seedwatch.workflow.summary";
const ALERT: &[u8] = b"seedwatch.alert";

/// Record kinds, each with its own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Logs,
    Traces,
    Audit,
    Alerts,
    Workflows,
}

/// Where one document sits in a [`DocBuffer`]: its action line from `start`, its source line
/// from `source`, both ending before `end` (newlines included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DocMeta {
    pub(super) signal: Signal,
    pub(super) start: usize,
    pub(super) source: usize,
    pub(super) end: usize,
}

/// Bulk lines of many documents, back to back, and where each document is.
#[derive(Debug, Default)]
pub(super) struct DocBuffer {
    pub(super) bytes: Vec<u8>,
    pub(super) docs: Vec<DocMeta>,
}

impl DocBuffer {
    /// The action line of document `i`, without its newline.
    pub(super) fn action(&self, i: usize) -> &[u8] {
        let d = &self.docs[i];
        &self.bytes[d.start..d.source - 1]
    }

    /// The source of document `i`, without its newline.
    pub(super) fn source(&self, i: usize) -> &[u8] {
        let d = &self.docs[i];
        &self.bytes[d.source..d.end - 1]
    }

    /// Appends document `i` of `other`.
    pub(super) fn push_from(&mut self, other: &DocBuffer, i: usize) {
        let d = other.docs[i];
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes[d.start..d.end]);
        self.docs.push(DocMeta {
            signal: d.signal,
            start,
            source: start + (d.source - d.start),
            end: start + (d.end - d.start),
        });
    }
}

/// Writes documents as configured.
#[derive(Debug)]
pub(super) struct Documents {
    config: ElasticsearchConfig,
    op: Op,
    /// The index name last used per kind, with its day (daily indices change at midnight).
    names: [(i64, String); 5],
    scratch: Scratch,
}

impl Documents {
    pub(super) fn new(config: &ElasticsearchConfig) -> Self {
        let op = if config.index_mode == IndexMode::DataStream { Op::Create } else { Op::Index };
        Documents {
            config: config.clone(),
            op,
            names: std::array::from_fn(|_| (i64::MIN, String::new())),
            scratch: Scratch::default(),
        }
    }

    /// The bulk operation documents are written with.
    pub(super) fn op(&self) -> Op {
        self.op
    }

    fn index(&mut self, kind: Kind, unix_nanos: u64) -> &str {
        let i = &self.config.indices;
        let base = match kind {
            Kind::Logs => &i.logs,
            Kind::Traces => &i.traces,
            Kind::Audit => &i.audit,
            Kind::Alerts => &i.alerts,
            Kind::Workflows => &i.workflows,
        };
        let (cached_day, name) = &mut self.names[kind as usize];
        match self.config.index_mode {
            IndexMode::Daily => {
                let today = day_number(unix_nanos);
                if *cached_day != today || name.is_empty() {
                    *cached_day = today;
                    *name = format!("{base}-{}", day(today));
                }
            }
            IndexMode::Fixed | IndexMode::DataStream => {
                if name.is_empty() {
                    name.clone_from(base);
                }
            }
        }
        name
    }

    /// Writes an action line; `id` writes the (JSON-escaped) id.
    fn action(&mut self, out: &mut Vec<u8>, kind: Kind, unix_nanos: u64, id: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(match self.op {
            Op::Index => b"{\"index\":{\"_index\":\"",
            Op::Create => b"{\"create\":{\"_index\":\"",
        });
        let index = self.index(kind, unix_nanos);
        out.extend_from_slice(index.as_bytes());
        out.extend_from_slice(b"\",\"_id\":\"");
        id(out);
        out.extend_from_slice(b"\"}}\n");
    }

    /// Appends every document of a batch (metrics have none: they go to Prometheus). Returns
    /// how many of its records could not be read (none for what the receivers accepted).
    pub(super) fn of_batch(&mut self, batch: &Batch, out: &mut DocBuffer) -> u64 {
        let before = out.docs.len() as u64;
        let walked = match batch.payload() {
            Payload::Traces(data) => {
                let encoded = data.encoded();
                let mut fields = Fields::default();
                each_span(&encoded, |origin, span| {
                    let start = out.bytes.len();
                    self.action(&mut out.bytes, Kind::Traces, span.start_time_unix_nano, |b| {
                        hex(b, span.trace_id);
                        hex(b, span.span_id);
                    });
                    let source = out.bytes.len();
                    match self.config.mapping {
                        MappingMode::Ecs => {
                            fields.clear();
                            ecs::span(&mut fields, origin, span);
                            fields.write(&mut out.bytes, &mut self.scratch);
                        }
                        MappingMode::Raw => raw::span(&mut out.bytes, origin, span),
                    }
                    out.bytes.push(b'\n');
                    out.docs.push(DocMeta { signal: Signal::Traces, start, source, end: out.bytes.len() });
                })
            }
            Payload::Logs(data) => {
                let encoded = data.encoded();
                let mut fields = Fields::default();
                each_log(&encoded, |origin, record| self.log(out, &mut fields, origin, record))
            }
            Payload::Metrics(_) => return 0,
        };
        let missing = batch.items().saturating_sub(out.docs.len() as u64 - before);
        if let Err(err) = walked {
            tracing::error!(error = %err, records = missing, "cannot read a batch for Elasticsearch; its records are dropped");
        }
        missing
    }

    fn log<'a>(&mut self, out: &mut DocBuffer, fields: &mut Fields<'a>, origin: &Origin<'a>, record: &FullLog<'a>) {
        let event = event_name(record);
        let time = if record.time_unix_nano > 0 { record.time_unix_nano } else { record.observed_time_unix_nano };
        let start = out.bytes.len();
        if event == Some(WORKFLOW_SUMMARY) {
            self.action(&mut out.bytes, Kind::Workflows, time, |b| {
                b.extend_from_slice(b"wf-");
                hex(b, record.trace_id);
            });
            let source = out.bytes.len();
            self.workflow(&mut out.bytes, origin, record, time);
            out.bytes.push(b'\n');
            out.docs.push(DocMeta { signal: Signal::Logs, start, source, end: out.bytes.len() });
            return;
        }
        let audit = &self.config.audit;
        let kind = match event {
            Some(ALERT) => Kind::Alerts,
            Some(e) if audit.event_prefixes.iter().any(|p| e.starts_with(p.as_bytes())) => Kind::Audit,
            _ if audit.loggers.iter().any(|l| l.as_bytes() == origin.scope.name) => Kind::Audit,
            _ => Kind::Logs,
        };
        self.action(&mut out.bytes, kind, time, |b| log_id(b, origin, record));
        let source = out.bytes.len();
        match self.config.mapping {
            MappingMode::Ecs => {
                fields.clear();
                ecs::log(fields, origin, record, time);
                fields.write(&mut out.bytes, &mut self.scratch);
            }
            MappingMode::Raw => raw::log(&mut out.bytes, origin, record, time),
        }
        out.bytes.push(b'\n');
        out.docs.push(DocMeta { signal: Signal::Logs, start, source, end: out.bytes.len() });
    }

    /// One document per workflow: its summary's `workflow.*` attributes as an object.
    fn workflow(&mut self, out: &mut Vec<u8>, origin: &Origin<'_>, record: &FullLog<'_>, time: u64) {
        let Scratch { tree, text, .. } = &mut self.scratch;
        tree.begin(out);
        if tree.path(out, b"@timestamp") {
            timestamp(out, time);
        }
        let service = origin.resource.and_then(|r| string_attr(r.attributes(), b"service.name"));
        let ecs = self.config.mapping == MappingMode::Ecs;
        if let Some(service) = service {
            let written = if ecs {
                tree.path(out, b"service.name")
            } else {
                tree.member(out, &["resource", "attributes"], b"service.name")
            };
            if written {
                string(out, service);
            }
        }
        for (id, ecs_path, raw_path) in
            [(record.span_id, &b"span.id"[..], &b"span_id"[..]), (record.trace_id, b"trace.id", b"trace_id")]
        {
            if is_id(id) && tree.path(out, if ecs { ecs_path } else { raw_path }) {
                out.push(b'"');
                hex(out, id);
                out.push(b'"');
            }
        }
        let mut free: Vec<(&[u8], Val<'_>)> =
            record.attributes().filter(|(k, _)| k.starts_with(b"workflow.")).map(|(k, v)| (k, Val::Any(v))).collect();
        write_free(out, tree, text, &mut free);
        tree.end(out);
    }
}

/// The record's `event.name` (field or attribute).
fn event_name<'a>(record: &FullLog<'a>) -> Option<&'a [u8]> {
    if !record.event_name.is_empty() {
        return Some(record.event_name);
    }
    string_attr(record.attributes(), b"event.name")
}

/// A string attribute's value.
fn string_attr<'a>(mut kvs: KeyValues<'a>, key: &[u8]) -> Option<&'a [u8]> {
    kvs.find(|(k, _)| *k == key).and_then(|(_, v)| match v {
        AnyRef::Str(s) => Some(s),
        _ => None,
    })
}

/// A log record's id: its `log.record.uid`, else a hash of its resource, scope name and
/// encoding (the same bytes give the same id, so a replay overwrites).
fn log_id(out: &mut Vec<u8>, origin: &Origin<'_>, record: &FullLog<'_>) {
    if let Some(uid) = string_attr(record.attributes(), b"log.record.uid") {
        string_body(out, uid);
        return;
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    if let Some(r) = &origin.resource {
        hasher.update(r.encoded);
    }
    hasher.update(origin.scope.name);
    hasher.update(record.encoded);
    out.extend_from_slice(format!("{:032x}", hasher.digest128()).as_bytes());
}
