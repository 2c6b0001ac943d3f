//! The pricing table in use: the embedded one or a file, plus config overrides; the file is
//! re-read when its modification time or size changes. A broken new file is reported and the
//! previous table kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use seedwatch_semconv::pricing::{ModelEntry, PricingTable};

use super::config::PricingConfig;

/// Reads and parses a pricing file, with overrides applied; the error names the file.
pub(super) fn load(path: Option<&Path>, overrides: &[ModelEntry]) -> Result<PricingTable, String> {
    let mut table = match path {
        None => PricingTable::embedded().map_err(|e| format!("embedded pricing table: {e}"))?,
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
            PricingTable::from_yaml(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
    };
    table.extend(overrides);
    Ok(table)
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The live table.
#[derive(Debug)]
pub(super) struct LivePricing {
    table: RwLock<Arc<PricingTable>>,
    file: Option<PathBuf>,
    overrides: Vec<ModelEntry>,
    interval: Duration,
    check: Mutex<(Instant, Option<(SystemTime, u64)>)>,
}

impl LivePricing {
    pub(super) fn new(config: &PricingConfig, table: PricingTable) -> Self {
        let stamp = config.file.as_deref().and_then(stamp);
        LivePricing {
            table: RwLock::new(Arc::new(table)),
            file: config.file.clone(),
            overrides: config.models.clone(),
            interval: config.reload_interval,
            check: Mutex::new((Instant::now(), stamp)),
        }
    }

    /// The current table, reloading it first if the file changed (checked at most once per
    /// reload interval, so the hot path pays one clock read).
    pub(super) fn table(&self) -> Arc<PricingTable> {
        if let Some(path) = &self.file {
            self.reload_if_changed(path);
        }
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn reload_if_changed(&self, path: &Path) {
        let Ok(mut check) = self.check.try_lock() else { return };
        let now = Instant::now();
        if now.duration_since(check.0) < self.interval {
            return;
        }
        check.0 = now;
        let current = stamp(path);
        if current == check.1 {
            return;
        }
        check.1 = current;
        match load(Some(path), &self.overrides) {
            Ok(table) => {
                tracing::info!(file = %path.display(), models = table.len(), "pricing table reloaded");
                *self.table.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
            }
            Err(err) => {
                tracing::error!(error = %err, "pricing file changed but is invalid; keeping the previous table")
            }
        }
    }
}
