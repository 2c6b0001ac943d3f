//! Where budget spend and the marks of charged spans survive restarts. One small trait, so that
//! several collector replicas can later share budgets through another store (Redis); redb
//! (embedded, transactional) is the one shipped. A commit writes spend deltas and the marks of
//! the spans they came from in one transaction, so after a crash neither is ahead of the other.
//!
//! Marks are kept per 10-second bucket of span end time, one redb table per bucket, so that
//! forgetting a bucket is dropping a table (milliseconds) rather than deleting its rows one by
//! one (minutes for a million rows).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction};

/// Identity of a charged span: trace id and span id.
pub type SpanKey = [u8; 24];

/// Seconds of span end time per bucket of marks.
pub const BUCKET_SECS: i64 = 10;

/// The bucket (its first second) a span that ended at `end_unix` falls in.
pub fn bucket_of(end_unix: i64) -> i64 {
    end_unix.div_euclid(BUCKET_SECS) * BUCKET_SECS
}

/// A charged span as remembered: the bucket of its end time and a keyed 64-bit hash of its
/// trace and span id (two spans ending in the same 10 s are mistaken for each other with
/// probability n/2^64 for n spans in that bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mark {
    /// First second (Unix) of the bucket.
    pub bucket: i64,
    /// xxh3 of the span's ids under the store's seed.
    pub fingerprint: u64,
}

/// Disk bytes per mark in the redb store: 40.6 B measured (6.6 M marks of spans ending over
/// 10 minutes, 269 MB file), rounded up so that `dedupe_max_disk` is never passed.
pub const BYTES_PER_MARK: u64 = 48;

/// redb's page cache (its default is 1 GiB, which the memory limit would not see).
pub const CACHE_BYTES: usize = 16 << 20;

/// (budget, period start in Unix seconds) → spent USD.
const SPEND: TableDefinition<(&str, i64), f64> = TableDefinition::new("spend");
/// `seed`, `cutoff`, `total`.
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
/// Bucket → marks in it.
const BUCKETS: TableDefinition<i64, u64> = TableDefinition::new("mark_buckets");
/// The table of an earlier version (span keys per flush, by expiry); dropped on open.
const LEGACY_CHARGED: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("charged_batches");

fn bucket_table(bucket: i64) -> String {
    format!("marks/{bucket}")
}

fn marks_table(name: &str) -> TableDefinition<'_, u64, ()> {
    TableDefinition::new(name)
}

/// Opens (creating the file and its directory) a redb file with a page cache of `cache_bytes`.
pub(crate) fn open_database(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
    let fail = |message: String| StoreError { path: path.display().to_string(), message };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create its directory: {e}")))?;
    }
    redb::Builder::new().set_cache_size(cache_bytes).create(path).map_err(|e| fail(format!("cannot open: {e}")))
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[error("budget store {path}: {message}")]
pub struct StoreError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Which buckets a store forgets, oldest first, given every bucket's mark count (oldest
/// first): those before `forget_before`, then more while over `max_marks`; and the cutoff
/// that follows (`i64::MIN` when none is forgotten).
fn buckets_to_forget(counts: &[(i64, u64)], forget_before: i64, max_marks: u64) -> (Vec<i64>, i64) {
    let mut total: u64 = counts.iter().map(|(_, n)| n).sum();
    let mut forget = Vec::new();
    let mut cutoff = i64::MIN;
    for &(bucket, n) in counts {
        if bucket >= forget_before && total <= max_marks {
            break;
        }
        forget.push(bucket);
        total = total.saturating_sub(n);
        cutoff = bucket + BUCKET_SECS;
    }
    (forget, cutoff)
}

/// What a store holds, as loaded at start.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Snapshot {
    /// Spend per (budget, period start).
    pub spend: HashMap<(String, i64), f64>,
    /// The seed of the marks' fingerprints.
    pub seed: u64,
    /// Buckets before this were forgotten (window passed, or the disk cap).
    pub cutoff: i64,
    /// The newest buckets, whole, with their fingerprints.
    pub recent: Vec<(i64, Vec<u64>)>,
    /// Every bucket from this one on is in `recent`; older ones are only on disk.
    pub recent_from: i64,
}

/// A budget's spend in one period, as a shared store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpendKey {
    /// The budget's name.
    pub budget: String,
    /// Its period's first second (Unix).
    pub start: i64,
    /// How long the shared store keeps it (seconds): the period's length and a margin.
    pub keep_secs: i64,
}

/// One charged span as a shared store takes it: the store adds `cost` to each of `targets`
/// only if it has not seen `mark` before, so that replicas that each received the span, or a
/// batch sent again, charge it once.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedCharge {
    /// The span's mark.
    pub mark: Mark,
    /// USD.
    pub cost: f64,
    /// Indices into the batch's keys.
    pub targets: Vec<usize>,
}

