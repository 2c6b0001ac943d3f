//! Documents Elasticsearch refused for good, one JSON line each with its error, so they can
//! be inspected, fixed and re-sent; nothing refused disappears silently.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::documents::DocBuffer;

#[derive(Debug)]
pub(super) struct DeadLetters {
    path: Option<PathBuf>,
}

impl DeadLetters {
    pub(super) fn new(path: Option<PathBuf>) -> Self {
        DeadLetters { path }
    }

    /// Records refused documents (numbers in `docs`); a failure to write is logged (the count
    /// still shows them).
    pub(super) fn record(&self, docs: &DocBuffer, refused: &[(usize, u16, Value)]) {
        if refused.is_empty() {
            return;
        }
        let target = |i: usize| {
            let action: Value = serde_json::from_slice(docs.action(i)).unwrap_or(Value::Null);
            let meta = action.as_object().and_then(|o| o.values().next()).cloned().unwrap_or(Value::Null);
            (meta["_index"].clone(), meta["_id"].clone())
        };
        for (i, status, error) in refused.iter().take(3) {
            let (index, id) = target(*i);
            tracing::warn!(%index, %id, status, error = %error, "Elasticsearch refused a document");
        }
        let Some(path) = &self.path else { return };
        let mut lines = Vec::new();
        let now = jiff::Timestamp::now().to_string();
        for (i, status, error) in refused {
            let (index, id) = target(*i);
            let source: Value = serde_json::from_slice(docs.source(*i)).unwrap_or(Value::Null);
            let line = json!({
                "@timestamp": now, "index": index, "id": id, "status": status,
                "error": error, "document": source,
            });
            let _ = serde_json::to_writer(&mut lines, &line);
            lines.push(b'\n');
        }
        let written =
            std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| f.write_all(&lines));
        if let Err(err) = written {
            tracing::error!(file = %path.display(), error = %err, documents = refused.len(), "cannot write the dead-letter file");
        }
    }
}
