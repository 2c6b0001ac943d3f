//! The Bulk API: NDJSON request bodies and what each item's answer means.

use serde::Deserialize;
use serde_json::Value;

/// `index` overwrites a document with the same id (replays are harmless); data streams only
/// take `create`, where a replayed id answers 409, which means it is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Index,
    Create,
}

/// A bulk answer, as much of it as is asked for (`filter_path`, see the client).
#[derive(Debug, Deserialize)]
pub(super) struct Response {
    #[serde(default)]
    items: Vec<Action>,
}

/// One answer item, keyed by its action; a struct rather than a map, so thousands of items
/// cost no map allocations.
#[derive(Debug, Deserialize)]
struct Action {
    index: Option<Item>,
    create: Option<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    status: u16,
    #[serde(default)]
    error: Option<Value>,
}

/// What happened to one document.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    /// Stored (or already there).
    Stored,
    /// Worth sending again: 429, 5xx.
    Retry(String),
    /// Refused for good (mapping errors, other 4xx), with Elasticsearch's status and error.
    Refused(u16, Value),
}

/// Classifies each item of a bulk answer; `None` if the answer does not match the request.
pub(super) fn outcomes(response: &Response, op: Op, sent: usize) -> Option<Vec<Outcome>> {
    if response.items.len() != sent {
        return None;
    }
    let outcomes = response
        .items
        .iter()
        .map(|item| {
            let Some(item) = item.index.as_ref().or(item.create.as_ref()) else {
                return Outcome::Retry("an answer item without `index` or `create`".into());
            };
            match item.status {
                200..=299 => Outcome::Stored,
                409 if op == Op::Create => Outcome::Stored,
                429 | 500..=599 => Outcome::Retry(format!("item status {}: {}", item.status, reason(&item.error))),
                status => Outcome::Refused(status, item.error.clone().unwrap_or(Value::Null)),
            }
        })
        .collect();
    Some(outcomes)
}

fn reason(error: &Option<Value>) -> String {
    error
        .as_ref()
        .and_then(|e| e.get("reason").or_else(|| e.get("type")))
        .and_then(Value::as_str)
        .unwrap_or("no reason given")
        .to_owned()
}
