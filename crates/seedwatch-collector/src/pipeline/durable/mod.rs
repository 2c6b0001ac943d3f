//! The durable queue: an exporter's queue kept on disk instead of in memory, so an outage of
//! any length fills disk up to a cap, a restart resumes where delivery stopped, and at the
//! cap the pipeline waits, which makes receivers answer the OTLP retryable status.
//!
//! Records are appended to numbered segment files; a cursor file names the first record not
//! yet delivered and moves only after the exporter finished with a group of batches
//! (delivered, or rejected for good). Delivery is therefore at least once: batches sent but
//! not yet acknowledged when the process dies are sent again after the restart.

mod config;
mod record;
mod segments;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

pub use self::config::DurableQueueConfig;
use self::segments::{Position, Read};
use super::{Batch, QueueStats};

/// Why the durable queue failed.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// A file operation failed.
    #[error("durable queue {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Another process holds the directory.
    #[error("durable queue {}: in use by another seedwatch process (give each instance its own `persistent_queue.directory`)", .0.display())]
    Locked(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DurableError + '_ {
    move |source| DurableError::Io { path: path.to_owned(), source }
}

struct Inner {
    /// Where the next record goes.
    head: Position,
    /// The head segment, open for appending once something was written to it.
    head_file: Option<File>,
    /// Length of every segment on disk.
    lengths: BTreeMap<u64, u64>,
    /// Everything before this was delivered.
    delivered: Position,
    /// No writer is left.
    closed: bool,
}

impl Inner {
    fn bytes(&self) -> u64 {
        self.lengths.values().sum()
    }
}

struct Shared {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    fsync: bool,
    inner: Mutex<Inner>,
    wrote: Notify,
    freed: Notify,
    stats: Arc<QueueStats>,
    _lock: File,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, inner: &mut Inner, record: &[u8]) -> Result<(), DurableError> {
        let len = record.len() as u64;
        if inner.head.offset > 0 && inner.head.offset + len > self.segment_bytes {
            inner.head = Position { segment: inner.head.segment + 1, offset: 0 };
            inner.head_file = None;
            inner.lengths.insert(inner.head.segment, 0);
        }
        let path = segments::segment_path(&self.dir, inner.head.segment);
        if inner.head_file.is_none() {
            inner.head_file = Some(segments::open_for_append(&self.dir, inner.head.segment).map_err(io(&path))?);
        }
        let Some(file) = inner.head_file.as_mut() else { unreachable!("opened above") };
        if let Err(err) = segments::append(file, record, self.fsync) {
            // Undo a partial write so the next record does not land behind a torn one.
            let _ = file.set_len(inner.head.offset);
            return Err(io(&path)(err));
        }
        inner.head.offset += len;
        inner.lengths.insert(inner.head.segment, inner.head.offset);
        self.stats.add(len);
        Ok(())
    }
}

/// Appends batches; cloneable. The queue counts as closed once every clone is dropped.
#[derive(Clone)]
pub struct DurableWriter {
    shared: Arc<Shared>,
    _open: Arc<WriterOpen>,
}

struct WriterOpen(Arc<Shared>);

impl Drop for WriterOpen {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.wrote.notify_one();
    }
}

impl std::fmt::Debug for DurableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableWriter").field("dir", &self.shared.dir).finish()
    }
}

impl DurableWriter {
    /// Appends a batch, waiting while the queue is at its size cap.
    pub async fn append(&self, batch: &Batch) -> Result<(), DurableError> {
        let record = record::encode(batch);
        loop {
            let freed = self.shared.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut inner = self.shared.lock();
                let empty = inner.delivered == inner.head;
                if empty || inner.bytes() + record.len() as u64 <= self.shared.max_bytes {
                    self.shared.write(&mut inner, &record)?;
                    drop(inner);
                    self.shared.wrote.notify_one();
                    return Ok(());
                }
            }
            freed.await;
        }
    }
}

/// Reads batches in order and marks them delivered.
pub struct DurableReader {
    shared: Arc<Shared>,
    read: Position,
    file: Option<(u64, File)>,
}

impl std::fmt::Debug for DurableReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableReader").field("dir", &self.shared.dir).field("read", &self.read).finish()
    }
}

impl DurableReader {
    /// The next batch, waiting for one; `None` once the writers are gone and all was read.
    pub async fn next(&mut self) -> Result<Option<Arc<Batch>>, DurableError> {
        let shared = self.shared.clone();
        loop {
            let wrote = shared.wrote.notified();
            tokio::pin!(wrote);
            wrote.as_mut().enable();
            if let Some(batch) = self.next_ready()? {
                return Ok(Some(batch));
            }
            if shared.lock().closed {
                return Ok(None);
            }
            wrote.await;
        }
    }

