//! One log line: the guide's fields, rendered as JSON and as OTLP attributes.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry::{Context, Key};
use opentelemetry_sdk::logs::SdkLogRecord;

use crate::instrument::scope::Scope;

/// A field value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl Field {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Field::Str(s) => serde_json::Value::from(s.as_str()),
            Field::I64(i) => serde_json::Value::from(*i),
            Field::U64(u) => serde_json::Value::from(*u),
            Field::F64(f) => serde_json::Value::from(*f),
            Field::Bool(b) => serde_json::Value::from(*b),
        }
    }

    fn to_any(&self) -> AnyValue {
        match self {
            Field::Str(s) => AnyValue::from(s.clone()),
            Field::I64(i) => AnyValue::Int(*i),
            Field::U64(u) => i64::try_from(*u).map_or_else(|_| AnyValue::Double(*u as f64), AnyValue::Int),
            Field::F64(f) => AnyValue::Double(*f),
            Field::Bool(b) => AnyValue::Boolean(*b),
        }
    }
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);
thread_local! {
    static THREAD_ID: Cell<u64> = const { Cell::new(0) };
}

/// A small stable number per thread (`std::thread::ThreadId::as_u64` is not stable).
fn thread_number() -> u64 {
    THREAD_ID.with(|id| {
        if id.get() == 0 {
            id.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        id.get()
    })
}

/// When, on which thread and in which span and scope an event happened: captured on the
/// calling thread, so the event can be rendered on another one.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    time: SystemTime,
    thread: std::thread::Thread,
    thread_id: u64,
    span: SpanContext,
    scope: Option<Scope>,
}

impl Origin {
    /// `time`, this thread, and `cx`'s span and scope.
    pub(crate) fn capture(cx: &Context, time: SystemTime) -> Origin {
        Self::made(cx, cx.get::<Scope>().cloned(), time)
    }

    /// `time`, this thread, `cx`'s span, and `scope`.
    pub(crate) fn in_scope(cx: &Context, scope: Scope, time: SystemTime) -> Origin {
        Self::made(cx, Some(scope), time)
    }

    fn made(cx: &Context, scope: Option<Scope>, time: SystemTime) -> Origin {
        Origin {
            time,
            thread: std::thread::current(),
            thread_id: thread_number(),
            span: cx.span().span_context().clone(),
            scope,
        }
    }

    /// The span the event happened in.
    pub(crate) fn span_context(&self) -> &SpanContext {
        &self.span
    }

    /// When the event happened.
    pub(crate) fn time(&self) -> SystemTime {
        self.time
    }
}

/// A log line being built.
pub(crate) struct Line {
    time: SystemTime,
    level: tracing::Level,
    logger: String,
    message: String,
    pub(crate) module: Option<&'static str>,
    pub(crate) function: Option<String>,
    pub(crate) file: Option<&'static str>,
    pub(crate) line: Option<u32>,
    thread_name: Option<String>,
    thread_id: u64,
    tool_name: Option<String>,
    workflow_id: Option<String>,
    trace_id: Option<String>,
    span_id: Option<String>,
    fields: Vec<(String, Field)>,
}

impl Line {
    /// A line for an event happening now, on this thread.
    pub(crate) fn new(level: tracing::Level, logger: &str, message: &str) -> Line {
        let thread = std::thread::current().name().map(str::to_owned);
        Line::made(SystemTime::now(), thread, thread_number(), level, logger, message)
    }

    fn made(
        time: SystemTime,
        thread_name: Option<String>,
        thread_id: u64,
        level: tracing::Level,
        logger: &str,
        message: &str,
    ) -> Line {
        Line {
            time,
            level,
            logger: logger.to_owned(),
            message: message.to_owned(),
            module: None,
            function: None,
            file: None,
            line: None,
            thread_name,
            thread_id,
            tool_name: None,
            workflow_id: None,
            trace_id: None,
            span_id: None,
            fields: Vec::new(),
        }
    }

    /// A line for an event captured elsewhere: its time, thread, span and scope.
    pub(crate) fn at(origin: &Origin, level: tracing::Level, logger: &str, message: &str) -> Line {
        let thread = origin.thread.name().map(str::to_owned);
        let mut line = Line::made(origin.time, thread, origin.thread_id, level, logger, message);
        line.span(&origin.span);
        if let Some(scope) = &origin.scope {
            line.scope(scope);
        }
        line
    }

    pub(crate) fn set_message(&mut self, message: String) {
        self.message = message;
    }

