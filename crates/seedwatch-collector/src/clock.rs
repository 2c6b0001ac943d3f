//! Wall-clock time as Unix seconds, the form reports, series and stores use.

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` as Unix seconds (0 before the epoch).
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Now, as Unix seconds.
pub fn unix_now() -> f64 {
    unix_seconds(SystemTime::now())
}
