//! Resource gauges from sysinfo, collected when the metric reader asks (every export
//! interval), refreshing only this process, memory and disks:
//!
//! | metric | unit | what |
//! |---|---|---|
//! | `process.memory.usage` | By | resident memory of this process |
//! | `process.cpu.utilization` | 1 | CPU of this process since the last collection, as a share of all cores |
//! | `system.memory.utilization` | 1 | used share of system memory |
//! | `system.filesystem.usage{system.filesystem.state=free, system.filesystem.mountpoint}` | By | free space per mounted disk |
//!
//! The seedwatch collector turns the first two into the guide's `modelseed_memory_usage_bytes`
//! and `modelseed_cpu_usage_percent`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::KeyValue;
use sysinfo::{Disks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::shared::SCOPE;

/// The last sample, for audit records (memory bytes; CPU percent as f64 bits).
static LAST_MEMORY: AtomicU64 = AtomicU64::new(0);
static LAST_CPU_PERCENT: AtomicU64 = AtomicU64::new(0);

/// A sample of this process and the system.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sample {
    pub memory_bytes: u64,
    /// Percent of one core × cores, divided by the number of cores: 0–100.
    pub cpu_percent: f64,
    pub system_memory_percent: f64,
}

/// Samples kept between collections (CPU use is a difference of two refreshes).
pub(crate) struct Sampler {
    system: System,
    pid: Option<Pid>,
}

impl Sampler {
    pub(crate) fn new() -> Sampler {
        Sampler { system: System::new(), pid: sysinfo::get_current_pid().ok() }
    }

    pub(crate) fn sample(&mut self) -> Sample {
        self.system.refresh_memory();
        let mut sample = Sample::default();
        let total = self.system.total_memory();
        if total > 0 {
            sample.system_memory_percent = self.system.used_memory() as f64 * 100.0 / total as f64;
        }
        if let Some(pid) = self.pid {
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                true,
                ProcessRefreshKind::nothing().with_memory().with_cpu(),
            );
            if let Some(p) = self.system.process(pid) {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
                sample.memory_bytes = p.memory();
                sample.cpu_percent = f64::from(p.cpu_usage()) / cores;
            }
        }
        LAST_MEMORY.store(sample.memory_bytes, Ordering::Relaxed);
        LAST_CPU_PERCENT.store(sample.cpu_percent.to_bits(), Ordering::Relaxed);
        sample
    }
}

/// Memory bytes and CPU percent of the last sample (0 before the first).
pub(crate) fn last_sample() -> (u64, f64) {
    (LAST_MEMORY.load(Ordering::Relaxed), f64::from_bits(LAST_CPU_PERCENT.load(Ordering::Relaxed)))
}

/// One refresh serves all gauges of one collection.
struct Cached {
    sampler: Sampler,
    last: Option<(std::time::Instant, Sample)>,
}

impl Cached {
    fn fresh(&mut self) -> Sample {
        match self.last {
            Some((at, sample)) if at.elapsed() < std::time::Duration::from_millis(500) => sample,
            _ => {
                let sample = self.sampler.sample();
                self.last = Some((std::time::Instant::now(), sample));
                sample
            }
        }
    }
}

/// Registers the gauges on the global meter provider.
pub(crate) fn register() {
    let meter = opentelemetry::global::meter(SCOPE);
    let sampler = std::sync::Arc::new(Mutex::new(Cached { sampler: Sampler::new(), last: None }));
    let s = sampler.clone();
    meter
        .u64_observable_gauge("process.memory.usage")
        .with_unit("By")
        .with_description("Resident memory of the agent process")
        .with_callback(move |obs| {
            if let Ok(mut cached) = s.lock() {
                obs.observe(cached.fresh().memory_bytes, &[]);
            }
        })
        .build();
    let s = sampler.clone();
    meter
        .f64_observable_gauge("process.cpu.utilization")
        .with_unit("1")
        .with_description("CPU used by the agent process, as a share of all cores")
        .with_callback(move |obs| {
            if let Ok(mut cached) = s.lock() {
                obs.observe(cached.fresh().cpu_percent / 100.0, &[]);
            }
        })
        .build();
    let s = sampler;
    meter
        .f64_observable_gauge("system.memory.utilization")
        .with_unit("1")
        .with_description("Used share of system memory")
        .with_callback(move |obs| {
            if let Ok(mut cached) = s.lock() {
                obs.observe(cached.fresh().system_memory_percent / 100.0, &[]);
            }
        })
        .build();
    let disks = Mutex::new(Disks::new_with_refreshed_list());
    meter
        .u64_observable_gauge("system.filesystem.usage")
        .with_unit("By")
        .with_description("Free space of each mounted disk")
        .with_callback(move |obs| {
            if let Ok(mut disks) = disks.lock() {
                disks.refresh(true);
                for d in disks.list() {
                    obs.observe(
                        d.available_space(),
                        &[
                            KeyValue::new("system.filesystem.state", "free"),
                            KeyValue::new("system.filesystem.mountpoint", d.mount_point().display().to_string()),
                        ],
                    );
                }
            }
        })
        .build();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let mut s = Sampler::new();
        let first = s.sample();
        assert!(first.memory_bytes > 1024 * 1024, "{first:?}");
        assert!(first.system_memory_percent > 0.0 && first.system_memory_percent <= 100.0, "{first:?}");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let second = s.sample();
        assert!(second.cpu_percent >= 0.0 && second.cpu_percent <= 100.0, "{second:?}");
        assert_eq!(last_sample().0, second.memory_bytes);
    }
}
