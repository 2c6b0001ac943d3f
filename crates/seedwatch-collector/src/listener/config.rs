//! The `connections` section every listener takes: how many connections, how long each may
//! stay and how fast a request must arrive. Every key is optional; each listener has its own
//! defaults ([`ConnectionLimits::otlp_http`], [`ConnectionLimits::otlp_grpc`],
//! [`ConnectionLimits::admin`]), whose reasons are in `docs/operations.md`.

use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

use crate::config::Problem;

/// What a config file sets; unset keys take the listener's defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsConfig {
    /// Connections open at once. When full, the longest-idle connection is closed to make
    /// room; if none is idle the new connection is closed at once (counted).
    pub max_connections: Option<usize>,
    /// A new connection must deliver its first request's headers (HTTP/1) or its first
    /// request (HTTP/2) within this; so must the headers of every later HTTP/1 request, once
    /// their first byte has arrived.
    #[serde(default, with = "humantime_serde::option")]
    pub header_read_timeout: Option<Duration>,
    /// A connection with no request in flight for this long is closed.
    #[serde(default, with = "humantime_serde::option")]
    pub idle_timeout: Option<Duration>,
    /// A connection is closed gracefully (HTTP/2 GOAWAY, HTTP/1 `Connection: close`) once this
    /// old, so that clients spread over replicas again.
    #[serde(default, with = "humantime_serde::option")]
    pub max_connection_age: Option<Duration>,
    /// A request body must be read completely within this.
    #[serde(default, with = "humantime_serde::option")]
    pub body_read_timeout: Option<Duration>,
    /// Bytes per second a request body must arrive at on average, after a 2 s start.
    pub min_body_rate: Option<ByteSize>,
    /// HTTP/2 PING sent to an idle client this often (0s: never), to find dead peers.
    #[serde(default, with = "humantime_serde::option")]
    pub keepalive_interval: Option<Duration>,
    /// A PING not answered within this closes the connection.
    #[serde(default, with = "humantime_serde::option")]
    pub keepalive_timeout: Option<Duration>,
    /// HTTP/2 streams (requests) one connection may have open at once.
    pub max_concurrent_streams: Option<u32>,
}

/// The limits in force on one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// See [`ConnectionsConfig::max_connections`].
    pub max_connections: usize,
    /// See [`ConnectionsConfig::header_read_timeout`].
    pub header_read_timeout: Duration,
    /// See [`ConnectionsConfig::idle_timeout`].
    pub idle_timeout: Duration,
    /// See [`ConnectionsConfig::max_connection_age`].
    pub max_connection_age: Duration,
    /// See [`ConnectionsConfig::body_read_timeout`].
    pub body_read_timeout: Duration,
    /// See [`ConnectionsConfig::min_body_rate`], bytes per second.
    pub min_body_rate: u64,
    /// See [`ConnectionsConfig::keepalive_interval`]; zero: off.
    pub keepalive_interval: Duration,
    /// See [`ConnectionsConfig::keepalive_timeout`].
    pub keepalive_timeout: Duration,
    /// See [`ConnectionsConfig::max_concurrent_streams`].
    pub max_concurrent_streams: u32,
}

impl ConnectionLimits {
    /// OTLP/HTTP: SDK exporters send a request every 1–60 s on a kept-alive connection.
    pub fn otlp_http() -> Self {
        ConnectionLimits {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_connection_age: Duration::from_secs(3600),
            body_read_timeout: Duration::from_secs(60),
            min_body_rate: 16 * 1024,
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            max_concurrent_streams: 100,
        }
    }

    /// OTLP/gRPC: channels are long-lived and multiplex requests; idle ones are cheap, so they
    /// may stay longer, and a maximum age spreads them over replicas.
    pub fn otlp_grpc() -> Self {
        ConnectionLimits {
            idle_timeout: Duration::from_secs(300),
            max_connection_age: Duration::from_secs(1800),
            keepalive_interval: Duration::from_secs(30),
            ..Self::otlp_http()
        }
    }

