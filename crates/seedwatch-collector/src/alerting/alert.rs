//! An alert as Alertmanager's v2 API takes it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

/// One alert: identified by its labels, described by its annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// `alertname`, `severity`, `scope` and what it is about (`service`/`instance`, `budget`).
    pub labels: BTreeMap<String, String>,
    /// `summary` and `description` (with the figures).
    pub annotations: BTreeMap<String, String>,
    /// When the condition began.
    pub starts_at: SystemTime,
    /// When it cleared; `None` while active.
    pub ends_at: Option<SystemTime>,
}

/// Severity label values.
pub mod severity {
    /// Needs attention soon.
    pub const WARNING: &str = "warning";
    /// Needs attention now.
    pub const CRITICAL: &str = "critical";
}

impl Alert {
    /// A firing alert named `name` with `labels` besides `alertname`, `severity` and `scope`.
    pub fn new(
        name: &str,
        severity: &str,
        scope: &str,
        labels: &[(&str, &str)],
        summary: String,
        description: String,
    ) -> Self {
        let mut all: BTreeMap<String, String> =
            labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        all.insert("alertname".into(), name.into());
        all.insert("severity".into(), severity.into());
        all.insert("scope".into(), scope.into());
        let annotations = BTreeMap::from([("summary".to_owned(), summary), ("description".to_owned(), description)]);
        Alert { labels: all, annotations, starts_at: SystemTime::now(), ends_at: None }
    }

    /// The identity: labels in order, as one string.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.labels)
    }

    /// `alertname`.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    /// The alert in Alertmanager's v2 `postableAlert` shape; an active alert gets
    /// `endsAt = now + valid_for`, so that Alertmanager resolves it by itself if seedwatch
    /// stops re-sending.
    pub fn postable(&self, valid_for: std::time::Duration) -> PostableAlert<'_> {
        let ends = self.ends_at.unwrap_or_else(|| SystemTime::now() + valid_for);
        PostableAlert {
            labels: &self.labels,
            annotations: &self.annotations,
            starts_at: rfc3339(self.starts_at),
            ends_at: rfc3339(ends),
            generator_url: "",
        }
    }
}

/// The labels as one string, for identity.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in labels {
        out.push_str(k);
        out.push('\u{1f}');
        out.push_str(v);
        out.push('\u{1e}');
    }
    out
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Alertmanager v2 `postableAlert`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert<'a> {
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
}
