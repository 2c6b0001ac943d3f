//! The `security` section: server TLS for the listeners, the credentials that authenticate
//! clients, and per-credential and per-address rate limits.

use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

use super::credentials::CredentialsSpec;
use super::tls;
use crate::config::Problem;

/// The `security` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    /// Server TLS, for every listener that does not turn it off.
    #[serde(default)]
    pub tls: TlsConfig,
    /// Who may send and read.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Requests and bytes one credential or one client address may send.
    #[serde(default)]
    pub rate_limits: RateLimitsConfig,
    /// How often the certificate, key, client CA and credentials files are checked for
    /// changes; a change is applied without a restart.
    #[serde(default = "default_reload_interval", with = "humantime_serde")]
    pub reload_interval: Duration,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            reload_interval: default_reload_interval(),
        }
    }
}

fn default_reload_interval() -> Duration {
    Duration::from_secs(10)
}

/// Server TLS. Off while `cert_file` is empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    #[serde(default)]
    pub cert_file: String,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key_file: String,
    /// PEM CA certificates that sign client certificates; set it to ask clients for one.
    #[serde(default)]
    pub client_ca_file: String,
    /// With `client_ca_file`: `required` (default; no valid client certificate, no connection)
    /// or `optional` (a certificate, if sent, must be valid).
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// The oldest TLS version accepted.
    #[serde(default)]
    pub min_version: TlsVersion,
}

impl TlsConfig {
    /// Whether TLS is configured.
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty()
    }
}

/// Whether clients must present a certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// Every client must present a certificate the client CA signed.
    #[default]
    Required,
    /// A client may present one; if it does, it must be valid.
    Optional,
}

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    Tls13,
}

/// Credentials: inline, from a file, or both (names must be unique across the two).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// A YAML file of `tokens`, `basic` and `clients` (the shape of the inline keys), re-read
    /// when it changes. Empty: none.
    #[serde(default)]
    pub credentials_file: String,
    /// Inline credentials, the same shape as the file.
    #[serde(default)]
    pub credentials: CredentialsSpec,
}

/// Per-credential and per-address limits; 0 turns a limit off.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// For each authenticated credential.
    #[serde(default)]
    pub per_credential: RateLimit,
    /// For each client IP address.
    #[serde(default)]
    pub per_address: RateLimit,
}

/// A sustained rate with bursts of `burst` seconds' worth.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second (0: unlimited).
    #[serde(default)]
    pub requests_per_second: f64,
    /// Request bytes per second, as sent (0: unlimited).
    #[serde(default = "zero_bytes")]
    pub bytes_per_second: ByteSize,
    /// How many seconds of the rate may be used at once.
    #[serde(default = "default_burst", with = "humantime_serde")]
    pub burst: Duration,
}

fn zero_bytes() -> ByteSize {
    ByteSize::b(0)
}

fn default_burst() -> Duration {
    Duration::from_secs(2)
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { requests_per_second: 0.0, bytes_per_second: zero_bytes(), burst: default_burst() }
    }
}

impl RateLimit {
    /// Whether any limit is set.
    pub fn enabled(&self) -> bool {
        self.requests_per_second > 0.0 || self.bytes_per_second.as_u64() > 0
    }

    fn validate(&self, path: &str, problems: &mut Vec<Problem>) {
        if !self.requests_per_second.is_finite() || self.requests_per_second < 0.0 {
            problems.push(Problem::found_expected(
                format!("{path}.requests_per_second"),
                self.requests_per_second,
                "a number of requests per second, 0 for no limit",
            ));
        }
        if self.enabled() && (self.burst < Duration::from_millis(100) || self.burst > Duration::from_secs(3600)) {
            problems.push(Problem::found_expected(
                format!("{path}.burst"),
                humantime::format_duration(self.burst),
                "a duration between 100ms and 1h, such as `2s`",
            ));
        }
    }
}

impl SecurityConfig {
    /// Validates, reading the certificate, key and credentials files; paths under `security`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        let mut own = Vec::new();
        if self.reload_interval < Duration::from_millis(100) {
            own.push(Problem::found_expected(
                "reload_interval",
                humantime::format_duration(self.reload_interval),
                "at least `100ms`, such as `10s`",
            ));
        }
        self.validate_tls(&mut own);
        self.auth.credentials.validate("auth.credentials", &mut own);
        if !self.auth.credentials_file.is_empty() {
            match CredentialsSpec::load(&self.auth.credentials_file) {
                Ok(file) => {
                    file.validate(&format!("auth.credentials_file ({})", self.auth.credentials_file), &mut own);
                    for name in self.auth.credentials.names().filter(|n| file.names().any(|m| m == *n)) {
                        own.push(Problem::new(
                            "auth.credentials_file",
                            format!("credential `{name}` is both inline and in the file; give each a unique name"),
                        ));
                    }
                }
                Err(err) => own.push(Problem::new("auth.credentials_file", err.to_string())),
            }
        }
        if !self.auth.credentials.clients.is_empty() && self.tls.client_ca_file.is_empty() {
            own.push(Problem::new(
                "auth.credentials.clients",
                "client-certificate credentials need `security.tls.client_ca_file` to verify certificates",
            ));
        }
        self.rate_limits.per_credential.validate("rate_limits.per_credential", &mut own);
        self.rate_limits.per_address.validate("rate_limits.per_address", &mut own);
        problems.extend(own.into_iter().map(|p| p.under("security")));
    }

    fn validate_tls(&self, problems: &mut Vec<Problem>) {
        let t = &self.tls;
        if t.cert_file.is_empty() != t.key_file.is_empty() {
            problems.push(Problem::new("tls", "set both `cert_file` and `key_file` (PEM), or neither for no TLS"));
            return;
        }
        if !t.enabled() {
            if !t.client_ca_file.is_empty() {
                problems.push(Problem::new(
                    "tls.client_ca_file",
                    "client certificates need server TLS: set `cert_file` and `key_file` too",
                ));
            }
            return;
        }
        if let Err(err) = tls::ServerTls::load(t) {
            problems.push(Problem::new(format!("tls.{}", err.key()), err.to_string()));
        }
    }

    /// Whether any credential is configured (then listeners demand one unless told not to).
    pub fn auth_configured(&self) -> bool {
        !self.auth.credentials_file.is_empty() || !self.auth.credentials.is_empty()
    }
}
