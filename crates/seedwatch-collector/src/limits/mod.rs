//! Limits on what one client can make the collector hold: strings kept beyond a request
//! ([`strings`]) and the bytes of data queued and in flight ([`memory`]).

mod config;
pub mod strings;

pub use config::LimitsConfig;
pub use strings::{StringCap, StringKind, Truncations, capped};
