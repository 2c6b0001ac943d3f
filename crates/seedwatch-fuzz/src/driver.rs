//! Runs a target on mutated inputs for a time or a number of inputs, catching panics and
//! keeping every input that caused one.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use super::mutate::Mutator;
use super::targets::Target;

/// An input that made the target panic.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The input.
    pub input: Vec<u8>,
    /// The panic message.
    pub message: String,
    /// Where it was saved, if a directory was given.
    pub saved: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// Inputs run (seeds included).
    pub inputs: u64,
    /// Their total size, bytes.
    pub bytes: u64,
    /// Time taken.
    pub elapsed: Duration,
    /// Inputs that made it panic (at most ten are kept).
    pub crashes: Vec<Crash>,
}

/// Mutated inputs kept to be mutated further (deeper changes than one round allows).
const KEPT: usize = 1000;
/// Crashes kept before a run stops early.
const MAX_CRASHES: usize = 10;

thread_local! {
    /// Set while this thread runs a target: its panics are recorded, not printed.
    static FUZZING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records the panics of targets and leaves every other
/// panic to the default hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !FUZZING.get() {
                return default(info);
            }
            let at = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            LAST_PANIC.set(Some(format!("{message}{at}")));
        }));
    });
}

/// Runs `input` on `target`; the panic message if it panicked.
pub fn replay(target: &Target, input: &[u8]) -> Result<(), String> {
    install_hook();
    FUZZING.set(true);
    let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    FUZZING.set(false);
    outcome.map_err(|_| LAST_PANIC.take().unwrap_or_default())
}

/// Fuzzes `target` until `duration` has passed or `max_inputs` were run, from its seeds and
/// the files in `corpus` (if given); crashing inputs are written to `crashes` (if given).
pub fn fuzz(
    target: &'static Target,
    duration: Duration,
    max_inputs: Option<u64>,
    seed: u64,
    corpus: Option<&Path>,
    crashes: Option<&Path>,
    max_len: usize,
) -> Report {
    let mut inputs: Vec<Vec<u8>> = (target.seeds)();
    if let Some(dir) = corpus
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        inputs.extend(entries.flatten().filter_map(|e| std::fs::read(e.path()).ok()));
    }
    if inputs.is_empty() {
        inputs.push(Vec::new());
    }
    let seeds = inputs.len();
    let mut mutator = Mutator::new(seed, max_len);
    let mut report = Report { target: target.name, inputs: 0, bytes: 0, elapsed: Duration::ZERO, crashes: Vec::new() };
    let started = Instant::now();
    let record = |input: Vec<u8>, report: &mut Report| {
        report.inputs += 1;
        report.bytes += input.len() as u64;
        if let Err(message) = replay(target, &input) {
            let saved = crashes.and_then(|dir| {
                let path = dir.join(format!("{}-{:016x}.bin", target.name, fnv1a(&input)));
                std::fs::create_dir_all(dir).ok()?;
                std::fs::write(&path, &input).ok()?;
                Some(path)
            });
            report.crashes.push(Crash { input, message, saved });
        }
    };
    for input in inputs.clone() {
        record(input, &mut report);
    }
    while started.elapsed() < duration
        && max_inputs.is_none_or(|max| report.inputs < max)
        && report.crashes.len() < MAX_CRASHES
    {
        // Half the time from a seed: mutants of mutants drift towards short inputs.
        let base = if mutator.pick(2) == 0 { mutator.pick(seeds) } else { mutator.pick(inputs.len()) };
        let other = mutator.pick(inputs.len());
        let input = mutator.mutate(&inputs[base], &inputs[other]);
        if report.inputs.is_multiple_of(16) {
            // Keep some mutants to mutate again, replacing old ones past the limit.
            if inputs.len() < seeds + KEPT {
                inputs.push(input.clone());
            } else {
                let slot = seeds + mutator.pick(KEPT);
                inputs[slot] = input.clone();
            }
        }
        record(input, &mut report);
    }
    report.elapsed = started.elapsed();
    report
}

/// FNV-1a, to name crash files by their content.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
