//! The `elasticsearch` exporter against a scripted fake Elasticsearch (named as such: it
//! answers partial failures on purpose, which the real server in the end-to-end tests does
//! not): a 429 item is sent again on its own, a mapping error goes to the dead-letter file
//! with Elasticsearch's error, templates go in first, and credentials arrive.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{post, put};
use common::*;
use serde_json::{Value, json};

/// One bulk item as received: (action, index, id).
type Item = (String, String, String);

#[derive(Clone, Default)]
struct FakeEs {
    /// Per bulk request, in order: the status of each item (then all 201).
    script: Arc<Mutex<Vec<Vec<u16>>>>,
    bulks: Arc<Mutex<Vec<Vec<Item>>>>,
    templates: Arc<Mutex<Vec<String>>>,
    auth: Arc<Mutex<Vec<String>>>,
}

fn gunzip(body: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(body).read_to_string(&mut out).unwrap();
    out
}

async fn bulk(State(fake): State<FakeEs>, headers: axum::http::HeaderMap, body: Bytes) -> Json<Value> {
    if let Some(a) = headers.get("authorization") {
        fake.auth.lock().unwrap().push(a.to_str().unwrap().to_owned());
    }
    assert_eq!(headers.get("content-encoding").unwrap(), "gzip");
    let text = gunzip(&body);
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let items: Vec<Item> = lines
        .chunks(2)
        .map(|pair| {
            let (action, meta) = pair[0].as_object().unwrap().iter().next().unwrap();
            assert!(pair[1].is_object(), "a source line follows each action");
            (action.clone(), meta["_index"].as_str().unwrap().into(), meta["_id"].as_str().unwrap().into())
        })
        .collect();
    let statuses = {
        let mut script = fake.script.lock().unwrap();
        if script.is_empty() { vec![201; items.len()] } else { script.remove(0) }
    };
    let answers: Vec<Value> = items
        .iter()
        .zip(statuses)
        .map(|((action, index, id), status)| {
            let mut item = json!({ "_index": index, "_id": id, "status": status });
            match status {
                429 => item["error"] = json!({ "type": "es_rejected_execution_exception", "reason": "queue full" }),
                400 => {
                    item["error"] =
                        json!({ "type": "document_parsing_exception", "reason": "failed to parse field [x]" })
                }
                _ => {}
            }
            json!({ action.clone(): item })
        })
        .collect();
    fake.bulks.lock().unwrap().push(items);
    Json(json!({ "took": 1, "errors": answers.iter().any(|a| a.to_string().contains("error")), "items": answers }))
}

async fn template(State(fake): State<FakeEs>, Path(name): Path<String>) -> Json<Value> {
    fake.templates.lock().unwrap().push(name);
    Json(json!({ "acknowledged": true }))
}

/// Serves a fake Elasticsearch on `listener`, answering bulk requests as `script` says.
fn serve_fake_es(listener: tokio::net::TcpListener, script: Vec<Vec<u16>>) -> FakeEs {
    let fake = FakeEs { script: Arc::new(Mutex::new(script)), ..FakeEs::default() };
    let app = Router::new()
        .route("/_bulk", post(bulk))
        .route("/_index_template/{name}", put(template))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}

async fn fake_es(script: Vec<Vec<u16>>) -> (String, FakeEs) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (url, serve_fake_es(listener, script))
}

#[tokio::test]
async fn a_429_item_is_retried_alone_and_a_mapping_error_is_dead_lettered() {
    let (url, fake) = fake_es(vec![vec![201, 429, 400]]).await;
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    let c = start(&format!(
        "exporters:\n  elasticsearch:\n    endpoint: '{url}'\n    auth: {{api_key: 'aWQ6a2V5'}}\n    dead_letter_file: '{}'\n    batch: {{flush_interval: 10ms}}\n    retry: {{initial_interval: 10ms, max_interval: 50ms}}\n",
        dead.display()
    ))
    .await;
    wait_ready(&c).await;
    post_traces(&c, 3, 1).await;
    let sent = wait_for_metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"elasticsearch\"}", 2.0).await;
    assert_eq!(sent, 2.0);
    let failed = metric(&c, "seedwatch_exporter_send_failed_spans_total{exporter=\"elasticsearch\"}").await;
    assert_eq!(failed, 1.0, "the mapping error is counted as failed");

    let bulks = fake.bulks.lock().unwrap().clone();
    assert_eq!(bulks.len(), 2, "one retry: {bulks:?}");
    assert_eq!(bulks[0].len(), 3);
    assert_eq!(bulks[1], vec![bulks[0][1].clone()], "only the 429 item is sent again, with the same id");
    let (action, index, id) = &bulks[0][0];
    assert_eq!(action, "index");
    assert!(index.starts_with("modelseed-traces-"), "daily index: {index}");
    assert_eq!(id.len(), 48, "trace id + span id in hex: {id}");

    let lines: Vec<Value> =
        std::fs::read_to_string(&dead).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["id"], bulks[0][2].2.as_str());
    assert_eq!(lines[0]["status"], 400);
    assert_eq!(lines[0]["error"]["type"], "document_parsing_exception");
    assert!(lines[0]["document"]["span"]["name"].is_string(), "the document itself is kept: {}", lines[0]);

    let templates = fake.templates.lock().unwrap().clone();
    assert_eq!(templates.len(), 5, "one template per index: {templates:?}");
    assert!(fake.auth.lock().unwrap().iter().all(|a| a == "ApiKey aWQ6a2V5"));
    c.shutdown().await;
}

