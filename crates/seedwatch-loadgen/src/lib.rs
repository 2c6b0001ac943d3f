//! Realistic LLM-agent OTLP traffic: traces of one workflow root with tool and LLM child
//! spans, in each GenAI attribute dialect, from many service instances, with a chosen error
//! rate. Used by the `seedwatch-loadgen` binary, the collector's benchmarks and tests.

pub mod raw_codec;
pub mod traffic;
