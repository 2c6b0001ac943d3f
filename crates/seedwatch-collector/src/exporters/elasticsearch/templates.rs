//! Index templates with explicit mappings: timestamps as dates, ids and names as keywords,
//! costs as doubles, message text searchable; other strings become keywords.

use serde_json::{Value, json};

use super::config::{ElasticsearchConfig, IndexMode, MappingMode};

/// `(template name, body)` for each index.
pub(super) fn all(config: &ElasticsearchConfig) -> Vec<(String, Value)> {
    let i = &config.indices;
    [&i.logs, &i.traces, &i.audit, &i.alerts, &i.workflows]
        .into_iter()
        .map(|base| (base.clone(), template(config, base)))
        .collect()
}

fn template(config: &ElasticsearchConfig, base: &str) -> Value {
    let pattern = match config.index_mode {
        IndexMode::Daily => format!("{base}-*"),
        IndexMode::Fixed | IndexMode::DataStream => base.to_owned(),
    };
    let keyword = json!({ "type": "keyword" });
    let mut properties = json!({
        "@timestamp": { "type": "date_nanos" },
        "message": { "type": "text" },
        "workflow": { "properties": {
            "cost_usd": { "type": "double" },
            "duration_seconds": { "type": "double" },
            "id": keyword, "type": keyword, "status": keyword,
        }},
    });
    let extra = match config.mapping {
        MappingMode::Ecs => json!({
            "trace": { "properties": { "id": keyword } },
            "span": { "properties": { "id": keyword, "name": keyword, "kind": keyword } },
            "parent": { "properties": { "id": keyword } },
            "log": { "properties": { "level": keyword, "logger": keyword } },
            "event": { "properties": { "duration": { "type": "long" }, "outcome": keyword, "action": keyword } },
            "service": { "properties": { "name": keyword } },
        }),
        MappingMode::Raw => json!({
            "trace_id": keyword, "span_id": keyword, "parent_span_id": keyword,
            "severity_text": keyword, "name": keyword, "duration": { "type": "long" },
            "attributes": { "type": "object", "subobjects": false },
            "resource": { "properties": { "attributes": { "type": "object", "subobjects": false } } },
        }),
    };
    if let (Some(p), Value::Object(extra)) = (properties.as_object_mut(), extra) {
        p.extend(extra);
    }
    let mut body = json!({
        "index_patterns": [pattern],
        "priority": 200,
        "_meta": { "managed_by": "seedwatch" },
        "template": { "mappings": {
            "dynamic_templates": [
                { "costs": { "match": "*cost_usd", "mapping": { "type": "double" } } },
                { "strings": { "match_mapping_type": "string", "mapping": { "type": "keyword", "ignore_above": 8191 } } },
            ],
            "properties": properties,
        }},
    });
    if config.index_mode == IndexMode::DataStream {
        body["data_stream"] = json!({});
    }
    body
}
