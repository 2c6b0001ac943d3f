//! The collector's own logs to stderr, text or JSON; `RUST_LOG` overrides the configured level.

use seedwatch_collector::config::{LogConfig, LogFormat};
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub(super) fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match config.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
