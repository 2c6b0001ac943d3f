//! What instrumentation needs after [`crate::init`]: instruments, the OTLP logger, the
//! sanitiser and the pricing table. Instrumentation used before `init` (or without it) gets a
//! default set: instruments from the global meter provider, no OTLP logs.

use std::sync::{Arc, OnceLock};

use opentelemetry::Context;
use opentelemetry::logs::LoggerProvider as _;
use opentelemetry::trace::{SpanBuilder, TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use seedwatch_semconv::pricing::PricingTable;

use crate::deferred::{Job, Queue};
use crate::instrument::instruments::Instruments;
use crate::logs::LogSink;
use crate::redact::Sanitizer;

/// Instrumentation scope of the crate's spans and metrics.
pub(crate) const SCOPE: &str = "seedwatch-agent";
/// Scope (logger name) of tool audit records.
pub(crate) const AUDIT_SCOPE: &str = "seedwatch.audit";
/// Scope (logger name) of security events, as the monitoring guide names its logger.
pub(crate) const SECURITY_SCOPE: &str = "modelseed.security";

pub(crate) struct Shared {
    pub instruments: Instruments,
    pub sanitizer: Sanitizer,
    pub pricing: PricingTable,
    pub sink: LogSink,
    pub app_logger: Option<SdkLogger>,
    pub audit_logger: Option<SdkLogger>,
    pub security_logger: Option<SdkLogger>,
    /// The installed provider's tracer; without one, spans go to the global provider.
    pub tracer: Option<SdkTracer>,
    /// The deferred worker's queue; without one, callers do that work themselves.
    pub deferred: Option<Arc<Queue<Job>>>,
}

impl Shared {
    pub(crate) fn new(
        sanitizer: Sanitizer,
        pricing: PricingTable,
        sink: LogSink,
        logs: Option<&SdkLoggerProvider>,
    ) -> Shared {
        Shared {
            instruments: Instruments::new(),
            sanitizer,
            pricing,
            sink,
            app_logger: logs.map(|p| p.logger(SCOPE)),
            audit_logger: logs.map(|p| p.logger(AUDIT_SCOPE)),
            security_logger: logs.map(|p| p.logger(SECURITY_SCOPE)),
            tracer: None,
            deferred: None,
        }
    }

    /// Starts the span `builder` describes under `parent`; the context with it.
    pub(crate) fn start_span(&self, builder: SpanBuilder, parent: &Context) -> Context {
        match &self.tracer {
            Some(tracer) => parent.with_span(builder.start_with_context(tracer, parent)),
            None => parent.with_span(builder.start_with_context(&opentelemetry::global::tracer(SCOPE), parent)),
        }
    }

    /// Spans from `provider`'s tracer, made once.
    pub(crate) fn with_tracer_of(mut self, provider: Option<&SdkTracerProvider>) -> Shared {
        self.tracer = provider.map(|p| p.tracer(SCOPE));
        self
    }

    /// Work deferred to the worker that serves `queue`.
    pub(crate) fn with_deferred(mut self, queue: Arc<Queue<Job>>) -> Shared {
        self.deferred = Some(queue);
        self
    }
}

static INSTALLED: OnceLock<Arc<Shared>> = OnceLock::new();
static FALLBACK: OnceLock<Arc<Shared>> = OnceLock::new();

/// Installs the state made by `init`; false if an earlier `init` already did.
pub(crate) fn install(shared: Shared) -> bool {
    INSTALLED.set(Arc::new(shared)).is_ok()
}

/// True once `init` has installed its state.
pub(crate) fn installed() -> bool {
    INSTALLED.get().is_some()
}

/// The installed state, or the default one.
pub(crate) fn get() -> &'static Shared {
    if let Some(s) = INSTALLED.get() {
        return s;
    }
    FALLBACK.get_or_init(|| {
        Arc::new(Shared::new(
            Sanitizer::default(),
            PricingTable::embedded().unwrap_or_default(),
            LogSink::default(),
            None,
        ))
    })
}
