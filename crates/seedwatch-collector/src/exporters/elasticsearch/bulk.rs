//! The Bulk API: NDJSON request bodies and what each item's answer means.

use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
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
struct Response {
    #[serde(default)]
    items: Vec<Action>,
}

/// A first look at an answer: whether any item failed, and how many items there are, read
/// without keeping anything (the common answer, all stored, costs no allocation).
#[derive(Debug, Deserialize)]
struct Summary {
    #[serde(default = "crate::config::default_true")]
    errors: bool,
    #[serde(default)]
    items: Count,
}

#[derive(Debug, Default)]
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Counter;
        impl<'de> Visitor<'de> for Counter {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of bulk items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(Counter)
    }
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

/// What a bulk answer says of the documents sent.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcomes {
    /// Every one stored.
    AllStored,
    /// Document by document, in the order sent.
    Each(Vec<Outcome>),
}

/// Classifies each item of a bulk answer; `None` if the answer is unreadable or does not
/// match the request (a different number of items).
pub(super) fn outcomes(answer: &[u8], op: Op, sent: usize) -> Option<Outcomes> {
    let summary: Summary = serde_json::from_slice(answer).ok()?;
    if summary.items.0 != sent {
        return None;
    }
    if !summary.errors {
        return Some(Outcomes::AllStored);
    }
    let response: Response = serde_json::from_slice(answer).ok()?;
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
    Some(Outcomes::Each(outcomes))
}

fn reason(error: &Option<Value>) -> String {
    error
        .as_ref()
        .and_then(|e| e.get("reason").or_else(|| e.get("type")))
        .and_then(Value::as_str)
        .unwrap_or("no reason given")
        .to_owned()
}