/// What a shared store made of a batch of charges.
#[derive(Debug, Clone, PartialEq)]
pub enum SharedOutcome {
    /// Charged; the spend of each of the batch's keys afterwards (every replica's charges).
    Applied(Vec<f64>),
    /// The shared store is unreachable: the batch waits in the local buffer.
    Buffered,
}

/// Durable budget spend and marks of charged spans.
pub trait SpendStore: Send + Sync + std::fmt::Debug {
    /// Whether several replicas share this store: charges then go span by span through
    /// [`SpendStore::charge_shared`], and spend is read back from it at every flush.
    fn is_shared(&self) -> bool {
        false
    }

    /// Shared stores: charges each span of `charges` once by its mark, adding its cost to its
    /// targets among `keys`, and reads every key's spend.
    fn charge_shared(&self, charges: &[SharedCharge], keys: &[SpendKey]) -> Result<SharedOutcome, StoreError> {
        let _ = (charges, keys);
        Err(StoreError { path: String::new(), message: "not a shared store".into() })
    }

    /// Spend, the seed, the cutoff, and the newest whole buckets of marks, at most `max_marks`.
    fn load(&self, max_marks: usize) -> Result<Snapshot, StoreError>;
    /// Whether each mark is stored.
    fn contains(&self, marks: &[Mark]) -> Result<Vec<bool>, StoreError>;
    /// Adds `deltas` to the spend and stores `marks`, atomically; forgets buckets before
    /// `forget_before`, then the oldest buckets while more than `max_marks` are kept. Returns
    /// the cutoff in force afterwards (buckets before it are forgotten).
    fn commit(
        &self,
        deltas: &[((String, i64), f64)],
        marks: &[Mark],
        forget_before: i64,
        max_marks: u64,
    ) -> Result<i64, StoreError>;
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
        let db = open_database(path, CACHE_BYTES)?;
        let store = RedbStore { db, path: path.display().to_string() };
        store.prepare()?;
        Ok(store)
    }

    fn fail(&self, message: impl std::fmt::Display) -> StoreError {
        StoreError { path: self.path.clone(), message: message.to_string() }
    }

    /// Creates the tables and the seed; drops what an earlier version kept.
    fn prepare(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        tx.open_table(SPEND).map_err(|e| self.fail(e))?;
        tx.open_table(BUCKETS).map_err(|e| self.fail(e))?;
        {
            let mut meta = tx.open_table(META).map_err(|e| self.fail(e))?;
            if meta.get("seed").map_err(|e| self.fail(e))?.is_none() {
                meta.insert("seed", fastrand::i64(..)).map_err(|e| self.fail(e))?;
            }
        }
        let legacy = tx.list_tables().map_err(|e| self.fail(e))?.any(|t| t.name() == LEGACY_CHARGED.name());
        if legacy {
            tx.delete_table(LEGACY_CHARGED).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// Drops one bucket's table and row.
    fn forget_bucket(&self, tx: &WriteTransaction, bucket: i64) -> Result<(), StoreError> {
        let name = bucket_table(bucket);
        tx.delete_table(marks_table(&name)).map_err(|e| self.fail(e))?;
        let mut buckets = tx.open_table(BUCKETS).map_err(|e| self.fail(e))?;
        buckets.remove(bucket).map_err(|e| self.fail(e))?;
        Ok(())
    }
}

impl SpendStore for RedbStore {
    fn load(&self, max_marks: usize) -> Result<Snapshot, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let mut snap = Snapshot { recent_from: i64::MIN, ..Default::default() };
        let spend = tx.open_table(SPEND).map_err(|e| self.fail(e))?;
        for row in spend.iter().map_err(|e| self.fail(e))? {
            let (k, v) = row.map_err(|e| self.fail(e))?;
            let (budget, start) = k.value();
            snap.spend.insert((budget.to_owned(), start), v.value());
        }
        let meta = tx.open_table(META).map_err(|e| self.fail(e))?;
        let get = |key: &str| meta.get(key).map(|v| v.map(|v| v.value()));
        snap.seed = get("seed").map_err(|e| self.fail(e))?.unwrap_or_default() as u64;
        snap.cutoff = get("cutoff").map_err(|e| self.fail(e))?.unwrap_or(i64::MIN);
        let buckets = tx.open_table(BUCKETS).map_err(|e| self.fail(e))?;
        let mut loaded = 0usize;
        for row in buckets.iter().map_err(|e| self.fail(e))?.rev() {
            let (bucket, count) = row.map_err(|e| self.fail(e))?;
            let (bucket, count) = (bucket.value(), count.value() as usize);
            if loaded + count > max_marks {
                snap.recent_from = bucket + BUCKET_SECS;
                break;
            }
            let name = bucket_table(bucket);
            let mut fingerprints = Vec::with_capacity(count);
            if let Ok(table) = tx.open_table(marks_table(&name)) {
                for row in table.iter().map_err(|e| self.fail(e))? {
                    fingerprints.push(row.map_err(|e| self.fail(e))?.0.value());
                }
            }
            loaded += fingerprints.len();
            snap.recent.push((bucket, fingerprints));
        }
        Ok(snap)
    }

    fn contains(&self, marks: &[Mark]) -> Result<Vec<bool>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let mut open: Option<(i64, Option<redb::ReadOnlyTable<u64, ()>>)> = None;
        let mut found = Vec::with_capacity(marks.len());
        for mark in marks {
            if open.as_ref().is_none_or(|(b, _)| *b != mark.bucket) {
                let name = bucket_table(mark.bucket);
                let table = match tx.open_table(marks_table(&name)) {
                    Ok(t) => Some(t),
                    Err(redb::TableError::TableDoesNotExist(_)) => None,
                    Err(e) => return Err(self.fail(e)),
                };
                open = Some((mark.bucket, table));
            }
            let hit = match open.as_ref().and_then(|(_, t)| t.as_ref()) {
                Some(t) => t.get(mark.fingerprint).map_err(|e| self.fail(e))?.is_some(),
                None => false,
            };
            found.push(hit);
        }
        Ok(found)
    }

    fn commit(
        &self,
        deltas: &[((String, i64), f64)],
        marks: &[Mark],
        forget_before: i64,
        max_marks: u64,
    ) -> Result<i64, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut spend = tx.open_table(SPEND).map_err(|e| self.fail(e))?;
            for ((budget, start), delta) in deltas {
                let key = (budget.as_str(), *start);
                let old = spend.get(key).map_err(|e| self.fail(e))?.map_or(0.0, |v| v.value());
                spend.insert(key, old + delta).map_err(|e| self.fail(e))?;
            }
        }
        let mut cutoff = {
            let meta = tx.open_table(META).map_err(|e| self.fail(e))?;
            meta.get("cutoff").map_err(|e| self.fail(e))?.map_or(i64::MIN, |v| v.value()).max(forget_before)
        };
        let mut sorted = marks.to_vec();
        sorted.sort_unstable();
        let mut added: BTreeMap<i64, u64> = BTreeMap::new();
        for group in sorted.chunk_by(|a, b| a.bucket == b.bucket) {
            let bucket = group[0].bucket;
            if bucket < cutoff {
                continue;
            }
            let name = bucket_table(bucket);
            let mut table = tx.open_table(marks_table(&name)).map_err(|e| self.fail(e))?;
            let mut new = 0;
            for m in group {
                new += u64::from(table.insert(m.fingerprint, ()).map_err(|e| self.fail(e))?.is_none());
            }
            added.insert(bucket, new);
        }
        let counts = {
            let mut buckets = tx.open_table(BUCKETS).map_err(|e| self.fail(e))?;
            for (bucket, new) in &added {
                let old = buckets.get(*bucket).map_err(|e| self.fail(e))?.map_or(0, |v| v.value());
                buckets.insert(*bucket, old + new).map_err(|e| self.fail(e))?;
            }
            let mut counts = Vec::new();
            for row in buckets.iter().map_err(|e| self.fail(e))? {
                let (bucket, count) = row.map_err(|e| self.fail(e))?;
                counts.push((bucket.value(), count.value()));
            }
            counts
        };
        let (forget, after) = buckets_to_forget(&counts, forget_before, max_marks);
        for bucket in forget {
            self.forget_bucket(&tx, bucket)?;
        }
        cutoff = cutoff.max(after);
        {
            let mut meta = tx.open_table(META).map_err(|e| self.fail(e))?;
            meta.insert("cutoff", cutoff).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(cutoff)
    }
}

