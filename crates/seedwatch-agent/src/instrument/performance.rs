//! The monitoring guide's PerformanceMonitor: `measure("name")` guards and the `#[timed]`
//! attribute record an operation's duration in `modelseed.operation.duration{operation}` and
//! as a span.

use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::global::BoxedSpan;
use opentelemetry::trace::{Span as _, Tracer as _};

use crate::shared::{self, SCOPE};

/// A running measurement; records when dropped. It is `Send`, so it may be held across
/// `.await`s; it does not make its span current (child spans of the measured code attach to
/// whatever was current before).
pub struct Measurement {
    operation: &'static str,
    start: Instant,
    span: BoxedSpan,
}

/// Starts measuring `operation` (a fixed name: it becomes a metric label).
pub fn measure(operation: &'static str) -> Measurement {
    let tracer = opentelemetry::global::tracer(SCOPE);
    let span = tracer.start(operation);
    Measurement { operation, start: Instant::now(), span }
}

impl Measurement {
    /// Seconds since the measurement started.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

impl Drop for Measurement {
    fn drop(&mut self) {
        let seconds = self.start.elapsed().as_secs_f64();
        shared::get().instruments.measured.record(seconds, &[KeyValue::new("operation", self.operation)]);
        self.span.end();
    }
}
