//! The `seedwatch` command line: `run`, `validate`, `health`, `--version`.

mod agents;
mod health;
mod logging;
mod run;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// OpenTelemetry-native monitoring for LLM agents.
#[derive(Debug, Parser)]
#[command(name = "seedwatch", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the collector (without -c: the embedded default config).
    Run {
        /// Config file (YAML).
        #[arg(short, long, env = "SEEDWATCH_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Check a config file and exit: 0 valid, 1 invalid.
    Validate {
        /// Config file (YAML).
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Ask a running collector how it is: exit 0 healthy, 1 degraded, 2 unhealthy or unreachable.
    Health {
        /// Admin URL of the collector.
        #[arg(long, env = "SEEDWATCH_URL", default_value = "http://127.0.0.1:8889")]
        url: String,
        /// Show every component and queue.
        #[arg(long, conflicts_with = "agents")]
        detailed: bool,
        /// List every agent instance the collector tracks, with its health state.
        #[arg(long)]
        agents: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Give up after this long.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run::run(config.as_deref()),
        Command::Validate { config } => validate::validate(&config),
        Command::Health { url, agents: true, format, timeout, .. } => agents::agents(&url, format, timeout),
        Command::Health { url, detailed, format, timeout, .. } => health::health(&url, detailed, format, timeout),
    }
}
