//! Where alerts go: Alertmanager, a generic JSON webhook, and log records.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::config::Problem;
use crate::exporters::RetryConfig;

/// The `alerting` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// Alertmanager's v2 API.
    #[serde(default)]
    pub alertmanager: AlertmanagerConfig,
    /// A generic JSON webhook (Alertmanager's webhook payload shape).
    #[serde(default)]
    pub webhook: WebhookConfig,
    /// Every alert raised or resolved is also a log record for the exporters.
    #[serde(default = "crate::config::default_true")]
    pub log_records: bool,
    /// Retries of a failed delivery.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Deliveries waiting per destination; beyond it new ones are dropped and counted (alerts
    /// stay active and are re-sent).
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// Alerts active at once; beyond it new alerts are dropped and counted
    /// (`seedwatch_alerts_dropped_total`), active ones are kept.
    #[serde(default = "default_max_active")]
    pub max_active: usize,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            alertmanager: AlertmanagerConfig::default(),
            webhook: WebhookConfig::default(),
            log_records: true,
            retry: RetryConfig::default(),
            queue_capacity: default_queue_capacity(),
            max_active: default_max_active(),
        }
    }
}

fn default_queue_capacity() -> usize {
    1000
}
fn default_max_active() -> usize {
    20_000
}

/// Alertmanager (`POST {url}/api/v2/alerts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Base URL such as `http://alertmanager:9093`; empty: off.
    #[serde(default)]
    pub url: String,
    /// Active alerts are re-sent this often, as Alertmanager expects of its clients.
    #[serde(default = "default_resend_interval", with = "humantime_serde")]
    pub resend_interval: Duration,
    /// Per request.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Extra request headers (e.g. `Authorization`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A JSON webhook (`POST {url}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST; empty: off.
    #[serde(default)]
    pub url: String,
    /// Per request.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Extra request headers (e.g. `Authorization`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        AlertmanagerConfig {
            url: String::new(),
            resend_interval: default_resend_interval(),
            timeout: default_timeout(),
            headers: BTreeMap::new(),
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig { url: String::new(), timeout: default_timeout(), headers: BTreeMap::new() }
    }
}

fn default_resend_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn check_url(url: &str, path: &str, problems: &mut Vec<Problem>) {
    if url.is_empty() {
        return;
    }
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => problems.push(Problem::found_expected(path, url, "an http:// or https:// URL, or empty to turn it off")),
    }
}

fn check_headers(headers: &BTreeMap<String, String>, path: &str, problems: &mut Vec<Problem>) {
    for (name, value) in headers {
        let ok = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(value).is_ok();
        if !ok {
            problems.push(Problem::new(format!("{path}.{name}"), "not a valid HTTP header name and value"));
        }
    }
}

impl AlertingConfig {
    /// Pushes a problem for every bad value; paths under `alerting`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        check_url(&self.alertmanager.url, "alerting.alertmanager.url", problems);
        check_url(&self.webhook.url, "alerting.webhook.url", problems);
        check_headers(&self.alertmanager.headers, "alerting.alertmanager.headers", problems);
        check_headers(&self.webhook.headers, "alerting.webhook.headers", problems);
        if self.alertmanager.resend_interval < Duration::from_secs(1) {
            problems.push(Problem::found_expected(
                "alerting.alertmanager.resend_interval",
                humantime::format_duration(self.alertmanager.resend_interval),
                "at least 1s (Alertmanager's own default expects about 1m)",
            ));
        }
        for (path, t) in [
            ("alerting.alertmanager.timeout", self.alertmanager.timeout),
            ("alerting.webhook.timeout", self.webhook.timeout),
        ] {
            if t.is_zero() {
                problems.push(Problem::new(path, "must be longer than 0s, e.g. 10s"));
            }
        }
        if self.queue_capacity == 0 {
            problems.push(Problem::found_expected("alerting.queue_capacity", 0, "at least 1"));
        }
        if self.max_active == 0 || self.max_active > 1_000_000 {
            problems.push(Problem::found_expected(
                "alerting.max_active",
                self.max_active,
                "a number of alerts between 1 and 1000000",
            ));
        }
    }
}
