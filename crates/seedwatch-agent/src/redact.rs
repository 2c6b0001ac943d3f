//! One sanitiser for audit inputs and outputs and log fields: secrets are replaced by
//! `[REDACTED]` wherever they appear in text, values under secret-looking keys are replaced
//! whole, and long values are truncated.

use std::borrow::Cow;

use regex::{Regex, RegexSet};
use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets found in free text. A pattern's first and second capture groups, if any, are kept
/// before and after the replacement (the scheme word, the key name, the URL's user and `@`).
const TEXT_PATTERNS: &[&str] = &[
    // PEM private keys, whole block (or to the end when the block is cut).
    r"(?s)-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\z)",
    // JSON Web Tokens.
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    // Credentials in URLs: scheme://user:password@host.
    r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(@)",
    // Authorization header values.
    r"(?i)\b((?:bearer|basic|token|apikey)\s+)[A-Za-z0-9._~+/=-]{8,}",
    // key=value and "key": "value" with a secret-looking key, also with escaped quotes
    // (JSON inside a Debug-formatted string).
    r#"(?i)((?:password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|client[_-]?secret|private[_-]?key|accountkey|sharedaccesskey|aws_secret_access_key)\\?["']?\s*[:=]\s*\\?["']?)[^\s"',;&}\\]+"#,
    // Provider API keys: OpenAI / Anthropic (sk-...), AWS access key ids, Google, GitHub,
    // GitLab, Slack, Stripe, Hugging Face, SendGrid.
    r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
    r"\bAIza[0-9A-Za-z_-]{35}",
    r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}",
    r"\bgithub_pat_[A-Za-z0-9_]{22,}",
    r"\bglpat-[A-Za-z0-9_-]{20,}",
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",
    r"\bhf_[A-Za-z0-9]{30,}",
    r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
];

/// Last segments of keys whose values are secret whatever they look like.
const SECRET_KEY_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "authorization",
    "cookie",
    "credentials",
    "credential",
    "private_key",
    "access_key",
    "secret_key",
    "connection_string",
];

/// Redacts secrets and truncates long values.
#[derive(Debug, Clone)]
pub struct Sanitizer {
    set: RegexSet,
    patterns: Vec<Regex>,
    key_endings: Vec<String>,
    max_len: usize,
    max_items: usize,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Sanitizer::builder().build().unwrap_or_else(|_| unreachable!("the built-in patterns compile"))
    }
}

/// Builds a [`Sanitizer`] on top of the built-in patterns.
#[derive(Debug, Clone)]
pub struct SanitizerBuilder {
    patterns: Vec<String>,
    keys: Vec<String>,
    max_len: usize,
    max_items: usize,
}

impl SanitizerBuilder {
    /// Also redact whatever matches `regex` (its first capture group, if any, is kept).
    pub fn pattern(mut self, regex: impl Into<String>) -> Self {
        self.patterns.push(regex.into());
        self
    }

    /// Also treat values under keys ending in `name` (case-insensitive) as secret.
    pub fn key(mut self, name: impl Into<String>) -> Self {
        self.keys.push(name.into().to_lowercase().replace('-', "_"));
        self
    }

    /// Longest string kept, in bytes (default 4096); longer ones are cut and marked.
    pub fn max_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// Most array items and object members kept (default 100).
    pub fn max_items(mut self, n: usize) -> Self {
        self.max_items = n;
        self
    }

    /// Compiles the patterns.
    pub fn build(self) -> Result<Sanitizer, regex::Error> {
        let patterns = self.patterns.iter().map(|p| Regex::new(p)).collect::<Result<Vec<_>, _>>()?;
        Ok(Sanitizer {
            set: RegexSet::new(&self.patterns)?,
            patterns,
            key_endings: self.keys,
            max_len: self.max_len,
            max_items: self.max_items,
        })
    }
}

impl Sanitizer {
    /// The built-in patterns and key names, to add to.
    pub fn builder() -> SanitizerBuilder {
        SanitizerBuilder {
            patterns: TEXT_PATTERNS.iter().map(|p| (*p).to_owned()).collect(),
            keys: SECRET_KEY_ENDINGS.iter().map(|k| (*k).to_owned()).collect(),
            max_len: 4096,
            max_items: 100,
        }
    }

    /// True when values under `key` are secret: its last `.`/`_`/`-` separated part, or the
    /// last two, name a secret (`db.password`, `OPENAI_API_KEY`, `x-api-key`), not merely
    /// containing one (`max_tokens` is not).
    pub fn is_secret_key(&self, key: &str) -> bool {
        let key = key.to_lowercase().replace(['-', '.'], "_");
        let key = key.trim_matches('_');
        self.key_endings
            .iter()
            .any(|ending| key == ending || key.strip_suffix(ending.as_str()).is_some_and(|head| head.ends_with('_')))
    }

    /// Text with every secret replaced and the whole cut to the length limit.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let matches = self.set.matches(text);
        let mut out = Cow::Borrowed(text);
        if matches.matched_any() {
            for i in matches.iter() {
                let replaced = self.patterns[i].replace_all(&out, |caps: &regex::Captures<'_>| {
                    let group = |i| caps.get(i).map_or("", |m: regex::Match<'_>| m.as_str());
                    format!("{}{REDACTED}{}", group(1), group(2))
                });
                if let Cow::Owned(s) = replaced {
                    out = Cow::Owned(s);
                }
            }
        }
        if out.len() > self.max_len {
            let mut cut = self.max_len;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            let dropped = out.len() - cut;
            return Cow::Owned(format!("{}…[truncated {dropped} bytes]", &out[..cut]));
        }
        out
    }

    /// A sanitised copy of a JSON value.
    pub fn sanitize(&self, value: &Value) -> Value {
        self.sanitize_depth(value, 0)
    }

    fn sanitize_depth(&self, value: &Value, depth: usize) -> Value {
        const MAX_DEPTH: usize = 16;
        match value {
            Value::String(s) => Value::String(self.redact_text(s).into_owned()),
            Value::Array(items) if depth < MAX_DEPTH => {
                let mut out: Vec<Value> =
                    items.iter().take(self.max_items).map(|v| self.sanitize_depth(v, depth + 1)).collect();
                if items.len() > self.max_items {
                    out.push(Value::String(format!("…[{} more items]", items.len() - self.max_items)));
                }
                Value::Array(out)
            }
            Value::Object(map) if depth < MAX_DEPTH => {
                let mut out = serde_json::Map::new();
                for (k, v) in map.iter().take(self.max_items) {
                    let v = if self.is_secret_key(k) && !v.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        self.sanitize_depth(v, depth + 1)
                    };
                    out.insert(k.clone(), v);
                }
                if map.len() > self.max_items {
                    out.insert("…".to_owned(), Value::String(format!("{} more members", map.len() - self.max_items)));
                }
                Value::Object(out)
            }
            Value::Array(_) | Value::Object(_) => Value::String("…[nested too deep]".to_owned()),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
