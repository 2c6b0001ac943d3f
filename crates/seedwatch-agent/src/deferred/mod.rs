//! Work taken off the calling thread: ending a tool or LLM call's span (the SDK's export copy
//! and the hand-off to the batch processor), a tool call's audit record (serialising and
//! sanitising its inputs and outputs, the JSON line, the OTLP log record) and the metric
//! recordings of both. The caller captures what the work needs (time, thread, span, values)
//! and queues it; one worker thread does it in batches, woken when a batch is full or a short
//! interval has passed, so a call pays for a queue push, not for a wake-up. When the queue is full, or no
//! worker runs (before `init`, after shutdown), the caller does the work itself: nothing is
//! dropped here.

mod queue;

use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt as _;
pub(crate) use queue::Queue;

use crate::audit::ToolExecution;
use crate::instrument::llm::LlmMetrics;

/// A call's span, to be ended at the time the call ended.
pub(crate) struct SpanEnd {
    /// The context holding the span.
    pub cx: Context,
    /// When the call ended.
    pub at: SystemTime,
}

/// One piece of deferred work.
pub(crate) enum Job {
    /// A tool call's span end, metrics and audit record.
    Tool(SpanEnd, ToolExecution),
    /// An LLM call's span end and metrics.
    Llm(SpanEnd, LlmMetrics),
}

impl SpanEnd {
    fn end(self) {
        self.cx.span().end_with_timestamp(self.at);
    }
}

impl Job {
    fn run(self) {
        match self {
            Job::Tool(span, execution) => {
                span.end();
                crate::instrument::tool::record(execution);
            }
            Job::Llm(span, metrics) => {
                span.end();
                metrics.record();
            }
        }
    }
}

/// Jobs waiting before the worker is woken early.
const WAKE_AT: usize = 256;
/// Longest a job waits for the worker.
const INTERVAL: Duration = Duration::from_millis(50);
/// Jobs queued at most; beyond, callers do their own work.
const CAPACITY: usize = 4096;

/// Does `job` on the worker when one runs and has room, else here and now.
pub(crate) fn submit(job: Job) {
    let rejected = match crate::shared::get().deferred.as_ref() {
        Some(queue) => queue.push(job),
        None => Some(job),
    };
    if let Some(job) = rejected {
        job.run();
    }
}

/// The worker thread and its queue.
pub(crate) struct Worker {
    queue: std::sync::Arc<Queue<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker for `queue`; `None` if the thread cannot be made (callers then do
    /// their own work).
    pub(crate) fn start(queue: std::sync::Arc<Queue<Job>>) -> Option<Worker> {
        let q = queue.clone();
        let thread = std::thread::Builder::new()
            .name("seedwatch-deferred".into())
            .spawn(move || q.serve(INTERVAL, |job| job.run()))
            .ok()?;
        Some(Worker { queue, thread: Some(thread) })
    }

    /// Waits (at most `timeout`) until every job queued before this call is done.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        self.queue.flush(timeout)
    }

    /// Does what is queued, then stops the worker; later jobs run on their callers.
    pub(crate) fn stop(&mut self, timeout: Duration) {
        self.queue.flush(timeout);
        self.queue.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// A queue with the crate's sizes.
pub(crate) fn queue() -> Queue<Job> {
    Queue::new(WAKE_AT, CAPACITY)
}
