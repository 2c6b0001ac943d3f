//! Config of the `resource` processor.

use serde::Deserialize;

use crate::config::{Problem, Validate};

/// Changes to resource attributes, applied in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// The changes.
    pub attributes: Vec<AttributeAction>,
}

/// One change to one resource attribute.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeAction {
    /// The attribute key, e.g. `deployment.environment.name`.
    pub key: String,
    /// `insert` (only if absent), `upsert` (set), or `delete`.
    pub action: Action,
    /// The value for insert and upsert: a string, integer, float or boolean.
    pub value: Option<ScalarValue>,
}

/// What to do with the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Add the attribute if the resource does not have it.
    Insert,
    /// Set the attribute, replacing any value.
    Upsert,
    /// Remove the attribute.
    Delete,
}

/// A scalar attribute value from YAML.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ScalarValue {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// Text.
    String(String),
}

impl Validate for ResourceConfig {
    fn validate(&self, problems: &mut Vec<Problem>) {
        if self.attributes.is_empty() {
            problems.push(Problem::found_expected("attributes", "[]", "at least one `{key, action, value}` entry"));
        }
        for (i, a) in self.attributes.iter().enumerate() {
            let path = format!("attributes[{i}]");
            if a.key.is_empty() {
                problems.push(Problem::found_expected(format!("{path}.key"), "", "a non-empty attribute key"));
            }
            match (a.action, &a.value) {
                (Action::Delete, Some(_)) => {
                    problems.push(Problem::new(format!("{path}.value"), "`delete` takes no value; remove `value`"))
                }
                (Action::Insert | Action::Upsert, None) => problems.push(Problem::new(
                    format!("{path}.value"),
                    "missing; `insert` and `upsert` need a `value` (string, number or boolean)",
                )),
                _ => {}
            }
        }
    }
}