/// A store in memory (tests); nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    spend: HashMap<(String, i64), f64>,
    marks: BTreeMap<i64, HashSet<u64>>,
    cutoff: Option<i64>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SpendStore for MemoryStore {
    fn load(&self, max_marks: usize) -> Result<Snapshot, StoreError> {
        let inner = self.lock();
        let mut snap = Snapshot {
            spend: inner.spend.clone(),
            seed: 0x5eed,
            cutoff: inner.cutoff.unwrap_or(i64::MIN),
            recent_from: i64::MIN,
            ..Default::default()
        };
        let mut loaded = 0;
        for (bucket, set) in inner.marks.iter().rev() {
            if loaded + set.len() > max_marks {
                snap.recent_from = bucket + BUCKET_SECS;
                break;
            }
            loaded += set.len();
            snap.recent.push((*bucket, set.iter().copied().collect()));
        }
        Ok(snap)
    }

    fn contains(&self, marks: &[Mark]) -> Result<Vec<bool>, StoreError> {
        let inner = self.lock();
        Ok(marks.iter().map(|m| inner.marks.get(&m.bucket).is_some_and(|s| s.contains(&m.fingerprint))).collect())
    }

    fn commit(
        &self,
        deltas: &[((String, i64), f64)],
        marks: &[Mark],
        forget_before: i64,
        max_marks: u64,
    ) -> Result<i64, StoreError> {
        let mut inner = self.lock();
        for (key, delta) in deltas {
            *inner.spend.entry(key.clone()).or_insert(0.0) += delta;
        }
        let cutoff = inner.cutoff.unwrap_or(i64::MIN).max(forget_before);
        for m in marks.iter().filter(|m| m.bucket >= cutoff) {
            inner.marks.entry(m.bucket).or_default().insert(m.fingerprint);
        }
        let counts: Vec<(i64, u64)> = inner.marks.iter().map(|(b, s)| (*b, s.len() as u64)).collect();
        let (forget, after) = buckets_to_forget(&counts, forget_before, max_marks);
        for bucket in forget {
            inner.marks.remove(&bucket);
        }
        let cutoff = cutoff.max(after);
        inner.cutoff = Some(cutoff);
        Ok(cutoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(bucket: i64, fingerprint: u64) -> Mark {
        Mark { bucket, fingerprint }
    }

    fn roundtrip(store: &dyn SpendStore) {
        let first = store.load(100).expect("load");
        assert_eq!((first.cutoff, first.recent.len()), (i64::MIN, 0), "a new store is empty");
        let cutoff = store
            .commit(&[(("daily".into(), 100), 1.5)], &[mark(10, 1), mark(20, 2), mark(20, 3)], 0, 100)
            .expect("commit");
        assert_eq!(cutoff, 0);
        store
            .commit(&[(("daily".into(), 100), 0.25), (("weekly".into(), 7), 2.0)], &[mark(20, 3)], 0, 100)
            .expect("store");
        let snap = store.load(100).expect("load");
        assert_eq!(snap.spend.get(&("daily".to_owned(), 100)), Some(&1.75));
        assert_eq!(snap.spend.get(&("weekly".to_owned(), 7)), Some(&2.0));
        let sizes: Vec<(i64, usize)> = snap.recent.iter().map(|(b, f)| (*b, f.len())).collect();
        assert_eq!(sizes, [(20, 2), (10, 1)], "newest bucket first, a mark stored twice is one");
        assert_eq!(snap.recent_from, i64::MIN, "everything fit");
        assert_eq!(
            store.contains(&[mark(20, 2), mark(20, 9), mark(30, 2), mark(10, 1)]).expect("store"),
            [true, false, false, true]
        );
        // Only whole buckets are loaded, newest first, within the limit.
        let partial = store.load(2).expect("load");
        assert_eq!((partial.recent.len(), partial.recent_from), (1, 20));

        // The window passes bucket 10; then the cap makes room by forgetting the oldest.
        assert_eq!(store.commit(&[], &[], 20, 100).expect("store"), 20);
        assert_eq!(store.contains(&[mark(10, 1), mark(20, 2)]).expect("store"), [false, true]);
        assert_eq!(store.commit(&[], &[mark(30, 7), mark(40, 8)], 20, 2).expect("store"), 30);
        assert_eq!(store.contains(&[mark(20, 2), mark(30, 7), mark(40, 8)]).expect("store"), [false, true, true]);
        assert_eq!(store.load(100).expect("store").cutoff, 30, "the cutoff survives");
        assert_eq!(store.commit(&[], &[mark(20, 5)], 20, 100).expect("store"), 30, "the cutoff never goes back");
    }

    #[test]
    fn redb_store_keeps_spend_and_marks_across_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/budgets.redb");
        let store = RedbStore::open(&path).expect("open");
        let seed = store.load(0).expect("load").seed;
        roundtrip(&store);
        drop(store);
        let reopened = RedbStore::open(&path).expect("reopen");
        let snap = reopened.load(100).expect("load");
        assert_eq!(snap.spend.get(&("daily".to_owned(), 100)), Some(&1.75));
        assert_eq!(snap.seed, seed, "the fingerprint seed is kept");
        assert_eq!(reopened.contains(&[mark(40, 8)]).expect("store"), [true]);
    }

    #[test]
    fn memory_store_behaves_the_same() {
        roundtrip(&MemoryStore::default());
    }

    #[test]
    fn buckets_are_ten_seconds_of_end_time() {
        assert_eq!(bucket_of(1_795_608_009), 1_795_608_000);
        assert_eq!(bucket_of(1_795_608_010), 1_795_608_010);
        assert_eq!(bucket_of(-1), -10);
    }
}