#[tokio::test]
async fn data_streams_take_create_and_a_replayed_id_is_not_an_error() {
    let (url, fake) = fake_es(vec![vec![409, 201]]).await;
    let c = start(&format!(
        "exporters:\n  elasticsearch:\n    endpoint: '{url}'\n    index_mode: data_stream\n    indices: {{traces: traces-modelseed-default}}\n    auth: {{basic: {{username: elastic, password: s3cret}}}}\n    batch: {{flush_interval: 10ms}}\n"
    ))
    .await;
    wait_ready(&c).await;
    post_traces(&c, 2, 2).await;
    let sent = wait_for_metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"elasticsearch\"}", 2.0).await;
    assert_eq!(sent, 2.0, "409 on create means the document is already there");
    let bulks = fake.bulks.lock().unwrap().clone();
    assert_eq!(bulks.len(), 1);
    assert!(bulks[0].iter().all(|(action, index, _)| action == "create" && index == "traces-modelseed-default"));
    assert_eq!(fake.auth.lock().unwrap()[0], "Basic ZWxhc3RpYzpzM2NyZXQ=");
    c.shutdown().await;
}

#[tokio::test]
async fn a_down_cluster_keeps_the_collector_ready_and_gets_everything_once_it_is_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let c = start(&format!(
        "exporters:\n  elasticsearch:\n    endpoint: 'http://127.0.0.1:{port}'\n    batch: {{flush_interval: 10ms}}\n    retry: {{initial_interval: 10ms, max_interval: 100ms}}\n    persistent_queue: {{directory: '{}'}}\n",
        dir.path().display()
    ))
    .await;
    wait_ready(&c).await;
    for seed in 0..3 {
        post_traces(&c, 4, seed).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = client().get(admin_url(&c, "/metrics")).send().await.unwrap().text().await.unwrap();
    let on_disk = sample_value(&body, "seedwatch_queue_disk_bytes{queue=\"exporter/elasticsearch\"}").unwrap();
    assert!(on_disk > 0.0, "the batches wait on disk");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let fake = serve_fake_es(listener, Vec::new());
    let sent = wait_for_metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"elasticsearch\"}", 12.0).await;
    assert_eq!(sent, 12.0);
    let ids: std::collections::BTreeSet<String> =
        fake.bulks.lock().unwrap().iter().flatten().map(|(_, _, id)| id.clone()).collect();
    assert_eq!(ids.len(), 12);
    c.shutdown().await;
}

#[tokio::test]
async fn a_second_collector_on_the_same_queue_directory_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "{}exporters:\n  elasticsearch:\n    endpoint: 'http://127.0.0.1:9'\n    persistent_queue: {{directory: '{}'}}\n",
        receivers_on_port_zero(""),
        dir.path().display()
    );
    let first = start_with(&yaml).await;
    let settings = seedwatch_collector::config::Settings::parse(&yaml, "test.yaml", &|_| None).unwrap();
    let Err(err) = seedwatch_collector::app::RunningCollector::start(settings).await else {
        panic!("a second collector must not take the same queue directory");
    };
    let text = err.to_string();
    assert!(text.contains("in use by another seedwatch process"), "{text}");
    assert!(text.contains("exporter elasticsearch"), "{text}");
    first.shutdown().await;
}

#[tokio::test]
async fn shutdown_with_the_cluster_down_keeps_the_queue_on_disk_and_the_next_start_delivers_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "exporters:\n  elasticsearch:\n    endpoint: 'http://127.0.0.1:{port}'\n    batch: {{flush_interval: 10ms}}\n    retry: {{initial_interval: 10ms, max_interval: 50ms}}\n    persistent_queue: {{directory: '{}'}}\nservice: {{shutdown_timeout: 500ms}}\n",
        dir.path().display()
    );
    let c = start(&yaml).await;
    wait_ready(&c).await;
    post_traces(&c, 5, 21).await;
    let outcome = c.shutdown().await;
    assert_eq!(outcome, seedwatch_collector::pipeline::DrainOutcome::Drained, "nothing is lost: it is on disk");

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let _fake = serve_fake_es(listener, Vec::new());
    let c = start(&yaml).await;
    let sent = wait_for_metric(&c, "seedwatch_exporter_sent_spans_total{exporter=\"elasticsearch\"}", 5.0).await;
    assert_eq!(sent, 5.0, "the restarted collector delivers what the last one kept");
    c.shutdown().await;
}
