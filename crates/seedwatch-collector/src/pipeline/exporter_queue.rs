//! An exporter's queue, in memory or durable on disk, behind one interface for the fan-out
//! (the inlet) and the exporter's runner (the outlet).

use std::sync::Arc;
use std::time::Duration;

use super::durable::{DurableReader, DurableWriter};
use super::{Batch, QueueReceiver, QueueSender};

/// The fan-out's end of an exporter queue.
#[derive(Debug, Clone)]
pub(crate) enum Inlet {
    /// Bounded in memory, in items.
    Memory(QueueSender<Arc<Batch>>),
    /// On disk, bounded in bytes.
    Durable(DurableWriter),
}

/// Why a batch did not reach an exporter's queue.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InletError {
    /// The exporter task is gone.
    #[error("the exporter's queue is closed")]
    Closed,
    /// The durable queue could not write.
    #[error(transparent)]
    Durable(#[from] super::durable::DurableError),
}

impl Inlet {
    /// Queues a batch, waiting for room.
    pub(crate) async fn send(&self, batch: &Arc<Batch>) -> Result<(), InletError> {
        match self {
            Inlet::Memory(tx) => tx.send(batch.clone()).await.map_err(|_| InletError::Closed),
            Inlet::Durable(writer) => Ok(writer.append(batch).await?),
        }
    }
}

/// The exporter's end of its queue.
#[derive(Debug)]
pub(crate) enum Outlet {
    /// In memory: a batch taken is gone from the queue.
    Memory(QueueReceiver<Arc<Batch>>),
    /// On disk: batches stay until [`Outlet::commit`].
    Durable(DurableReader),
}

impl Outlet {
    /// Whether batches survive a restart until committed.
    pub(crate) fn is_durable(&self) -> bool {
        matches!(self, Outlet::Durable(_))
    }

    /// The next batch, waiting for one; `None` once the queue is closed and empty.
    pub(crate) async fn next(&mut self) -> Option<Arc<Batch>> {
        match self {
            Outlet::Memory(rx) => rx.recv().await,
            Outlet::Durable(reader) => loop {
                match reader.next().await {
                    Ok(next) => return next,
                    Err(err) => {
                        tracing::error!(error = %err, "cannot read the durable queue; retrying in 1s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            },
        }
    }

    /// The next batch if one is queued now.
    pub(crate) fn next_ready(&mut self) -> Option<Arc<Batch>> {
        match self {
            Outlet::Memory(rx) => rx.try_recv(),
            Outlet::Durable(reader) => reader.next_ready().unwrap_or_else(|err| {
                tracing::error!(error = %err, "cannot read the durable queue");
                None
            }),
        }
    }

    /// Marks every batch taken so far as done with (delivered or given up on).
    pub(crate) fn commit(&mut self) {
        if let Outlet::Durable(reader) = self
            && let Err(err) = reader.commit()
        {
            tracing::error!(error = %err, "cannot record delivery in the durable queue; those batches will be sent again after a restart");
        }
    }
}
