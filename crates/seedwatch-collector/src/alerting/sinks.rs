//! Destinations: Alertmanager's v2 API and a generic JSON webhook; each has its own bounded
//! queue and task, so a slow or dead destination never blocks the others or ingestion.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use tokio::sync::mpsc;

use super::alert::Alert;
use crate::derived_metrics::CounterFamily;
use crate::exporters::{Backoff, RetryConfig};

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// No answer, or no connection.
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    /// An answer other than 2xx.
    #[error("answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: reqwest::StatusCode,
        /// The start of the body.
        body: String,
    },
}

/// One destination.
#[derive(Debug, Clone)]
pub enum Sink {
    /// `POST {url}/api/v2/alerts` with a JSON array of postable alerts.
    Alertmanager {
        /// The HTTP client (timeout, headers).
        client: reqwest::Client,
        /// The full endpoint.
        endpoint: String,
        /// How long an active alert stays valid without being re-sent.
        valid_for: Duration,
    },
    /// `POST {url}` with `{receiver, status, alerts}` (Alertmanager's webhook shape).
    Webhook {
        /// The HTTP client (timeout, headers).
        client: reqwest::Client,
        /// The URL.
        url: String,
    },
}

/// An HTTP client with a timeout and default headers (validated with the config).
pub fn client(timeout: Duration, headers: &BTreeMap<String, String>) -> Result<reqwest::Client, reqwest::Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            map.insert(k, v);
        }
    }
    reqwest::Client::builder().timeout(timeout).default_headers(map).build()
}

impl Sink {
    /// `alertmanager` or `webhook`.
    pub fn name(&self) -> &'static str {
        match self {
            Sink::Alertmanager { .. } => "alertmanager",
            Sink::Webhook { .. } => "webhook",
        }
    }

    /// Delivers the alerts once.
    pub async fn send(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let resp = match self {
            Sink::Alertmanager { client, endpoint, valid_for } => {
                let body: Vec<_> = alerts.iter().map(|a| a.postable(*valid_for)).collect();
                client.post(endpoint).json(&body).send().await?
            }
            Sink::Webhook { client, url } => {
                let status = if alerts.iter().all(|a| a.ends_at.is_some()) { "resolved" } else { "firing" };
                let items: Vec<_> = alerts
                    .iter()
                    .map(|a| {
                        let mut v = serde_json::to_value(a.postable(Duration::ZERO)).unwrap_or_default();
                        v["status"] = json!(if a.ends_at.is_some() { "resolved" } else { "firing" });
                        v
                    })
                    .collect();
                client
                    .post(url)
                    .json(&json!({"receiver": "seedwatch", "status": status, "alerts": items}))
                    .send()
                    .await?
            }
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let mut body = resp.text().await.unwrap_or_default();
        body.truncate(300);
        Err(SinkError::Status { status, body })
    }
}

/// A running destination: its queue.
#[derive(Debug, Clone)]
pub struct SinkHandle {
    /// `alertmanager` or `webhook`.
    pub name: &'static str,
    /// Batches to deliver.
    pub tx: mpsc::Sender<Vec<Alert>>,
}

/// Starts the delivery task of a destination.
pub fn spawn(sink: Sink, capacity: usize, retry: RetryConfig, outcomes: Arc<CounterFamily>) -> SinkHandle {
    let (tx, mut rx) = mpsc::channel::<Vec<Alert>>(capacity);
    let name = sink.name();
    tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            let started = Instant::now();
            let mut backoff = Backoff::new(&retry);
            loop {
                match sink.send(&batch).await {
                    Ok(()) => {
                        outcomes.inc(&[name, "sent"], batch.len() as f64);
                        break;
                    }
                    Err(err) => {
                        let wait = backoff.next_wait();
                        if started.elapsed() + wait > retry.max_elapsed_time {
                            tracing::error!(destination = name, alerts = batch.len(), error = %err, "alert delivery failed; giving up");
                            outcomes.inc(&[name, "failed"], batch.len() as f64);
                            break;
                        }
                        tracing::warn!(destination = name, error = %err, retry_in = ?wait, "alert delivery failed; retrying");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    });
    SinkHandle { name, tx }
}
