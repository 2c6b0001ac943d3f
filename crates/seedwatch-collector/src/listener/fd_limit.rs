//! File descriptors: every connection takes one. At start the soft limit is raised to the hard
//! limit (as Go does), and if the listeners' `max_connections` still do not fit, with room for
//! files and outgoing connections, they are lowered in proportion — so a flood of connections
//! runs into the listener limits (which close idle connections to make room) and never into
//! "too many open files", which would leave every port unreachable.

/// Descriptors kept for everything but client connections: stores, queues, outgoing exports.
pub const RESERVED_FDS: u64 = 256;

/// Raises the soft limit as far as allowed; returns the limit now in force.
pub fn raise_fd_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read or raise the open-file limit");
            None
        }
    }
}

/// `wanted` connection limits (one per listener) scaled down to fit `fd_limit` with
/// [`RESERVED_FDS`] to spare; each at least 1.
pub fn fit_connections(wanted: &[usize], fd_limit: u64) -> Vec<usize> {
    let total: u64 = wanted.iter().map(|w| *w as u64).sum();
    let room = fd_limit.saturating_sub(RESERVED_FDS).max(wanted.len() as u64);
    if total <= room {
        return wanted.to_vec();
    }
    wanted.iter().map(|w| ((*w as u64 * room / total) as usize).max(1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_that_fit_are_kept_and_others_shrink_in_proportion() {
        assert_eq!(fit_connections(&[4096, 4096, 256], 1 << 20), [4096, 4096, 256]);
        let fitted = fit_connections(&[4096, 4096, 256], 1024);
        assert_eq!(fitted, [372, 372, 23]);
        assert!(fitted.iter().sum::<usize>() as u64 <= 1024 - RESERVED_FDS);
        assert_eq!(fit_connections(&[10, 10], 100), [1, 1], "never zero");
        assert!(raise_fd_limit().is_some_and(|l| l >= 1024));
    }
}
