//! Built-in checks: memory, disk space, a writable directory, HTTP reachability (the LLM
//! endpoint), and [`FnCheck`] for anything else (a database ping).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use super::{CheckResult, HealthCheck};
use crate::resources::Sampler;

/// System memory use: degraded above `degraded_percent`, unhealthy above `unhealthy_percent`.
#[derive(Debug, Clone)]
pub struct MemoryCheck {
    /// Default 85.
    pub degraded_percent: f64,
    /// Default 95.
    pub unhealthy_percent: f64,
}

impl Default for MemoryCheck {
    fn default() -> Self {
        MemoryCheck { degraded_percent: 85.0, unhealthy_percent: 95.0 }
    }
}

/// Grades a measured percentage against two limits.
fn grade(value: f64, degraded: f64, unhealthy: f64, what: &str) -> CheckResult {
    let message = format!("{what} {value:.1}%");
    if value >= unhealthy {
        CheckResult::unhealthy(format!("{message} (limit {unhealthy}%)"))
    } else if value >= degraded {
        CheckResult::degraded(format!("{message} (warning at {degraded}%)"))
    } else {
        CheckResult::healthy(message)
    }
}

#[async_trait::async_trait]
impl HealthCheck for MemoryCheck {
    fn name(&self) -> &str {
        "memory"
    }
    async fn check(&self) -> CheckResult {
        let used = Sampler::new().sample().system_memory_percent;
        grade(used, self.degraded_percent, self.unhealthy_percent, "system memory used")
    }
}

/// Free space on the disk holding `path`: degraded below `degraded_free_percent`, unhealthy
/// below `unhealthy_free_percent`.
#[derive(Debug, Clone)]
pub struct DiskSpaceCheck {
    /// A path on the disk to watch (models, logs).
    pub path: PathBuf,
    /// Default 15.
    pub degraded_free_percent: f64,
    /// Default 5.
    pub unhealthy_free_percent: f64,
}

impl DiskSpaceCheck {
    /// Watches the disk of `path` with the default limits.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DiskSpaceCheck { path: path.into(), degraded_free_percent: 15.0, unhealthy_free_percent: 5.0 }
    }
}

#[async_trait::async_trait]
impl HealthCheck for DiskSpaceCheck {
    fn name(&self) -> &str {
        "disk_space"
    }
    async fn check(&self) -> CheckResult {
        let path = match std::fs::canonicalize(&self.path) {
            Ok(p) => p,
            Err(e) => return CheckResult::unhealthy(format!("{}: {e}", self.path.display())),
        };
        let disks = sysinfo::Disks::new_with_refreshed_list();
        let disk = disks
            .list()
            .iter()
            .filter(|d| path.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().as_os_str().len());
        let Some(disk) = disk else {
            return CheckResult::degraded(format!("no mounted disk found for {}", path.display()));
        };
        if disk.total_space() == 0 {
            return CheckResult::degraded(format!("{} reports no size", disk.mount_point().display()));
        }
        let free = disk.available_space() as f64 * 100.0 / disk.total_space() as f64;
        let used = 100.0 - free;
        grade(
            used,
            100.0 - self.degraded_free_percent,
            100.0 - self.unhealthy_free_percent,
            &format!("{} used ({} MiB free); ", disk.mount_point().display(), disk.available_space() >> 20),
        )
    }
}

/// A directory the agent must be able to write (models, results): writes, reads back and
/// removes a small file.
#[derive(Debug, Clone)]
pub struct FileSystemCheck {
    /// The directory.
    pub dir: PathBuf,
}

impl FileSystemCheck {
    /// Checks `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileSystemCheck { dir: dir.into() }
    }
}

#[async_trait::async_trait]
impl HealthCheck for FileSystemCheck {
    fn name(&self) -> &str {
        "file_system"
    }
    async fn check(&self) -> CheckResult {
        let probe = self.dir.join(format!(".seedwatch-health-{}", std::process::id()));
        let written = b"seedwatch health probe";
        let result = async {
            tokio::fs::write(&probe, written).await?;
            let back = tokio::fs::read(&probe).await?;
            tokio::fs::remove_file(&probe).await?;
            Ok::<_, std::io::Error>(back == written)
        }
        .await;
        match result {
            Ok(true) => CheckResult::healthy(format!("{} writable", self.dir.display())),
            Ok(false) => CheckResult::unhealthy(format!("{}: read back differs", self.dir.display())),
            Err(e) => CheckResult::unhealthy(format!("{}: {e}", self.dir.display())),
        }
    }
}

/// An HTTP endpoint answering at all (any status below 500), e.g. the LLM provider's API.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    name: String,
    url: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpCheck {
    /// Checks `url` under the name `name` (the guide calls the LLM's `llm_connectivity`).
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(3);
        let client = reqwest::Client::builder().timeout(timeout).build().unwrap_or_default();
        HttpCheck { name: name.into(), url: url.into(), client, timeout }
    }
}

#[async_trait::async_trait]
impl HealthCheck for HttpCheck {
    fn name(&self) -> &str {
        &self.name
    }
    fn timeout(&self) -> Duration {
        self.timeout + Duration::from_millis(500)
    }
    async fn check(&self) -> CheckResult {
        match self.client.get(&self.url).send().await {
            Ok(r) if r.status().is_server_error() => {
                CheckResult::unhealthy(format!("{} answered {}", self.url, r.status()))
            }
            Ok(r) => CheckResult::healthy(format!("{} answered {}", self.url, r.status())),
            Err(e) => CheckResult::unhealthy(format!("{}: {}", self.url, error_chain(&e))),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

type CheckFn = dyn Fn() -> Pin<Box<dyn Future<Output = CheckResult> + Send>> + Send + Sync;

/// A check from an async closure, e.g. a database ping.
pub struct FnCheck {
    name: String,
    f: Box<CheckFn>,
}

impl FnCheck {
    /// `f` is called for each run.
    pub fn new<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CheckResult> + Send + 'static,
    {
        FnCheck { name: name.into(), f: Box::new(move || Box::pin(f())) }
    }
}

#[async_trait::async_trait]
impl HealthCheck for FnCheck {
    fn name(&self) -> &str {
        &self.name
    }
    async fn check(&self) -> CheckResult {
        (self.f)().await
    }
}
