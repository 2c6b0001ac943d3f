//! Config of the `file` exporter.

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::{Problem, Validate};

/// Where to append OTLP/JSON lines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file (created if missing, appended to). A FIFO or `/dev/stdout` also works.
    pub path: PathBuf,
}

impl Validate for FileConfig {
    fn validate(&self, problems: &mut Vec<Problem>) {
        if self.path.as_os_str().is_empty() {
            problems.push(Problem::found_expected("path", "", "a file path such as `/var/lib/seedwatch/otlp.jsonl`"));
        } else if self.path.is_dir() {
            problems.push(Problem::found_expected("path", self.path.display(), "a file, not a directory"));
        }
    }
}
