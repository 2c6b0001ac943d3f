//! `${ENV}`, `${ENV:-default}` and `${ENV:+word}` substitution in the string values of a
//! parsed config (`:+`: `word` when ENV is set and not empty, else nothing).
//!
//! Substitution happens on parsed values, not on the raw text, so a variable's value can never
//! change the structure of the document. When a whole scalar is one reference, the result is
//! read as a YAML scalar, so `port: ${PORT}` yields a number. `$$` escapes a literal `$`.

use serde_norway::Value;

use super::error::{Problem, join_path};

/// Looks up an environment variable; a function so tests need not touch the process env.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Replaces references in every string of `value`, collecting a problem per bad reference.
pub fn substitute(value: &mut Value, lookup: Lookup<'_>, path: &str, problems: &mut Vec<Problem>) {
    match value {
        Value::String(s) => match expand(s, lookup) {
            Ok(Expanded::Unchanged) => {}
            Ok(Expanded::Text(text)) => *s = text,
            Ok(Expanded::WholeReference(text)) => *value = as_scalar(text),
            Err(message) => problems.push(Problem::new(path, message)),
        },
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, lookup, &format!("{path}[{i}]"), problems);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = key_name(key);
                substitute(item, lookup, &join_path(path, &key), problems);
            }
        }
        Value::Tagged(tagged) => substitute(&mut tagged.value, lookup, path, problems),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A mapping key as text for error paths.
pub fn key_name(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other).map(|s| s.trim().to_owned()).unwrap_or_default(),
    }
}

enum Expanded {
    Unchanged,
    Text(String),
    WholeReference(String),
}

fn as_scalar(text: String) -> Value {
    if text.is_empty() {
        return Value::String(text);
    }
    match serde_norway::from_str::<Value>(&text) {
        Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
        _ => Value::String(text),
    }
}

fn expand(input: &str, lookup: Lookup<'_>) -> Result<Expanded, String> {
    if !input.contains('$') {
        return Ok(Expanded::Unchanged);
    }
    let mut out = String::with_capacity(input.len());
    let mut references = 0;
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end =
                body.find('}').ok_or_else(|| format!("found `{input}`, expected `}}` to close the `${{` reference"))?;
            out.push_str(&resolve(&body[..end], lookup)?);
            references += 1;
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    let whole = references == 1 && input.starts_with("${") && input.ends_with('}') && input.matches("${").count() == 1;
    Ok(if whole { Expanded::WholeReference(out) } else { Expanded::Text(out) })
}

fn resolve(reference: &str, lookup: Lookup<'_>) -> Result<String, String> {
    let reference = reference.strip_prefix("env:").unwrap_or(reference);
    if let Some((name, word)) = reference.split_once(":+")
        && !name.contains(":-")
    {
        check_name(name, reference)?;
        return Ok(if lookup(name).is_some_and(|v| !v.is_empty()) { word.to_owned() } else { String::new() });
    }
    let (name, default) = match reference.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (reference, None),
    };
    check_name(name, reference)?;
    match (lookup(name), default) {
        (Some(v), Some(d)) if v.is_empty() => Ok(d.to_owned()),
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.to_owned()),
        (None, None) => Err(format!(
            "environment variable `{name}` is not set; set it, or give a default with `${{{name}:-value}}`"
        )),
    }
}

fn check_name(name: &str, reference: &str) -> Result<(), String> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        return Ok(());
    }
    Err(format!(
        "found `${{{reference}}}`, expected `${{NAME}}`, `${{NAME:-default}}` or `${{NAME:+word}}` with NAME made of letters, digits and `_`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PORT" => Some("4317".into()),
            "HOST" => Some("10.0.0.1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn run(yaml: &str) -> (Value, Vec<Problem>) {
        let mut v: Value = serde_norway::from_str(yaml).expect("yaml");
        let mut problems = Vec::new();
        substitute(&mut v, &env, "", &mut problems);
        (v, problems)
    }

    #[test]
    fn plus_gives_the_word_only_when_the_variable_is_set_and_not_empty() {
        let (v, p) = run("a: ${PORT:+true}\nb: ${EMPTY:+true}\nc: ${MISSING:+true}\nd: x${HOST:+-on}");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(v["a"], Value::Bool(true));
        assert_eq!(v["b"], Value::String(String::new()));
        assert_eq!(v["c"], Value::String(String::new()));
        assert_eq!(v["d"], Value::String("x-on".into()));
    }

    #[test]
    fn whole_reference_becomes_a_typed_scalar() {
        let (v, p) = run("a: ${PORT}\nb: ${HOST}:${PORT}\nc: ${env:PORT}");
        assert!(p.is_empty());
        assert_eq!(v["a"], Value::Number(4317.into()));
        assert_eq!(v["b"], Value::String("10.0.0.1:4317".into()));
        assert_eq!(v["c"], Value::Number(4317.into()));
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let (v, p) = run("a: ${NOPE:-x}\nb: ${EMPTY:-y}\nc: ${NOPE:-}");
        assert!(p.is_empty());
        assert_eq!(v["a"], Value::String("x".into()));
        assert_eq!(v["b"], Value::String("y".into()));
        assert_eq!(v["c"], Value::String(String::new()));
    }

    #[test]
    fn escapes_and_plain_dollars_are_kept() {
        let (v, p) = run("a: cost $$5 and $${PORT}\nb: $5");
        assert!(p.is_empty());
        assert_eq!(v["a"], Value::String("cost $5 and ${PORT}".into()));
        assert_eq!(v["b"], Value::String("$5".into()));
    }

    #[test]
    fn unset_variable_is_reported_with_its_path() {
        let (_, p) = run("x:\n  list: [ok, '${MISSING}']\n  bad: ${1X}\n  open: ${PORT");
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(p[0].path, "x.list[1]");
        assert!(p[0].message.contains("`MISSING` is not set"));
        assert_eq!(p[1].path, "x.bad");
        assert_eq!(p[2].path, "x.open");
    }
}
