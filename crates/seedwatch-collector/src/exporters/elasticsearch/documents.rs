//! Turns batches into Elasticsearch documents: which index each record goes to, its id, and
//! its body in the configured field naming.
//!
//! Ids make replays harmless (the durable queue delivers at least once): a span's is its
//! trace and span id; a log record's is its `log.record.uid` attribute if it has one, else a
//! hash of the record and its resource; a workflow summary's is its trace id, so a workflow
//! has one document.

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{Map, Value};

use super::config::{ElasticsearchConfig, IndexMode, MappingMode};
use super::json::{day, id_hex, set_path, timestamp};
use super::{ecs, raw};
use crate::pipeline::{Batch, Payload, Signal};

/// `event.name` of workflow summaries and alerts, made by the collector itself.
const WORKFLOW_SUMMARY: &str = "seedwatch.workflow.summary";
const ALERT: &str = "seedwatch.alert";

/// Record kinds, each with its own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Logs,
    Traces,
    Audit,
    Alerts,
    Workflows,
}

/// One document to index.
#[derive(Debug, Clone)]
pub(super) struct Doc {
    pub(super) signal: Signal,
    pub(super) index: String,
    pub(super) id: String,
    /// The JSON source.
    pub(super) source: Vec<u8>,
}

/// Builds documents as configured.
#[derive(Debug, Clone)]
pub(super) struct Documents {
    config: ElasticsearchConfig,
}

impl Documents {
    pub(super) fn new(config: &ElasticsearchConfig) -> Self {
        Documents { config: config.clone() }
    }

    fn index(&self, kind: Kind, unix_nanos: u64) -> String {
        let i = &self.config.indices;
        let base = match kind {
            Kind::Logs => &i.logs,
            Kind::Traces => &i.traces,
            Kind::Audit => &i.audit,
            Kind::Alerts => &i.alerts,
            Kind::Workflows => &i.workflows,
        };
        match self.config.index_mode {
            IndexMode::Daily => format!("{base}-{}", day(unix_nanos)),
            IndexMode::Fixed | IndexMode::DataStream => base.clone(),
        }
    }

    /// Every document of a batch (metrics have none: they go to Prometheus).
    pub(super) fn of_batch(&self, batch: &Batch, out: &mut Vec<Doc>) {
        match batch.payload() {
            Payload::Traces(data) => self.spans(data.request(), out),
            Payload::Logs(req) => {
                for rl in &req.resource_logs {
                    for sl in &rl.scope_logs {
                        for record in &sl.log_records {
                            out.push(self.log(rl.resource.as_ref(), sl.scope.as_ref(), record));
                        }
                    }
                }
            }
            Payload::Metrics(_) => {}
        }
    }

    fn spans(
        &self,
        req: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
        out: &mut Vec<Doc>,
    ) {
        for rs in &req.resource_spans {
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    let body = match self.config.mapping {
                        MappingMode::Ecs => ecs::span(rs.resource.as_ref(), ss.scope.as_ref(), span),
                        MappingMode::Raw => raw::span(rs.resource.as_ref(), ss.scope.as_ref(), span),
                    };
                    let id = format!("{}{}", hex::encode(&span.trace_id), hex::encode(&span.span_id));
                    out.push(self.doc(Signal::Traces, Kind::Traces, span.start_time_unix_nano, id, body));
                }
            }
        }
    }

    fn log(&self, resource: Option<&Resource>, scope: Option<&InstrumentationScope>, record: &LogRecord) -> Doc {
        let event = event_name(record);
        let time = if record.time_unix_nano > 0 { record.time_unix_nano } else { record.observed_time_unix_nano };
        if event == Some(WORKFLOW_SUMMARY) {
            let id = format!("wf-{}", hex::encode(&record.trace_id));
            return self.doc(Signal::Logs, Kind::Workflows, time, id, self.workflow(resource, record, time));
        }
        let kind = match (event, scope.map(|s| s.name.as_str())) {
            (Some(ALERT), _) => Kind::Alerts,
            (Some(e), _) if self.config.audit.event_prefixes.iter().any(|p| e.starts_with(p.as_str())) => Kind::Audit,
            (_, Some(logger)) if self.config.audit.loggers.iter().any(|l| l == logger) => Kind::Audit,
            _ => Kind::Logs,
        };
        let body = match self.config.mapping {
            MappingMode::Ecs => ecs::log(resource, scope, record, time),
            MappingMode::Raw => raw::log(resource, scope, record, time),
        };
        self.doc(Signal::Logs, kind, time, log_id(resource, scope, record), body)
    }

    /// One document per workflow: its summary's `workflow.*` attributes as an object.
    fn workflow(&self, resource: Option<&Resource>, record: &LogRecord, time: u64) -> Map<String, Value> {
        let mut doc = Map::new();
        doc.insert("@timestamp".into(), Value::String(timestamp(time)));
        for kv in &record.attributes {
            if kv.key.starts_with("workflow.") {
                set_path(&mut doc, &kv.key, super::json::any(kv.value.as_ref()));
            }
        }
        let service = resource.and_then(|r| string_attr(&r.attributes, "service.name"));
        let (trace_key, span_key, service_key) = match self.config.mapping {
            MappingMode::Ecs => ("trace.id", "span.id", "service.name"),
            MappingMode::Raw => ("trace_id", "span_id", "resource.attributes.service.name"),
        };
        if let Some(t) = id_hex(&record.trace_id) {
            set_path(&mut doc, trace_key, Value::String(t));
        }
        if let Some(s) = id_hex(&record.span_id) {
            set_path(&mut doc, span_key, Value::String(s));
        }
        if let Some(service) = service {
            match self.config.mapping {
                MappingMode::Ecs => set_path(&mut doc, service_key, Value::String(service.into())),
                MappingMode::Raw => {
                    let mut attrs = Map::new();
                    attrs.insert("service.name".into(), Value::String(service.into()));
                    set_path(&mut doc, "resource.attributes", Value::Object(attrs));
                }
            }
        }
        doc
    }

    fn doc(&self, signal: Signal, kind: Kind, time: u64, id: String, body: Map<String, Value>) -> Doc {
        let source = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        Doc { signal, index: self.index(kind, time), id, source }
    }
}

/// The record's `event.name` (field or attribute).
fn event_name(record: &LogRecord) -> Option<&str> {
    if !record.event_name.is_empty() {
        return Some(&record.event_name);
    }
    string_attr(&record.attributes, "event.name")
}

/// A string attribute's value.
pub(super) fn string_attr<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    kvs.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

fn log_id(resource: Option<&Resource>, scope: Option<&InstrumentationScope>, record: &LogRecord) -> String {
    if let Some(uid) = string_attr(&record.attributes, "log.record.uid") {
        return uid.to_owned();
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    if let Some(r) = resource {
        hasher.update(&r.encode_to_vec());
    }
    if let Some(s) = scope {
        hasher.update(s.name.as_bytes());
    }
    hasher.update(&record.encode_to_vec());
    format!("{:032x}", hasher.digest128())
}
