//! What the doors refused, for `/metrics`: `seedwatch_receiver_auth_failures_total{receiver,reason}`,
//! `seedwatch_receiver_rate_limited_total{receiver,by,limit}` and
//! `seedwatch_security_reloads_total{file,outcome}`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    receiver: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitedLabels {
    receiver: &'static str,
    by: &'static str,
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    file: &'static str,
    outcome: &'static str,
}

/// The security counters.
#[derive(Debug, Default)]
pub struct SecurityMetrics {
    auth_failures: Family<FailureLabels, Counter>,
    rate_limited: Family<LimitedLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
}

impl SecurityMetrics {
    /// Registers the families.
    pub fn register(registry: &mut Registry) -> Self {
        let m = SecurityMetrics::default();
        registry.register(
            "seedwatch_receiver_auth_failures",
            "Requests refused for their credential, by listener and reason: missing, invalid, forbidden (no role), host (admin Host not allowed)",
            m.auth_failures.clone(),
        );
        registry.register(
            "seedwatch_receiver_rate_limited",
            "Requests refused by a rate limit, by listener, key (credential, address) and limit (requests, bytes)",
            m.rate_limited.clone(),
        );
        registry.register(
            "seedwatch_security_reloads",
            "Certificate and credentials files re-read after a change, by file (tls, credentials) and outcome (applied, failed)",
            m.reloads.clone(),
        );
        m
    }

    /// Counts a refused credential.
    pub fn auth_failure(&self, receiver: &'static str, reason: &'static str) {
        self.auth_failures.get_or_create(&FailureLabels { receiver, reason }).inc();
    }

    /// Counts a rate-limited request.
    pub fn rate_limited(&self, receiver: &'static str, by: &'static str, limit: &'static str) {
        self.rate_limited.get_or_create(&LimitedLabels { receiver, by, limit }).inc();
    }

    /// Counts a reload.
    pub fn reload(&self, file: &'static str, outcome: &'static str) {
        self.reloads.get_or_create(&ReloadLabels { file, outcome }).inc();
    }
}
