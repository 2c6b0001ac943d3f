//! Limits on what one client can make the collector hold: strings kept beyond a request
//! ([`strings`]) and the bytes of data queued and in flight ([`memory`]).

pub mod cgroup;
mod config;
pub mod memory;
pub mod strings;

pub use config::{LimitsConfig, MemoryConfig, MemoryLimit};
pub use memory::{MemoryLimiter, MemoryRefusal, Reservation};
pub use strings::{StringCap, StringKind, Truncations, capped};
