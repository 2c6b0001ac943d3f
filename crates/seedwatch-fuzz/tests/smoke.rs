//! Every fuzz target for a few seconds from its seeds (CI), and every saved regression input
//! (an input that once broke something, or that checks a bound this issue set).
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use seedwatch_fuzz::{TARGETS, fuzz, replay, target};

/// Seconds per target in CI; `SEEDWATCH_FUZZ_SECONDS` for longer runs under `cargo test`.
fn budget() -> Duration {
    let secs = std::env::var("SEEDWATCH_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

#[test]
fn every_target_survives_its_mutated_seeds() {
    let mut failures = Vec::new();
    for t in TARGETS {
        let report = fuzz(t, budget(), None, 0x5eed, None, None, 256 * 1024);
        assert!(report.inputs > 50, "{}: only {} inputs", t.name, report.inputs);
        for crash in report.crashes {
            failures.push(format!("{}: {} (input {} bytes)", t.name, crash.message, crash.input.len()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn saved_regression_inputs_do_not_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/regressions");
    let mut ran = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        let Some((target_name, _)) = name.split_once("--") else { continue };
        let t = target(target_name).unwrap_or_else(|| panic!("{name}: no target {target_name}"));
        let input = std::fs::read(entry.path()).unwrap();
        replay(t, &input).unwrap_or_else(|message| panic!("{name}: {message}"));
        ran += 1;
    }
    assert!(ran > 0, "no regression inputs in {dir}");
}

#[test]
fn a_panicking_target_is_caught_and_reported() {
    fn boom(data: &[u8]) {
        assert!(data.len() < 3, "too long");
    }
    fn seeds() -> Vec<Vec<u8>> {
        vec![vec![1]]
    }
    static BOOM: seedwatch_fuzz::Target = seedwatch_fuzz::Target { name: "boom", about: "", run: boom, seeds };
    let report = fuzz(&BOOM, Duration::from_secs(5), Some(10_000), 1, None, None, 64);
    assert!(!report.crashes.is_empty(), "the mutator makes longer inputs");
    assert!(report.crashes[0].message.contains("too long"), "{}", report.crashes[0].message);
}
