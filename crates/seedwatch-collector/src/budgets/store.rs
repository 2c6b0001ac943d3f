//! Where budget spend survives restarts. One small trait, so that several collector replicas
//! can later share budgets through another store (Redis); redb (embedded, transactional) is
//! the one shipped. A commit writes spend deltas and the ids of the spans they came from in
//! one transaction, so after a crash neither is ahead of the other.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// Identity of a charged span: trace id and span id.
pub type SpanKey = [u8; 24];

/// (budget, period start in Unix seconds) → spent USD.
const SPEND: TableDefinition<(&str, i64), f64> = TableDefinition::new("spend");
/// (Unix second until which the batch is remembered, sequence) → the span keys charged in one
/// flush, each followed by its own expiry (24 + 8 bytes). One row per flush, not per span:
/// inserting each span's key into the B-tree cost more than deriving the span.
const CHARGED: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("charged_batches");
/// Bytes per charged span in a batch.
const ENTRY: usize = 32;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[error("budget store {path}: {message}")]
pub struct StoreError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// What a store holds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Snapshot {
    /// Spend per (budget, period start).
    pub spend: HashMap<(String, i64), f64>,
    /// Spans charged and still remembered, with their expiry.
    pub charged: Vec<(SpanKey, i64)>,
}

/// Durable budget spend.
pub trait SpendStore: Send + Sync + std::fmt::Debug {
    /// Everything stored, without span keys expired at `now`.
    fn load(&self, now: i64) -> Result<Snapshot, StoreError>;
    /// Adds `deltas` to the spend and remembers `charged`, atomically; forgets keys expired at `now`.
    fn commit(&self, deltas: &[((String, i64), f64)], charged: &[(SpanKey, i64)], now: i64) -> Result<(), StoreError>;
}

/// The embedded store.
#[derive(Debug)]
pub struct RedbStore {
    db: Database,
    path: String,
}

impl RedbStore {
    /// Opens (creating the file and its directory) the store at `path`.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let name = path.display().to_string();
        let fail = |message: String| StoreError { path: name.clone(), message };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create its directory: {e}")))?;
        }
        let db = Database::create(path).map_err(|e| fail(format!("cannot open: {e}")))?;
        let store = RedbStore { db, path: name };
        // Create the tables so that a first `load` finds them.
        store.commit(&[], &[], 0)?;
        Ok(store)
    }

    fn fail(&self, message: impl std::fmt::Display) -> StoreError {
        StoreError { path: self.path.clone(), message: message.to_string() }
    }
}

impl SpendStore for RedbStore {
    fn load(&self, now: i64) -> Result<Snapshot, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let mut snap = Snapshot::default();
        let spend = tx.open_table(SPEND).map_err(|e| self.fail(e))?;
        for row in spend.iter().map_err(|e| self.fail(e))? {
            let (k, v) = row.map_err(|e| self.fail(e))?;
            let (budget, start) = k.value();
            snap.spend.insert((budget.to_owned(), start), v.value());
        }
        let charged = tx.open_table(CHARGED).map_err(|e| self.fail(e))?;
        for row in charged.range((now, u64::MAX)..).map_err(|e| self.fail(e))? {
            let (_, batch) = row.map_err(|e| self.fail(e))?;
            for entry in batch.value().chunks_exact(ENTRY) {
                let (key, until) = entry.split_at(24);
                if let (Ok(key), Ok(until)) = (SpanKey::try_from(key), <[u8; 8]>::try_from(until)) {
                    let until = i64::from_le_bytes(until);
                    if until > now {
                        snap.charged.push((key, until));
                    }
                }
            }
        }
        Ok(snap)
    }

    fn commit(&self, deltas: &[((String, i64), f64)], charged: &[(SpanKey, i64)], now: i64) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut spend = tx.open_table(SPEND).map_err(|e| self.fail(e))?;
            for ((budget, start), delta) in deltas {
                let key = (budget.as_str(), *start);
                let old = spend.get(key).map_err(|e| self.fail(e))?.map_or(0.0, |v| v.value());
                spend.insert(key, old + delta).map_err(|e| self.fail(e))?;
            }
            let mut table = tx.open_table(CHARGED).map_err(|e| self.fail(e))?;
            table.retain_in(..(now, u64::MAX), |_, _| false).map_err(|e| self.fail(e))?;
            if !charged.is_empty() {
                // Flushes are serialised and each is a durable commit: nanoseconds never repeat.
                let seq = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                let until = charged.iter().map(|(_, u)| *u).max().unwrap_or(now);
                let mut batch = Vec::with_capacity(charged.len() * ENTRY);
                for (key, until) in charged {
                    batch.extend_from_slice(key);
                    batch.extend_from_slice(&until.to_le_bytes());
                }
                table.insert((until, seq), batch.as_slice()).map_err(|e| self.fail(e))?;
            }
        }
        tx.commit().map_err(|e| self.fail(e))
    }
}

/// A store in memory (tests, and a future replica-less mode); nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Snapshot>,
}

impl SpendStore for MemoryStore {
    fn load(&self, now: i64) -> Result<Snapshot, StoreError> {
        let mut snap = self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone();
        snap.charged.retain(|(_, until)| *until > now);
        Ok(snap)
    }

    fn commit(&self, deltas: &[((String, i64), f64)], charged: &[(SpanKey, i64)], now: i64) -> Result<(), StoreError> {
        let mut snap = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for (key, delta) in deltas {
            *snap.spend.entry(key.clone()).or_insert(0.0) += delta;
        }
        snap.charged.retain(|(_, until)| *until > now);
        snap.charged.extend_from_slice(charged);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(store: &dyn SpendStore) {
        let key = |n: u8| [n; 24];
        store.commit(&[(("daily".into(), 100), 1.5)], &[(key(1), 50), (key(2), 500)], 10).expect("commit");
        store.commit(&[(("daily".into(), 100), 0.25), (("weekly".into(), 7), 2.0)], &[], 60).expect("commit");
        let snap = store.load(60).expect("load");
        assert_eq!(snap.spend.get(&("daily".to_owned(), 100)), Some(&1.75));
        assert_eq!(snap.spend.get(&("weekly".to_owned(), 7)), Some(&2.0));
        assert_eq!(snap.charged, vec![(key(2), 500)], "expired keys are forgotten");
    }

    #[test]
    fn redb_store_keeps_spend_and_charged_spans_across_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/budgets.redb");
        roundtrip(&RedbStore::open(&path).expect("open"));
        let reopened = RedbStore::open(&path).expect("reopen");
        assert_eq!(reopened.load(60).expect("load").spend.get(&("daily".to_owned(), 100)), Some(&1.75));
    }

    #[test]
    fn memory_store_behaves_the_same() {
        roundtrip(&MemoryStore::default());
    }
}
