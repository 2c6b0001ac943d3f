//! HTTP to the cluster: auth, TLS with a custom CA, gzip, and what is worth retrying.

use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};

use super::config::{Auth, Basic, ElasticsearchConfig};
use crate::exporters::ExportError;

/// A client for one cluster.
#[derive(Debug, Clone)]
pub(super) struct Client {
    http: reqwest::Client,
    endpoint: String,
    gzip: bool,
}

fn auth_header(auth: &Auth) -> Option<HeaderValue> {
    use base64::Engine;
    let value = match (auth.basic(), auth.api_key(), auth.bearer()) {
        (Some(Basic { username, password }), _, _) => {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
        }
        (_, Some(key), _) => format!("ApiKey {key}"),
        (_, _, Some(token)) => format!("Bearer {token}"),
        _ => return None,
    };
    let mut value = HeaderValue::from_str(&value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Whether an HTTP status for a whole request is worth retrying. 401 and 403 are retried too:
/// they mean wrong credentials or privileges, which an operator fixes without the data being
/// at fault, so it waits in the queue meanwhile.
fn retryable(status: u16) -> bool {
    matches!(status, 401 | 403 | 408 | 429 | 500..=599)
}

impl Client {
    pub(super) fn new(config: &ElasticsearchConfig) -> Result<Client, ExportError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        if let Some(value) = config.auth.as_ref().and_then(auth_header) {
            headers.insert(AUTHORIZATION, value);
        }
        let mut builder = reqwest::Client::builder().timeout(config.timeout).default_headers(headers);
        if let Some(ca) = config.ca_file() {
            let pem = std::fs::read(ca)
                .map_err(|e| ExportError::Retryable(format!("cannot read ca_file {}: {e}", ca.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ExportError::Retryable(format!("ca_file {}: {e}", ca.display())))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| ExportError::Permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client { http, endpoint: config.endpoint.trim_end_matches('/').to_owned(), gzip: config.gzip })
    }

    /// Installs (or replaces) an index template.
    pub(super) async fn put_template(&self, name: &str, body: &serde_json::Value) -> Result<(), ExportError> {
        let url = format!("{}/_index_template/{name}", self.endpoint);
        let resp = self
            .http
            .put(&url)
            .json(body)
            .send()
            .await
            .map_err(|e| ExportError::Retryable(format!("PUT {url}: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let why = format!("PUT {url}: {status}: {}", text.chars().take(500).collect::<String>());
        if retryable(status.as_u16()) { Err(ExportError::Retryable(why)) } else { Err(ExportError::Permanent(why)) }
    }

    /// Sends one bulk body; returns the answer's body. `Err(Permanent)` means the whole
    /// request was refused as such (e.g. 400, 413), so its documents cannot be stored as sent.
    pub(super) async fn bulk(&self, body: bytes::Bytes) -> Result<bytes::Bytes, ExportError> {
        // Only what `bulk::outcomes` reads: answers shrink from ~200 to ~25 bytes per item.
        let url = format!("{}/_bulk?filter_path=errors,items.*.status,items.*.error", self.endpoint);
        let mut req = self.http.post(&url).header(CONTENT_TYPE, "application/x-ndjson");
        let body = if self.gzip {
            req = req.header(CONTENT_ENCODING, "gzip");
            bytes::Bytes::from(
                crate::exporters::gzip(&body).map_err(|e| ExportError::Retryable(format!("cannot gzip: {e}")))?,
            )
        } else {
            body
        };
        let resp = req.body(body).send().await.map_err(|e| ExportError::Retryable(format!("POST {url}: {e}")))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ExportError::Retryable(format!("POST {url}: {e}")))?;
        if !status.is_success() {
            let why = format!("POST {url}: {status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(500)]));
            return Err(if retryable(status.as_u16()) {
                ExportError::Retryable(why)
            } else {
                ExportError::Permanent(why)
            });
        }
        Ok(bytes)
    }
}
