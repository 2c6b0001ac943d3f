//! A request body that must arrive in time and fit in memory: it is cut when it arrives
//! slower than the listener's minimum rate (after a 2 s start) or takes longer than its read
//! timeout, and every chunk is reserved against the memory limiter before it is handed on.
//! A slow client therefore holds a connection for a bounded time and never a processing slot:
//! receivers read the whole body before they take one.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::stats::{Cut, ListenerStats};
use crate::limits::{MemoryRefusal, Reservation};

/// Time a body may take before the minimum rate applies.
pub const BODY_GRACE: Duration = Duration::from_secs(2);

/// How fast a body must arrive.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// All of it within this.
    pub timeout: Duration,
    /// On average at least this many bytes per second, after [`BODY_GRACE`].
    pub min_rate: u64,
    /// The wait suggested to a client refused for memory.
    pub retry_after: Duration,
}

/// Why reading a body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Slower than the minimum rate, or past the read timeout.
    #[error("request body too slow: {received} bytes in {:.1}s (at least {min_rate} bytes/s after {}s, all within {}s)", elapsed.as_secs_f64(), BODY_GRACE.as_secs(), timeout.as_secs())]
    TooSlow {
        /// Bytes read.
        received: u64,
        /// Time taken.
        elapsed: Duration,
        /// The minimum rate.
        min_rate: u64,
        /// The read timeout.
        timeout: Duration,
        /// The same for gRPC (tonic finds it in the error's source chain).
        #[source]
        status: tonic::Status,
    },
    /// The next chunk would pass the memory limit.
    #[error("{refusal}")]
    Memory {
        /// Which limit.
        refusal: MemoryRefusal,
        /// The same for gRPC: UNAVAILABLE with RetryInfo.
        #[source]
        status: tonic::Status,
    },
    /// The connection failed.
    #[error("cannot read request body: {0}")]
    Transport(#[source] hyper::Error),
}

impl BodyError {
    /// The gRPC status for this error.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            BodyError::TooSlow { status, .. } | BodyError::Memory { status, .. } => Some(status),
            BodyError::Transport(_) => None,
        }
    }
}

/// A guarded request body.
#[derive(Debug)]
pub struct GuardedBody<B> {
    inner: B,
    limits: BodyLimits,
    started: Instant,
    received: u64,
    deadline: Pin<Box<Sleep>>,
    memory: Arc<Reservation>,
    stats: Arc<ListenerStats>,
}

impl<B> GuardedBody<B> {
    /// Guards `inner`, reserving what arrives in `memory`; cuts are counted in `stats`.
    pub fn new(inner: B, limits: BodyLimits, memory: Arc<Reservation>, stats: Arc<ListenerStats>) -> Self {
        let started = Instant::now();
        let deadline = Box::pin(tokio::time::sleep_until(started + BODY_GRACE.min(limits.timeout)));
        GuardedBody { inner, limits, started, received: 0, deadline, memory, stats }
    }

    /// When the bytes read so far must have arrived by: the grace plus what the minimum rate
    /// allows for them, within the timeout.
    fn due(&self) -> Instant {
        let allowed = BODY_GRACE + Duration::from_secs_f64(self.received as f64 / self.limits.min_rate.max(1) as f64);
        self.started + allowed.min(self.limits.timeout)
    }
}

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len() as u64;
                    if let Err(refusal) = this.memory.grow(n) {
                        this.stats.cut(Cut::Memory);
                        let status = crate::receivers::retryable_status(refusal.to_string(), this.limits.retry_after);
                        return Poll::Ready(Some(Err(BodyError::Memory { refusal, status })));
                    }
                    this.received += n;
                    let due = this.due();
                    this.deadline.as_mut().reset(due);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Transport(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.stats.cut(Cut::TooSlow);
                let elapsed = this.started.elapsed();
                let message = format!(
                    "request body too slow: {} bytes in {:.1}s; send at least {} bytes/s",
                    this.received,
                    elapsed.as_secs_f64(),
                    this.limits.min_rate
                );
                Poll::Ready(Some(Err(BodyError::TooSlow {
                    received: this.received,
                    elapsed,
                    min_rate: this.limits.min_rate,
                    timeout: this.limits.timeout,
                    status: tonic::Status::deadline_exceeded(message),
                })))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