    /// The admin server: probes, scrapes and people; few connections, small requests.
    pub fn admin() -> Self {
        ConnectionLimits {
            max_connections: 256,
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(10),
            ..Self::otlp_http()
        }
    }
}

impl ConnectionsConfig {
    /// `defaults` with what the file sets.
    pub fn resolve(&self, defaults: ConnectionLimits) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections.unwrap_or(defaults.max_connections),
            header_read_timeout: self.header_read_timeout.unwrap_or(defaults.header_read_timeout),
            idle_timeout: self.idle_timeout.unwrap_or(defaults.idle_timeout),
            max_connection_age: self.max_connection_age.unwrap_or(defaults.max_connection_age),
            body_read_timeout: self.body_read_timeout.unwrap_or(defaults.body_read_timeout),
            min_body_rate: self.min_body_rate.map_or(defaults.min_body_rate, |r| r.as_u64()),
            keepalive_interval: self.keepalive_interval.unwrap_or(defaults.keepalive_interval),
            keepalive_timeout: self.keepalive_timeout.unwrap_or(defaults.keepalive_timeout),
            max_concurrent_streams: self.max_concurrent_streams.unwrap_or(defaults.max_concurrent_streams),
        }
    }

    /// Pushes a problem for every bad value; paths under `path`.
    pub fn validate(&self, defaults: ConnectionLimits, path: &str, problems: &mut Vec<Problem>) {
        let l = self.resolve(defaults);
        let key = |k: &str| format!("{path}.{k}");
        let duration = |d: Duration| humantime::format_duration(d).to_string();
        if l.max_connections == 0 || l.max_connections > 1_000_000 {
            problems.push(Problem::found_expected(key("max_connections"), l.max_connections, "between 1 and 1000000"));
        }
        for (name, d, min) in [
            ("header_read_timeout", l.header_read_timeout, Duration::from_millis(100)),
            ("idle_timeout", l.idle_timeout, Duration::from_millis(100)),
            ("max_connection_age", l.max_connection_age, Duration::from_secs(1)),
            ("body_read_timeout", l.body_read_timeout, Duration::from_millis(100)),
            ("keepalive_timeout", l.keepalive_timeout, Duration::from_millis(100)),
        ] {
            if d < min || d > Duration::from_secs(7 * 86_400) {
                problems.push(Problem::found_expected(
                    key(name),
                    duration(d),
                    format!("a duration between {} and 7d", duration(min)),
                ));
            }
        }
        if l.min_body_rate == 0 {
            problems.push(Problem::found_expected(
                key("min_body_rate"),
                "0B",
                "a rate of at least 1B per second, e.g. 16KiB",
            ));
        }
        if l.max_concurrent_streams == 0 {
            problems.push(Problem::found_expected(key("max_concurrent_streams"), 0, "at least 1, e.g. 100"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_keys_take_the_listener_defaults() {
        let cfg: ConnectionsConfig = serde_norway::from_str("{idle_timeout: 5s, min_body_rate: 1KiB}").expect("yaml");
        let l = cfg.resolve(ConnectionLimits::otlp_grpc());
        assert_eq!(l.idle_timeout, Duration::from_secs(5));
        assert_eq!(l.min_body_rate, 1024);
        assert_eq!(l.max_connection_age, ConnectionLimits::otlp_grpc().max_connection_age);
        let mut problems = Vec::new();
        cfg.validate(ConnectionLimits::admin(), "admin.connections", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn validate_rejects_zero_limits_naming_the_key() {
        let cfg: ConnectionsConfig =
            serde_norway::from_str("{max_connections: 0, idle_timeout: 0s, min_body_rate: 0B}").expect("yaml");
        let mut problems = Vec::new();
        cfg.validate(ConnectionLimits::otlp_http(), "receivers.otlp.http.connections", &mut problems);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "receivers.otlp.http.connections.max_connections",
                "receivers.otlp.http.connections.idle_timeout",
                "receivers.otlp.http.connections.min_body_rate"
            ]
        );
        assert!(serde_norway::from_str::<ConnectionsConfig>("{max_conections: 5}").is_err(), "unknown keys refused");
    }
}
