//! Fuzzing seedwatch's decoders on stable Rust: every input format the collector reads from
//! outside — OTLP protobuf (trace, metric and log requests, read in place and decoded), OTLP
//! JSON, gzip bodies, the whole OTLP/HTTP receiver, config YAML and pricing YAML — as a
//! [`Target`]: a function of arbitrary bytes that must return, never panic.
//!
//! [`fuzz`] mutates a seed corpus (real requests and configs) and runs a target for a time or
//! a number of inputs, keeping the inputs that crash. `cargo test -p seedwatch-fuzz` runs every
//! target for a few seconds and every saved regression input; `seedwatch-fuzz run` runs for as
//! long as wanted (see `docs/fuzzing.md`).

mod driver;
mod mutate;
mod seeds;
mod targets;

pub use driver::{Crash, Report, fuzz, replay};
pub use mutate::Mutator;
pub use targets::{TARGETS, Target, target};
