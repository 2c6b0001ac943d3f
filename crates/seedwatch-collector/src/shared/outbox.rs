//! The local buffer of budget charges that could not reach Redis: batches in the embedded
//! store (redb), oldest first, so that an outage or a restart during one loses nothing. A
//! batch is sent again as it was; Redis charges each span once by its mark, so a batch that
//! reached Redis before its answer was lost is not charged twice.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::budgets::StoreError;

/// Sequence number → (charges in the batch, the batch as sent to Redis).
const BATCHES: TableDefinition<u64, (u64, &[u8])> = TableDefinition::new("redis_outbox");

/// Batches of charges waiting for Redis.
#[derive(Debug)]
pub struct Outbox {
    db: Database,
    path: String,
}

impl Outbox {
    /// Opens (creating) the buffer at `path`.
    pub fn open(path: &Path) -> Result<Outbox, StoreError> {
        let db = crate::budgets::open_database(path, 4 << 20)?;
        let outbox = Outbox { db, path: path.display().to_string() };
        let tx = outbox.db.begin_write().map_err(|e| outbox.fail(e))?;
        tx.open_table(BATCHES).map_err(|e| outbox.fail(e))?;
        tx.commit().map_err(|e| outbox.fail(e))?;
        Ok(outbox)
    }

    fn fail(&self, message: impl std::fmt::Display) -> StoreError {
        StoreError { path: self.path.clone(), message: message.to_string() }
    }

    /// Charges waiting, and batches.
    pub fn pending(&self) -> Result<(u64, u64), StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let table = tx.open_table(BATCHES).map_err(|e| self.fail(e))?;
        let mut charges = 0;
        for row in table.iter().map_err(|e| self.fail(e))? {
            charges += row.map_err(|e| self.fail(e))?.1.value().0;
        }
        Ok((charges, table.len().map_err(|e| self.fail(e))?))
    }

    /// Appends a batch of `charges` charges.
    pub fn push(&self, charges: u64, batch: &[u8]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut table = tx.open_table(BATCHES).map_err(|e| self.fail(e))?;
            let next = table.last().map_err(|e| self.fail(e))?.map_or(0, |(k, _)| k.value() + 1);
            table.insert(next, (charges, batch)).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// The oldest batch: its number, charges and bytes.
    pub fn oldest(&self) -> Result<Option<(u64, u64, Vec<u8>)>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let table = tx.open_table(BATCHES).map_err(|e| self.fail(e))?;
        let first = table.first().map_err(|e| self.fail(e))?;
        Ok(first.map(|(k, v)| {
            let (n, bytes) = v.value();
            (k.value(), n, bytes.to_vec())
        }))
    }

    /// Forgets a batch Redis has taken.
    pub fn remove(&self, seq: u64) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut table = tx.open_table(BATCHES).map_err(|e| self.fail(e))?;
            table.remove(seq).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_come_back_oldest_first_and_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("seedwatch-outbox-{}", fastrand::u64(..)));
        let path = dir.join("buffer.redb");
        {
            let outbox = Outbox::open(&path).expect("open");
            outbox.push(2, b"first").expect("push");
            outbox.push(3, b"second").expect("push");
            assert_eq!(outbox.pending().expect("pending"), (5, 2));
        }
        let outbox = Outbox::open(&path).expect("reopen");
        let (seq, n, bytes) = outbox.oldest().expect("read").expect("a batch");
        assert_eq!((n, bytes.as_slice()), (2, &b"first"[..]));
        outbox.remove(seq).expect("remove");
        let (_, n, bytes) = outbox.oldest().expect("read").expect("a batch");
        assert_eq!((n, bytes.as_slice()), (3, &b"second"[..]));
        assert_eq!(outbox.pending().expect("pending"), (3, 1));
        let _ = std::fs::remove_dir_all(dir);
    }
}
