//! Stamps the authenticated credential's tenant on every resource of a request, replacing any
//! `seedwatch.tenant` the client sent, so budgets and views scoped by tenant cannot be spoofed.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::pipeline::Payload;
use crate::security::TENANT_ATTRIBUTE;

/// Sets `seedwatch.tenant` to `tenant` on every resource of `payload`.
pub fn stamp_tenant(payload: &mut Payload, tenant: &str) {
    let stamp = |resource: &mut Option<Resource>| {
        let resource = resource.get_or_insert_with(Resource::default);
        resource.attributes.retain(|kv| kv.key != TENANT_ATTRIBUTE);
        resource.attributes.push(KeyValue {
            key: TENANT_ATTRIBUTE.to_owned(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(tenant.to_owned())) }),
            ..Default::default()
        });
    };
    match payload {
        Payload::Traces(data) => data.request_mut().resource_spans.iter_mut().for_each(|r| stamp(&mut r.resource)),
        Payload::Metrics(req) => req.resource_metrics.iter_mut().for_each(|r| stamp(&mut r.resource)),
        Payload::Logs(data) => data.request_mut().resource_logs.iter_mut().for_each(|r| stamp(&mut r.resource)),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

    use super::*;
    use crate::pipeline::TraceData;

    #[test]
    fn the_tenant_replaces_what_the_client_claimed_on_every_resource() {
        let claimed = Resource {
            attributes: vec![KeyValue {
                key: TENANT_ATTRIBUTE.to_owned(),
                value: Some(AnyValue { value: Some(any_value::Value::StringValue("other".into())) }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans { resource: Some(claimed), ..Default::default() },
                ResourceSpans::default(),
            ],
        };
        let mut payload = Payload::Traces(TraceData::from(request));
        stamp_tenant(&mut payload, "acme");
        let Payload::Traces(data) = &mut payload else { unreachable!() };
        for rs in &data.request_mut().resource_spans {
            let tenants: Vec<_> = rs
                .resource
                .as_ref()
                .expect("valid test input")
                .attributes
                .iter()
                .filter(|kv| kv.key == TENANT_ATTRIBUTE)
                .collect();
            assert_eq!(tenants.len(), 1);
            assert_eq!(
                tenants[0].value.as_ref().expect("valid test input").value,
                Some(any_value::Value::StringValue("acme".into()))
            );
        }
    }
}
