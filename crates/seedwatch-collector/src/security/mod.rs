//! Locking the doors: server TLS (optionally mutual) on every listener, credentials with roles
//! and tenants (bearer tokens, basic auth, client certificates), per-credential and per-address
//! rate limits, and the reload of certificate and credentials files without a restart.

mod authenticate;
mod config;
mod credentials;
mod guard;
mod metrics;
mod rate_limit;
mod tls;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

pub use authenticate::{AuthFailure, Authenticator};
pub use config::{AuthConfig, ClientAuth, RateLimit, RateLimitsConfig, SecurityConfig, TlsConfig, TlsVersion};
pub use credentials::{CredentialsError, CredentialsSpec, Principal, Role, TokenDigest};
pub use guard::{ListenerGuard, Protocol, RateLimits, SharedAuthenticator, check};
pub use metrics::SecurityMetrics;
pub use rate_limit::{Exceeded, KeyedLimit};
pub use tls::{ServerTls, TlsError};

/// The resource attribute receivers stamp with the credential's tenant.
pub const TENANT_ATTRIBUTE: &str = "seedwatch.tenant";

/// The security of a running collector.
#[derive(Debug)]
pub struct Security {
    /// Server TLS, when configured.
    pub tls: Option<Arc<ServerTls>>,
    /// The credentials, when configured.
    pub auth: Option<SharedAuthenticator>,
    /// The rate limits.
    pub limits: Arc<RateLimits>,
    /// Counters.
    pub metrics: Arc<SecurityMetrics>,
    config: SecurityConfig,
    /// The credentials file's digest as last read, to tell whether it changed.
    credentials_seen: Mutex<Option<TokenDigest>>,
}

/// The security section could not be put in force (a file changed since validation, say).
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// TLS files.
    #[error("security.tls.{key}: {source}", key = .source.key())]
    Tls {
        /// What is wrong.
        #[from]
        source: TlsError,
    },
    /// The credentials file.
    #[error("security.auth.credentials_file: {0}")]
    Credentials(#[from] CredentialsError),
}

impl Security {
    /// Loads the files and builds the limits; counters go into `registry`.
    pub fn start(config: &SecurityConfig, registry: &mut Registry) -> Result<Security, SecurityError> {
        let tls = match config.tls.enabled() {
            true => Some(Arc::new(ServerTls::load(&config.tls)?)),
            false => None,
        };
        let mut credentials_seen = None;
        let auth = match config.auth_configured() {
            true => {
                let (authenticator, digest) = authenticator(&config.auth)?;
                credentials_seen = digest;
                Some(Arc::new(ArcSwap::from_pointee(authenticator)))
            }
            false => None,
        };
        let limits = Arc::new(RateLimits {
            per_credential: KeyedLimit::new(&config.rate_limits.per_credential),
            per_address: KeyedLimit::new(&config.rate_limits.per_address),
        });
        let metrics = Arc::new(SecurityMetrics::register(registry));
        Ok(Security {
            tls,
            auth,
            limits,
            metrics,
            config: config.clone(),
            credentials_seen: Mutex::new(credentials_seen),
        })
    }

    /// A guard for one listener; `auth: false` serves it without credentials. The rate
    /// limits apply to the OTLP listeners only: they meter what clients send, and the admin
    /// server (probes, scrapes) must answer whatever a busy sender on the same host does.
    pub fn guard(
        &self,
        listener: &'static str,
        protocol: Protocol,
        role: Role,
        auth: bool,
        open_paths: Vec<String>,
        allowed_hosts: Vec<String>,
    ) -> Arc<ListenerGuard> {
        let authenticator = if auth { self.auth.clone() } else { None };
        let limits = match protocol {
            Protocol::Admin => Arc::new(RateLimits::default()),
            Protocol::Grpc | Protocol::OtlpHttp => self.limits.clone(),
        };
        ListenerGuard::new(
            listener,
            protocol,
            role,
            authenticator,
            open_paths,
            allowed_hosts,
            limits,
            self.metrics.clone(),
        )
    }

    /// Re-reads changed certificate and credentials files every `reload_interval` until `stop`.
    pub fn watch_files(self: &Arc<Self>, stop: CancellationToken) {
        if self.tls.is_none() && self.config.auth.credentials_file.is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(this.config.reload_interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            while stop.run_until_cancelled(ticks.tick()).await.is_some() {
                this.reload_once();
            }
        });
    }

    /// One look at the files (what [`Security::watch_files`] does each interval).
    pub fn reload_once(&self) {
        if let Some(tls) = &self.tls {
            match tls.reload_if_changed() {
                Ok(false) => {}
                Ok(true) => {
                    self.metrics.reload("tls", "applied");
                    tracing::info!(cert_file = %self.config.tls.cert_file, "TLS files changed: new connections get the new certificate");
                }
                Err(err) => {
                    self.metrics.reload("tls", "failed");
                    tracing::error!(error = %err, "TLS files changed but cannot be used; still serving the previous certificate");
                }
            }
        }
        if let (Some(auth), file) = (&self.auth, &self.config.auth.credentials_file)
            && !file.is_empty()
        {
            self.reload_credentials(auth, file);
        }
    }

    fn reload_credentials(&self, auth: &SharedAuthenticator, file: &str) {
        let Ok(bytes) = std::fs::read(file) else {
            self.metrics.reload("credentials", "failed");
            tracing::error!(file, "cannot read the credentials file; keeping the credentials in force");
            return;
        };
        let digest = TokenDigest::of(&bytes);
        {
            // Remembered either way, so a broken file is reported once, not every tick.
            let mut seen = self.credentials_seen.lock().unwrap_or_else(|p| p.into_inner());
            if *seen == Some(digest) {
                return;
            }
            *seen = Some(digest);
        }
        let parsed = CredentialsSpec::parse(&String::from_utf8_lossy(&bytes)).and_then(|spec| {
            let mut problems = Vec::new();
            spec.validate("", &mut problems);
            match problems.is_empty() {
                true => Ok(spec),
                false => {
                    Err(problems.iter().map(|p| format!("`{}`: {}", p.path, p.message)).collect::<Vec<_>>().join("; "))
                }
            }
        });
        match parsed {
            Ok(spec) => {
                auth.store(Arc::new(Authenticator::new([&self.config.auth.credentials, &spec])));
                self.metrics.reload("credentials", "applied");
                tracing::info!(file, "credentials file changed: new credentials in force");
            }
            Err(why) => {
                self.metrics.reload("credentials", "failed");
                tracing::error!(file, error = %why, "credentials file changed but is invalid; keeping the credentials in force");
            }
        }
    }

    /// How often files are re-read.
    pub fn reload_interval(&self) -> Duration {
        self.config.reload_interval
    }
}

/// The authenticator from the config, and the credentials file's digest.
fn authenticator(config: &AuthConfig) -> Result<(Authenticator, Option<TokenDigest>), CredentialsError> {
    if config.credentials_file.is_empty() {
        return Ok((Authenticator::new([&config.credentials]), None));
    }
    let bytes = std::fs::read(&config.credentials_file)
        .map_err(|source| CredentialsError::Read { file: config.credentials_file.clone(), source })?;
    let file = CredentialsSpec::load(&config.credentials_file)?;
    Ok((Authenticator::new([&config.credentials, &file]), Some(TokenDigest::of(&bytes))))
}