    /// The next batch if one is on disk now; never waits.
    pub fn next_ready(&mut self) -> Result<Option<Arc<Batch>>, DurableError> {
        loop {
            let (end, next_segment) = {
                let inner = self.shared.lock();
                let end = if self.read.segment == inner.head.segment {
                    inner.head.offset
                } else {
                    inner.lengths.get(&self.read.segment).copied().unwrap_or(0)
                };
                (end, inner.lengths.range(self.read.segment + 1..).next().map(|(s, _)| *s))
            };
            if self.read.offset >= end {
                match next_segment {
                    Some(segment) => {
                        self.read = Position { segment, offset: 0 };
                        continue;
                    }
                    None => return Ok(None),
                }
            }
            let path = segments::segment_path(&self.shared.dir, self.read.segment);
            if self.file.as_ref().is_none_or(|(s, _)| *s != self.read.segment) {
                self.file = Some((self.read.segment, File::open(&path).map_err(io(&path))?));
            }
            let Some((_, file)) = self.file.as_ref() else { unreachable!("opened above") };
            match segments::read_record(file, self.read.offset, end).map_err(io(&path))? {
                Read::Record(header, body) => {
                    self.read.offset += header.record_len();
                    match record::decode(&header, body) {
                        Some(batch) => return Ok(Some(Arc::new(batch))),
                        None => {
                            tracing::error!(file = %path.display(), "undecodable batch in the durable queue; skipped")
                        }
                    }
                }
                Read::End | Read::Damaged => {
                    tracing::error!(file = %path.display(), offset = self.read.offset, "damaged record in the durable queue; skipping the rest of the segment");
                    self.read.offset = end;
                }
            }
        }
    }

    /// Marks everything read so far as delivered: moves the cursor and deletes finished
    /// segments, making room for writers.
    pub fn commit(&mut self) -> Result<(), DurableError> {
        let finished: Vec<(u64, u64)> = {
            let mut inner = self.shared.lock();
            if inner.delivered == self.read {
                return Ok(());
            }
            if self.read == inner.head {
                // Everything is delivered: start a new segment so this one can go now.
                inner.head = Position { segment: inner.head.segment + 1, offset: 0 };
                inner.head_file = None;
                let segment = inner.head.segment;
                inner.lengths.insert(segment, 0);
                self.read = inner.head;
            }
            inner.lengths.range(..self.read.segment).map(|(s, l)| (*s, *l)).collect()
        };
        segments::write_cursor(&self.shared.dir, self.read).map_err(io(&self.shared.dir))?;
        let mut freed = 0;
        for (segment, len) in &finished {
            let path = segments::segment_path(&self.shared.dir, *segment);
            match std::fs::remove_file(&path) {
                Ok(()) => freed += len,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => freed += len,
                Err(e) => tracing::warn!(file = %path.display(), error = %e, "cannot delete a delivered segment"),
            }
        }
        {
            let mut inner = self.shared.lock();
            for (segment, _) in &finished {
                inner.lengths.remove(segment);
            }
            inner.delivered = self.read;
        }
        self.shared.stats.sub(freed);
        self.shared.freed.notify_waiters();
        Ok(())
    }
}

/// Opens (or creates) the queue of exporter `name` under `config.directory`, checks what is
/// left from the last run and cuts off a record torn by a crash.
pub fn open(name: &str, config: &DurableQueueConfig) -> Result<(DurableWriter, DurableReader), DurableError> {
    let dir = config.directory.join(name.replace(['/', '\\'], "_"));
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let lock_path = dir.join("lock");
    let lock = File::create(&lock_path).map_err(io(&lock_path))?;
    if lock.try_lock().is_err() {
        return Err(DurableError::Locked(dir));
    }
    let mut ids = segments::list_segments(&dir).map_err(io(&dir))?;
    let first = ids.first().copied().unwrap_or(1);
    let mut cursor = segments::read_cursor(&dir).unwrap_or(Position { segment: first, offset: 0 });
    if !ids.contains(&cursor.segment) {
        let segment = ids.iter().copied().find(|s| *s > cursor.segment).unwrap_or(cursor.segment.max(1));
        cursor = Position { segment, offset: 0 };
    }
    for old in ids.iter().filter(|s| **s < cursor.segment) {
        let path = segments::segment_path(&dir, *old);
        std::fs::remove_file(&path).map_err(io(&path))?;
    }
    ids.retain(|s| *s >= cursor.segment);
    let scan = segments::scan_and_repair(&dir, &ids, cursor).map_err(io(&dir))?;
    let mut lengths = BTreeMap::new();
    for id in &ids {
        let path = segments::segment_path(&dir, *id);
        lengths.insert(*id, std::fs::metadata(&path).map_err(io(&path))?.len());
    }
    let head = match lengths.last_key_value() {
        Some((segment, len)) => Position { segment: *segment, offset: *len },
        None => {
            lengths.insert(cursor.segment, 0);
            Position { segment: cursor.segment, offset: 0 }
        }
    };
    cursor = cursor.min(head);
    let stats = Arc::new(QueueStats::bytes(format!("exporter/{name}"), config.max_size.as_u64()));
    let bytes: u64 = lengths.values().sum();
    stats.add(bytes);
    if scan.records > 0 {
        tracing::info!(
            exporter = name,
            batches = scan.records,
            items = scan.items,
            bytes,
            "durable queue: resuming delivery of what was left"
        );
    }
    let max_bytes = config.max_size.as_u64();
    let shared = Arc::new(Shared {
        dir,
        max_bytes,
        segment_bytes: (max_bytes / 8).clamp(64 * 1024, 64 * 1024 * 1024),
        fsync: config.fsync,
        inner: Mutex::new(Inner { head, head_file: None, lengths, delivered: cursor, closed: false }),
        wrote: Notify::new(),
        freed: Notify::new(),
        stats,
        _lock: lock,
    });
    let writer = DurableWriter { shared: shared.clone(), _open: Arc::new(WriterOpen(shared.clone())) };
    Ok((writer, DurableReader { shared, read: cursor, file: None }))
}

impl DurableWriter {
    /// The queue's size on disk and its cap, for the metrics and health endpoints.
    pub fn stats(&self) -> &Arc<QueueStats> {
        &self.shared.stats
    }
}

#[cfg(test)]
mod tests;
