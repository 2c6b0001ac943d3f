//! Typed deserialization of one config section with the failing key path kept.

use serde::de::DeserializeOwned;
use serde_norway::Value;

use super::error::{Problem, join_path};
use crate::pipeline::Signal;

/// A config section that can check itself after deserialization. Pure: no I/O.
pub trait Validate {
    /// Pushes a problem (path relative to this section) for everything wrong.
    fn validate(&self, problems: &mut Vec<Problem>);
}

/// Deserializes `value` as `T`; on failure the problem names the key path under `prefix`.
pub fn deserialize_at<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let inner = err.path().to_string();
        let inner = if inner == "." { String::new() } else { inner };
        Problem::new(join_path(prefix, &inner), err.into_inner().to_string())
    })
}

/// Deserializes and validates a section, every problem prefixed with `prefix`.
pub fn parse_section<T: DeserializeOwned + Validate>(value: Value, prefix: &str) -> Result<T, Vec<Problem>> {
    let parsed: T = deserialize_at(value, prefix).map_err(|p| vec![p])?;
    let mut problems = Vec::new();
    parsed.validate(&mut problems);
    if problems.is_empty() { Ok(parsed) } else { Err(problems.into_iter().map(|p| p.under(prefix)).collect()) }
}

/// `true`, for `#[serde(default = "crate::config::default_true")]`.
pub fn default_true() -> bool {
    true
}

/// An `enabled` switch: a boolean, or an empty string meaning false, so that
/// `enabled: ${VAR:+true}` turns a component on exactly when `VAR` is set and not empty.
pub fn enabled_switch<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Switch {
        Bool(bool),
        Text(String),
    }
    match <Switch as serde::Deserialize>::deserialize(d)? {
        Switch::Bool(b) => Ok(b),
        Switch::Text(t) if t.is_empty() => Ok(false),
        Switch::Text(t) => Err(serde::de::Error::custom(format!("found `{t}`, expected true or false"))),
    }
}

/// Checks that a socket address string parses, for endpoint fields.
pub fn check_endpoint(endpoint: &str, path: &str, problems: &mut Vec<Problem>) {
    if endpoint.parse::<std::net::SocketAddr>().is_err() {
        problems.push(Problem::found_expected(path, endpoint, "a `host:port` socket address such as `127.0.0.1:4317`"));
    }
}

/// Checks that `url` is an absolute http(s) URL with a host; `example` shows what is expected.
pub fn check_http_url(url: &str, path: &str, example: &str, problems: &mut Vec<Problem>) {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => problems.push(Problem::found_expected(path, url, example)),
    }
}

/// Checks that a number is positive.
pub fn check_positive(value: u64, path: &str, problems: &mut Vec<Problem>) {
    if value == 0 {
        problems.push(Problem::found_expected(path, value, "a number greater than 0"));
    }
}

/// One `type[/name]: {...}` entry of a `processors:` or `exporters:` map, split into the keys
/// every component of that role shares and the component's own keys.
#[derive(Debug, Clone)]
pub struct ComponentEntry {
    /// The full key, e.g. `file/archive`; unique, used in metric labels and health.
    pub name: String,
    /// The component type, e.g. `file`.
    pub kind: String,
    /// Key path of the entry, e.g. `exporters.file/archive`.
    pub path: String,
    /// The shared keys present in the entry.
    pub common: Value,
    /// The component's own keys.
    pub own: Value,
}

/// Splits every entry of a component map; `kinds` are the registered types.
pub fn component_entries(
    map: &serde_norway::Mapping,
    section: &str,
    common_keys: &[&str],
    kinds: &[&str],
    problems: &mut Vec<Problem>,
) -> Vec<ComponentEntry> {
    let mut entries = Vec::new();
    for (key, value) in map {
        let Some(name) = key.as_str() else {
            problems.push(Problem::found_expected(
                section,
                super::env::key_name(key),
                "a `type` or `type/name` string key",
            ));
            continue;
        };
        let path = join_path(section, name);
        let kind = name.split_once('/').map_or(name, |(kind, _)| kind);
        let valid_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
        if !valid_chars || name.ends_with('/') || name.matches('/').count() > 1 {
            problems.push(Problem::found_expected(
                &path,
                name,
                "a key `type` or `type/name` of letters, digits, `_`, `-` and `.`",
            ));
            continue;
        }
        if !kinds.contains(&kind) {
            problems.push(Problem::found_expected(
                &path,
                name,
                format!("a key `type` or `type/name` where type is one of: {}", kinds.join(", ")),
            ));
            continue;
        }
        let body = match value {
            Value::Null => serde_norway::Mapping::new(),
            Value::Mapping(m) => m.clone(),
            other => {
                problems.push(Problem::found_expected(
                    &path,
                    super::env::key_name(other),
                    "a mapping of settings (or nothing)",
                ));
                continue;
            }
        };
        let (mut common, mut own) = (serde_norway::Mapping::new(), serde_norway::Mapping::new());
        for (k, v) in body {
            if k.as_str().is_some_and(|k| common_keys.contains(&k)) {
                common.insert(k, v);
            } else {
                own.insert(k, v);
            }
        }
        entries.push(ComponentEntry {
            name: name.to_owned(),
            kind: kind.to_owned(),
            path,
            common: Value::Mapping(common),
            own: Value::Mapping(own),
        });
    }
    entries
}

/// The configured signals, checked against what the component supports, or its default.
pub fn pick_signals(chosen: Option<Vec<Signal>>, supported: &[Signal], path: &str) -> Result<Vec<Signal>, Problem> {
    let Some(chosen) = chosen else { return Ok(supported.to_vec()) };
    let names: Vec<&str> = supported.iter().map(|s| s.as_str()).collect();
    if chosen.is_empty() {
        return Err(Problem::found_expected(
            format!("{path}.signals"),
            "[]",
            format!("one or more of: {}", names.join(", ")),
        ));
    }
    if let Some(bad) = chosen.iter().find(|s| !supported.contains(s)) {
        return Err(Problem::found_expected(
            format!("{path}.signals"),
            bad,
            format!("one or more of: {}", names.join(", ")),
        ));
    }
    let mut chosen = chosen;
    chosen.sort();
    chosen.dedup();
    Ok(chosen)
}
