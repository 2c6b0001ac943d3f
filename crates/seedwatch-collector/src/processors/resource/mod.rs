//! `resource`: inserts, sets or deletes resource attributes on every batch, e.g. to stamp a
//! deployment environment or a tenant on telemetry from agents that do not set it.

mod config;

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;

use self::config::{Action, ResourceConfig, ScalarValue};
use super::{BuildContext, BuildProcessor, Processor, ProcessorFactory};
use crate::config::parse_section;
use crate::pipeline::{Batch, Payload, Signal};

/// Registry entry.
pub const FACTORY: ProcessorFactory = ProcessorFactory {
    kind: "resource",
    signals: &Signal::ALL,
    parse: |value| Ok(Box::new(parse_section::<ResourceConfig>(value, "")?)),
};

impl BuildProcessor for ResourceConfig {
    fn build(&self, _ctx: &mut BuildContext) -> Arc<dyn Processor> {
        Arc::new(ResourceProcessor {
            actions: self
                .attributes
                .iter()
                .map(|a| (a.key.clone(), a.action, a.value.as_ref().map(to_any_value)))
                .collect(),
        })
    }
}

fn to_any_value(v: &ScalarValue) -> AnyValue {
    let value = match v {
        ScalarValue::Bool(b) => any_value::Value::BoolValue(*b),
        ScalarValue::Int(i) => any_value::Value::IntValue(*i),
        ScalarValue::Double(d) => any_value::Value::DoubleValue(*d),
        ScalarValue::String(s) => any_value::Value::StringValue(s.clone()),
    };
    AnyValue { value: Some(value) }
}

#[derive(Debug)]
struct ResourceProcessor {
    actions: Vec<(String, Action, Option<AnyValue>)>,
}

impl ResourceProcessor {
    fn apply(&self, resource: &mut Option<Resource>) {
        let resource = resource.get_or_insert_with(Resource::default);
        for (key, action, value) in &self.actions {
            let existing = resource.attributes.iter().position(|kv| &kv.key == key);
            match (action, existing) {
                (Action::Delete, _) => resource.attributes.retain(|kv| &kv.key != key),
                (Action::Insert, Some(_)) => {}
                (Action::Upsert, Some(i)) => resource.attributes[i].value = value.clone(),
                (Action::Insert | Action::Upsert, None) => {
                    resource.attributes.push(KeyValue { key: key.clone(), value: value.clone(), ..Default::default() })
                }
            }
        }
    }
}

impl Processor for ResourceProcessor {
    fn process(&self, batch: &mut Batch) {
        match batch.payload_mut() {
            Payload::Traces(data) => {
                data.request_mut().resource_spans.iter_mut().for_each(|r| self.apply(&mut r.resource))
            }
            Payload::Metrics(req) => req.resource_metrics.iter_mut().for_each(|r| self.apply(&mut r.resource)),
            Payload::Logs(data) => {
                data.request_mut().resource_logs.iter_mut().for_each(|r| self.apply(&mut r.resource))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

    use super::*;
    use crate::pipeline::Transport;

    fn attr(key: &str, v: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
            ..Default::default()
        }
    }

    #[test]
    fn insert_upsert_delete() {
        let yaml = "attributes:\n - {key: env, action: insert, value: prod}\n - {key: tenant, action: upsert, value: acme}\n - {key: secret, action: delete}\n - {key: n, action: upsert, value: 3}";
        let cfg: ResourceConfig = parse_section(serde_norway::from_str(yaml).expect("yaml"), "").expect("valid");
        let p = cfg.build(&mut BuildContext::default());
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![attr("env", "dev"), attr("tenant", "x"), attr("secret", "s")],
                    ..Default::default()
                }),
                ..Default::default()
            }],
        };
        let mut batch = Batch::new(Payload::Traces(req.into()), Transport::Grpc);
        p.process(&mut batch);
        let Payload::Traces(data) = batch.payload() else { unreachable!() };
        let req = data.request();
        let attrs = &req.resource_spans[0].resource.as_ref().expect("resource").attributes;
        let keys: Vec<_> = attrs.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["env", "tenant", "n"]);
        assert_eq!(attrs[0], attr("env", "dev"), "insert keeps an existing value");
        assert_eq!(attrs[1], attr("tenant", "acme"), "upsert replaces");
        assert_eq!(attrs[2].value.as_ref().and_then(|v| v.value.clone()), Some(any_value::Value::IntValue(3)));
    }

    #[test]
    fn validate_rejects_missing_value_and_value_on_delete() {
        let yaml = "attributes:\n - {key: a, action: upsert}\n - {key: b, action: delete, value: 1}";
        let err = parse_section::<ResourceConfig>(serde_norway::from_str(yaml).expect("yaml"), "processors.resource")
            .expect_err("invalid");
        let paths: Vec<_> = err.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["processors.resource.attributes[0].value", "processors.resource.attributes[1].value"]);
    }

    #[test]
    fn validate_rejects_unknown_action() {
        let yaml = "attributes:\n - {key: a, action: replace, value: x}";
        let err = parse_section::<ResourceConfig>(serde_norway::from_str(yaml).expect("yaml"), "processors.resource")
            .expect_err("invalid");
        assert_eq!(err[0].path, "processors.resource.attributes[0].action");
        assert!(err[0].message.contains("replace"), "{}", err[0].message);
    }
}
