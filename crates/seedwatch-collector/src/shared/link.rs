//! The connection to Redis: one blocking connection, opened on first use and again after any
//! failure, every call bounded by `command_timeout`. It keeps the link's state for `/health`
//! (degraded, with the error, while Redis cannot be reached) and counts every round trip.
//! Only the shared-state threads call it; the span path never waits on Redis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::config::RedisConfig;
use crate::derived_metrics::{CounterFamily, DerivedRegistry, GaugeFamily, SeriesLimits};
use crate::health::{ComponentKind, ComponentStatus, Health};

/// The health component that reports the link.
pub const HEALTH_NAME: &str = "shared_state/redis";

/// Why a Redis call failed.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// The client could not be set up from the config.
    #[error("redis: cannot set up the client for {url}: {message}")]
    Setup {
        /// The configured URL, without credentials.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Redis answered with an error or could not be reached in time.
    #[error("redis {op}: {message}")]
    Call {
        /// What was being done.
        op: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Redis answered something this version does not understand.
    #[error("redis {op}: unexpected answer: {message}")]
    Answer {
        /// What was being done.
        op: &'static str,
        /// What was wrong with it.
        message: String,
    },
}

/// The link's own series.
#[derive(Debug)]
struct LinkMetrics {
    calls: Arc<CounterFamily>,
    up: Arc<GaugeFamily>,
}

#[derive(Debug)]
struct Down {
    since: Instant,
}

/// After a failed connection attempt, calls fail at once for this long instead of each
/// waiting `connect_timeout` again (an unreachable Redis would otherwise slow every round).
const RECONNECT_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// A connection to Redis shared by the budgets' flusher and the sync thread.
pub struct RedisLink {
    client: redis::Client,
    config: RedisConfig,
    conn: Mutex<Option<redis::Connection>>,
    /// When the last connection attempt failed, and why.
    failed_connect: Mutex<Option<(Instant, String)>>,
    down: Mutex<Option<Down>>,
    up: AtomicBool,
    metrics: LinkMetrics,
    health: Option<Arc<Health>>,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink").field("url", &redacted(&self.config.url)).field("up", &self.is_up()).finish()
    }
}

/// The URL as it may be logged: without its password.
fn redacted(url: &str) -> String {
    match redis::parse_redis_url(url) {
        Some(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        None => "<unparsable url>".to_owned(),
    }
}

fn read_pem(path: &std::path::Path, what: &str, url: &str) -> Result<Vec<u8>, SharedError> {
    std::fs::read(path).map_err(|e| SharedError::Setup {
        url: redacted(url),
        message: format!("cannot read {what} {}: {e}", path.display()),
    })
}

fn client(config: &RedisConfig) -> Result<redis::Client, SharedError> {
    // rediss:// builds a rustls client: on ring, as every client here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let setup = |e: redis::RedisError| SharedError::Setup { url: redacted(&config.url), message: e.to_string() };
    let mut info = redis::IntoConnectionInfo::into_connection_info(config.url.as_str()).map_err(setup)?;
    let mut settings = info.redis_settings().clone();
    if !config.username.is_empty() {
        settings = settings.set_username(&config.username);
    }
    if !config.password.is_empty() {
        settings = settings.set_password(&config.password);
    }
    info = info.set_redis_settings(settings);
    let tls = &config.tls;
    if tls.ca_file.is_none() && tls.cert_file.is_none() {
        return redis::Client::open(info).map_err(setup);
    }
    let root_cert = tls.ca_file.as_deref().map(|p| read_pem(p, "tls.ca_file", &config.url)).transpose()?;
    let client_tls = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
            client_cert: read_pem(cert, "tls.cert_file", &config.url)?,
            client_key: read_pem(key, "tls.key_file", &config.url)?,
        }),
        _ => None,
    };
    redis::Client::build_with_tls(info, redis::TlsCertificates { client_tls, root_cert }).map_err(setup)
}

