//! The `redis` section: where the state several replicas share lives.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::config::Problem;

/// The `redis` section. An empty `url` (the default) keeps every piece of state in this
/// process: budgets in the embedded store, agent health and the workflow roll-up in memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port[/db]` or `rediss://` for TLS; empty: no shared state.
    #[serde(default)]
    pub url: String,
    /// ACL user (else the URL's, else the default user).
    #[serde(default)]
    pub username: String,
    /// Password (else the URL's); use `${ENV}` rather than writing it in the file.
    #[serde(default)]
    pub password: String,
    /// TLS settings for `rediss://`.
    #[serde(default)]
    pub tls: RedisTls,
    /// Prepended to every key, so that several fleets can share one Redis.
    #[serde(default = "default_prefix")]
    pub key_prefix: String,
    /// How long a connection attempt may take.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// How long one command (one script call) may take before Redis counts as down.
    #[serde(default = "default_command_timeout", with = "humantime_serde")]
    pub command_timeout: Duration,
    /// How often each replica exchanges agent health and workflow contributions with Redis
    /// (budget spend goes every `budgets.store.flush_interval`).
    #[serde(default = "default_sync_interval", with = "humantime_serde")]
    pub sync_interval: Duration,
    /// How long the lease of the replica that evaluates agent health and sends the shared
    /// alerts lasts without renewal; a replica that dies is replaced after at most this.
    #[serde(default = "default_lease_ttl", with = "humantime_serde")]
    pub lease_ttl: Duration,
    /// Charges held in the local buffer while Redis is unreachable; beyond it new charges
    /// are not kept (counted in `seedwatch_redis_buffer_dropped_total`).
    #[serde(default = "default_buffer_max_charges")]
    pub buffer_max_charges: u64,
}

/// TLS to Redis (`rediss://` URLs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTls {
    /// PEM file of the CA that signed the server's certificate (default: the system's roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for servers that ask for one.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

fn default_prefix() -> String {
    "seedwatch:".to_owned()
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(2)
}

fn default_command_timeout() -> Duration {
    Duration::from_secs(1)
}

fn default_sync_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_lease_ttl() -> Duration {
    Duration::from_secs(10)
}

fn default_buffer_max_charges() -> u64 {
    1_000_000
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: String::new(),
            username: String::new(),
            password: String::new(),
            tls: RedisTls::default(),
            key_prefix: default_prefix(),
            connect_timeout: default_connect_timeout(),
            command_timeout: default_command_timeout(),
            sync_interval: default_sync_interval(),
            lease_ttl: default_lease_ttl(),
            buffer_max_charges: default_buffer_max_charges(),
        }
    }
}

impl RedisConfig {
    /// Whether state is shared through Redis.
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    /// Validates, paths under `redis`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        if !self.enabled() {
            return;
        }
        match redis::parse_redis_url(&self.url) {
            Some(u) if matches!(u.scheme(), "redis" | "rediss") && u.host().is_some() => {
                if u.scheme() == "redis" && (self.tls.ca_file.is_some() || self.tls.cert_file.is_some()) {
                    problems.push(Problem::found_expected(
                        "tls",
                        "TLS files with a redis:// url",
                        "a rediss:// url, or no tls section",
                    ));
                }
            }
            _ => problems.push(Problem::found_expected(
                "url",
                &self.url,
                "a Redis address such as `redis://redis:6379/0` or `rediss://redis:6380` (TLS)",
            )),
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            problems.push(Problem::new("tls", "`cert_file` and `key_file` go together: set both or neither"));
        }
        for (key, path) in [
            ("tls.ca_file", &self.tls.ca_file),
            ("tls.cert_file", &self.tls.cert_file),
            ("tls.key_file", &self.tls.key_file),
        ] {
            if let Some(path) = path
                && !path.is_file()
            {
                problems.push(Problem::found_expected(key, path.display(), "a readable PEM file"));
            }
        }
        if self.key_prefix.is_empty() || self.key_prefix.len() > 64 {
            problems.push(Problem::found_expected(
                "key_prefix",
                &self.key_prefix,
                "1 to 64 characters, such as `seedwatch:`",
            ));
        }
        for (key, d) in [
            ("connect_timeout", self.connect_timeout),
            ("command_timeout", self.command_timeout),
            ("sync_interval", self.sync_interval),
        ] {
            if d.is_zero() {
                problems.push(Problem::found_expected(key, "0s", "a positive duration such as `1s`"));
            }
        }
        if self.lease_ttl < self.sync_interval * 3 {
            problems.push(Problem::found_expected(
                "lease_ttl",
                humantime::format_duration(self.lease_ttl),
                format!(
                    "at least three sync intervals ({}), so that a live leader renews it in time",
                    humantime::format_duration(self.sync_interval * 3)
                ),
            ));
        }
        if self.buffer_max_charges == 0 {
            problems.push(Problem::found_expected("buffer_max_charges", 0, "a number greater than 0"));
        }
    }
}
