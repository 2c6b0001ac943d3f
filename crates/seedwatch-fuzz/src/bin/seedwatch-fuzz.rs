//! `seedwatch-fuzz`: run the collector's fuzz targets on stable Rust.
//!
//! ```text
//! seedwatch-fuzz list
//! seedwatch-fuzz run all --duration 1h [--seed N] [--crashes DIR] [--corpus DIR]
//! seedwatch-fuzz replay trace_protobuf crash.bin
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use seedwatch_fuzz::{TARGETS, Target, fuzz, replay, target};

#[derive(Debug, Parser)]
#[command(name = "seedwatch-fuzz", version, about = "Fuzz the collector's decoders")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The targets.
    List,
    /// Fuzz a target (or `all`, one after the other, each for the duration).
    Run {
        /// A target name, or `all`.
        target: String,
        /// How long per target.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Stop each target after this many inputs.
        #[arg(long)]
        inputs: Option<u64>,
        /// Seed of the mutations (a run is repeatable).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// More seed inputs, one file each.
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Where crashing inputs are written.
        #[arg(long, default_value = "fuzz-crashes")]
        crashes: PathBuf,
        /// Largest input made, bytes.
        #[arg(long, default_value_t = 1 << 20)]
        max_len: usize,
    },
    /// Run one saved input on a target.
    Replay {
        /// The target name.
        target: String,
        /// The input file.
        input: PathBuf,
    },
}

fn pick(name: &str) -> Result<Vec<&'static Target>, String> {
    if name == "all" {
        return Ok(TARGETS.iter().collect());
    }
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    target(name).map(|t| vec![t]).ok_or_else(|| format!("unknown target `{name}`; one of: all, {}", names.join(", ")))
}

fn main() -> ExitCode {
    match Args::parse().command {
        Command::List => {
            for t in TARGETS {
                println!("{:<18} {}", t.name, t.about);
            }
            ExitCode::SUCCESS
        }
        Command::Run { target, duration, inputs, seed, corpus, crashes, max_len } => {
            let targets = match pick(&target) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let mut failed = false;
            for t in targets {
                let report = fuzz(t, duration, inputs, seed, corpus.as_deref(), Some(&crashes), max_len);
                let secs = report.elapsed.as_secs_f64();
                println!(
                    "{:<18} {:>12} inputs ({:>6.0} bytes on average) in {:>8.1}s ({:>8.0}/s), {} crashes",
                    report.target,
                    report.inputs,
                    report.bytes as f64 / report.inputs.max(1) as f64,
                    secs,
                    report.inputs as f64 / secs.max(1e-9),
                    report.crashes.len()
                );
                for crash in &report.crashes {
                    failed = true;
                    let at = crash.saved.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
                    println!("  crash: {} ({at})", crash.message);
                }
            }
            if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Command::Replay { target: name, input } => {
            let Some(t) = target(&name) else {
                eprintln!("unknown target `{name}`");
                return ExitCode::from(2);
            };
            let bytes = match std::fs::read(&input) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("cannot read {}: {e}", input.display());
                    return ExitCode::from(2);
                }
            };
            match replay(t, &bytes) {
                Ok(()) => {
                    println!("{name}: no panic");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    println!("{name}: panicked: {message}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