impl RedisLink {
    /// A link to the configured Redis; nothing is connected yet. Its health is reported to
    /// `health` and its series registered on `registry`.
    pub fn new(
        config: RedisConfig,
        registry: &DerivedRegistry,
        health: Option<Arc<Health>>,
    ) -> Result<Arc<RedisLink>, SharedError> {
        let limits = SeriesLimits { max_series: 64, ttl: std::time::Duration::from_secs(86_400 * 365) };
        let metrics = LinkMetrics {
            calls: registry.counter(
                "seedwatch_redis_calls",
                "Round trips to Redis (one script or command each), by operation and outcome (ok, error)",
                &["op", "outcome"],
                limits,
            ),
            up: registry.gauge("seedwatch_redis_up", "1 while the last call to Redis succeeded", &[], limits),
        };
        if let Some(health) = &health {
            health.register(ComponentKind::Processor, HEALTH_NAME, Some(redacted(&config.url)));
            health.set(ComponentKind::Processor, HEALTH_NAME, ComponentStatus::Starting);
        }
        Ok(Arc::new(RedisLink {
            client: client(&config)?,
            config,
            conn: Mutex::new(None),
            failed_connect: Mutex::new(None),
            down: Mutex::new(None),
            up: AtomicBool::new(false),
            metrics,
            health,
        }))
    }

    /// The `redis` section in force.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// A key under the configured prefix.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.config.key_prefix)
    }

    /// Whether the last call succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn connection(&self) -> MutexGuard<'_, Option<redis::Connection>> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let mut failed = self.failed_connect.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, why)) = failed.as_ref().filter(|(at, _)| at.elapsed() < RECONNECT_AFTER) {
            return Err(redis::RedisError::from((redis::ErrorKind::Io, "cannot connect", why.clone())));
        }
        let conn = match self.client.get_connection_with_timeout(self.config.connect_timeout) {
            Ok(conn) => conn,
            Err(e) => {
                *failed = Some((Instant::now(), e.to_string()));
                return Err(e);
            }
        };
        *failed = None;
        drop(failed);
        conn.set_read_timeout(Some(self.config.command_timeout))?;
        conn.set_write_timeout(Some(self.config.command_timeout))?;
        Ok(conn)
    }

    /// Runs `f` on the connection (connecting first if needed); on failure the connection is
    /// dropped, to be opened again by the next call.
    pub fn call<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, SharedError> {
        let mut guard = self.connection();
        let result = match guard.as_mut() {
            Some(conn) => f(conn),
            None => self.connect().and_then(|mut conn| {
                let r = f(&mut conn);
                *guard = Some(conn);
                r
            }),
        };
        match result {
            Ok(v) => {
                self.metrics.calls.inc(&[op, "ok"], 1.0);
                self.mark_up();
                Ok(v)
            }
            Err(e) => {
                *guard = None;
                drop(guard);
                self.metrics.calls.inc(&[op, "error"], 1.0);
                let message = e.to_string();
                self.mark_down(op, &message);
                Err(SharedError::Call { op, message })
            }
        }
    }

    fn mark_up(&self) {
        self.metrics.up.set(&[], 1.0);
        if self.up.swap(true, Ordering::Relaxed) {
            return;
        }
        let was_down = self.down.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(down) = was_down {
            tracing::info!(after = ?down.since.elapsed(), "redis is reachable again; shared state resumes");
        }
        if let Some(health) = &self.health {
            health.set(ComponentKind::Processor, HEALTH_NAME, ComponentStatus::Ok);
        }
    }

    fn mark_down(&self, op: &str, message: &str) {
        self.metrics.up.set(&[], 0.0);
        let first =
            self.up.swap(false, Ordering::Relaxed) || self.down.lock().unwrap_or_else(|p| p.into_inner()).is_none();
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        let since = down.as_ref().map_or_else(Instant::now, |d| d.since);
        *down = Some(Down { since });
        drop(down);
        if first {
            tracing::warn!(op, error = message, "redis unreachable: shared state waits in the local buffer");
        }
        if let Some(health) = &self.health {
            let why = format!(
                "redis unreachable for {}s ({op}: {message}); budget charges wait in the local buffer, agent health \
                 and workflow roll-up in memory",
                since.elapsed().as_secs()
            );
            health.set(ComponentKind::Processor, HEALTH_NAME, ComponentStatus::Degraded(why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_url_has_no_password() {
        assert_eq!(redacted("redis://user:secret@redis:6379/0"), "redis://user:***@redis:6379/0");
        assert_eq!(redacted("redis://redis:6379"), "redis://redis:6379");
    }
}
