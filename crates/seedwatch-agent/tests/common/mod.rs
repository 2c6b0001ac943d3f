//! A capturing OTLP/HTTP receiver for the integration tests: it keeps every request body and
//! answers 200 with an empty (all-accepted) response, or refuses everything when told to.

#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

type Store = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// The receiver.
pub struct Capture {
    pub addr: SocketAddr,
    bodies: Store,
}

async fn keep(State(store): State<Store>, uri: Uri, body: Bytes) -> impl IntoResponse {
    store.lock().unwrap().push((uri.path().to_owned(), body.to_vec()));
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-protobuf")], Vec::<u8>::new())
}

/// Starts the receiver on a free loopback port.
pub async fn start() -> Capture {
    let bodies: Store = Arc::default();
    let app = Router::new()
        .route("/v1/traces", post(keep))
        .route("/v1/metrics", post(keep))
        .route("/v1/logs", post(keep))
        .with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Capture { addr, bodies }
}

impl Capture {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn of(&self, path: &str) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().iter().filter(|(p, _)| p == path).map(|(_, b)| b.clone()).collect()
    }

    /// Every body received, whatever the signal.
    pub fn raw(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().iter().map(|(_, b)| b.clone()).collect()
    }

    pub fn traces(&self) -> Vec<ExportTraceServiceRequest> {
        self.of("/v1/traces").iter().map(|b| ExportTraceServiceRequest::decode(b.as_slice()).unwrap()).collect()
    }

    pub fn logs(&self) -> Vec<ExportLogsServiceRequest> {
        self.of("/v1/logs").iter().map(|b| ExportLogsServiceRequest::decode(b.as_slice()).unwrap()).collect()
    }

    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.of("/v1/metrics").iter().map(|b| ExportMetricsServiceRequest::decode(b.as_slice()).unwrap()).collect()
    }
}

/// A JSON-log writer whose output the test can read.
#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
