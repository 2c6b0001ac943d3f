//! `max_concurrent_requests` bounds how many request bodies are in memory at once: with a
//! limit of one, a second request waits, unread, until the first is done.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_request_waits_for_the_first_to_finish() {
    let c = start_with(&receivers_on_port_zero(", max_concurrent_requests: 1")).await;
    let body = traces(3, 1).encode_to_vec();
    let (head, tail) = body.split_at(body.len() / 2);

    // First request: headers and half the body, then nothing for a while.
    let mut slow = tokio::net::TcpStream::connect(c.http_addr.unwrap()).await.unwrap();
    let headers = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: seedwatch\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    slow.write_all(headers.as_bytes()).await.unwrap();
    slow.write_all(head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Second request: complete, but there is no free slot.
    let url = http_url(&c, "/v1/traces");
    let second_body = traces(4, 2).encode_to_vec();
    let second = tokio::spawn(async move {
        client()
            .post(url)
            .header("content-type", "application/x-protobuf")
            .body(second_body)
            .send()
            .await
            .unwrap()
            .status()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "the second request must wait while the first holds the only slot");

    slow.write_all(tail).await.unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(second.await.unwrap(), 200);
    assert_eq!(metric(&c, "seedwatch_receiver_accepted_spans_total{transport=\"http_protobuf\"}").await, 7.0);
    c.shutdown().await;
}