    /// Adds a field; `tool_name` and `workflow_id` go to their own places.
    pub(crate) fn field(&mut self, key: &str, value: Field) {
        match (key, value) {
            ("tool_name", Field::Str(s)) => self.tool_name = Some(s),
            ("workflow_id", Field::Str(s)) => self.workflow_id = Some(s),
            (k, v) => self.fields.push((k.to_owned(), v)),
        }
    }

    /// Takes trace and span ids and the tool/workflow in scope from a context; fields the
    /// event set itself win.
    pub(crate) fn context(&mut self, cx: &Context) {
        self.span(cx.span().span_context());
        if let Some(scope) = cx.get::<Scope>() {
            self.scope(scope);
        }
    }

    fn span(&mut self, sc: &SpanContext) {
        if sc.is_valid() {
            self.trace_id = Some(sc.trace_id().to_string());
            self.span_id = Some(sc.span_id().to_string());
        }
    }

    fn scope(&mut self, scope: &Scope) {
        if self.tool_name.is_none() {
            self.tool_name = scope.tool_name.as_deref().map(str::to_owned);
        }
        if self.workflow_id.is_none() {
            self.workflow_id = scope.workflow_id.as_deref().map(str::to_owned);
        }
    }

    /// The JSON line, newline included.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(256);
        let timestamp = jiff::Timestamp::try_from(self.time).map(|t| t.to_string()).unwrap_or_default();
        out.push('{');
        let mut put = |key: &str, value: serde_json::Value| {
            if out.len() > 1 {
                out.push(',');
            }
            let _ = write!(out, "{}:{}", serde_json::Value::from(key), value);
        };
        put("timestamp", timestamp.into());
        put("level", self.level.as_str().into());
        put("logger", self.logger.as_str().into());
        put("message", self.message.as_str().into());
        put("module", self.module.into());
        put("function", self.function.as_deref().into());
        put("line", self.line.into());
        if let Some(file) = self.file {
            put("file", file.into());
        }
        put("thread", self.thread_name.clone().unwrap_or_else(|| self.thread_id.to_string()).into());
        put("thread_id", self.thread_id.into());
        put("process", std::process::id().into());
        put("tool_name", self.tool_name.as_deref().into());
        put("workflow_id", self.workflow_id.as_deref().into());
        put("trace_id", self.trace_id.as_deref().into());
        put("span_id", self.span_id.as_deref().into());
        for (k, v) in &self.fields {
            put(k, v.to_json());
        }
        out.push_str("}\n");
        out
    }

    /// The line's fields as OTLP attributes (trace context and time are set elsewhere).
    pub(crate) fn otlp_attributes(&self, record: &mut SdkLogRecord) {
        if let Some(m) = self.module {
            record.add_attribute("code.namespace", m);
        }
        if let Some(f) = &self.function {
            record.add_attribute("code.function.name", f.clone());
        }
        if let Some(f) = self.file {
            record.add_attribute("code.file.path", f);
        }
        if let Some(l) = self.line {
            record.add_attribute("code.line.number", i64::from(l));
        }
        if let Some(name) = &self.thread_name {
            record.add_attribute("thread.name", name.clone());
        }
        record.add_attribute("thread.id", i64::try_from(self.thread_id).unwrap_or(i64::MAX));
        if let Some(t) = &self.tool_name {
            record.add_attribute("tool_name", t.clone());
        }
        if let Some(w) = &self.workflow_id {
            record.add_attribute("workflow_id", w.clone());
        }
        for (k, v) in &self.fields {
            record.add_attribute(Key::from(k.clone()), v.to_any());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_guides_fields_in_order() {
        let mut line = Line::new(tracing::Level::WARN, "modelseed.tools", "FBA \"slow\"");
        line.module = Some("agent::tools");
        line.line = Some(42);
        line.field("tool_name", Field::Str("run_metabolic_fba".into()));
        line.field("objective", Field::F64(0.5));
        let text = line.render();
        assert!(text.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["logger"], "modelseed.tools");
        assert_eq!(v["message"], "FBA \"slow\"");
        assert_eq!(v["module"], "agent::tools");
        assert_eq!(v["line"], 42);
        assert_eq!(v["tool_name"], "run_metabolic_fba");
        assert_eq!(v["workflow_id"], serde_json::Value::Null);
        assert_eq!(v["objective"], 0.5);
        assert_eq!(v["process"], std::process::id());
        let keys: Vec<&str> = text.split("\":").map(|s| s.rsplit('"').next().unwrap_or("")).collect();
        let order = ["timestamp", "level", "logger", "message", "module", "function", "line", "thread"];
        let positions: Vec<usize> = order.iter().map(|k| keys.iter().position(|x| x == k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(v["timestamp"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok(), "{text}");
    }
}
