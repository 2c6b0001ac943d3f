//! Config errors that name the file, the key path, what was found and what is expected.

use std::fmt;

/// One thing wrong with a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `receivers.otlp.grpc.endpoint` (empty for the whole document).
    pub path: String,
    /// What is wrong, including what was found and what is expected.
    pub message: String,
}

impl Problem {
    /// A problem at `path` described by `message`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { path: path.into(), message: message.into() }
    }

    /// The usual shape: found X, expected Y.
    pub fn found_expected(path: impl Into<String>, found: impl fmt::Display, expected: impl fmt::Display) -> Self {
        Problem::new(path, format!("found `{found}`, expected {expected}"))
    }

    /// Prefixes the path with a parent key.
    pub fn under(mut self, parent: &str) -> Self {
        self.path = join_path(parent, &self.path);
        self
    }
}

/// Joins two dotted key paths, either of which may be empty.
pub fn join_path(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_owned(),
        (_, true) => parent.to_owned(),
        _ => format!("{parent}.{child}"),
    }
}

/// A config that cannot be used, with every problem found.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the config file: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML.
    #[error("{file}: not valid YAML: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The YAML is well formed but its content is wrong.
    #[error("{}", render_invalid(file, problems))]
    Invalid {
        /// The file.
        file: String,
        /// Everything wrong, in document order where known.
        problems: Vec<Problem>,
    },
}

fn render_invalid(file: &str, problems: &[Problem]) -> String {
    let mut out =
        format!("{file}: invalid config ({} problem{})", problems.len(), if problems.len() == 1 { "" } else { "s" });
    for p in problems {
        let path = if p.path.is_empty() { "(top level)" } else { p.path.as_str() };
        out.push_str(&format!("\n  - {file}: `{path}`: {}", p.message));
    }
    out
}
