//! The default connection cap, from the process's open-file limit: past that limit `accept`
//! fails with EMFILE, and so do the gateway's own sockets to subgraphs and Redis, so the cap
//! must leave room for them.

/// Descriptors kept for everything that is not a client connection or the subgraph
/// connection it causes: the listener, stdio, Redis, the supergraph and config files, the
/// runtime's own.
const RESERVED: u64 = 64;

/// The cap when the limit allows more: each connection holds buffers (a few KiB idle, up to
/// `max_header_bytes` while reading headers), so the cap bounds memory as well.
const GENEROUS: u64 = 10_000;

/// The soft `RLIMIT_NOFILE` of this process; `None` when unknown or unlimited.
pub fn soft_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live, aligned value.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (status == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Half of what is left after [`RESERVED`] goes to client connections, the other half to the
/// subgraph connections they cause (the fetcher pools one upstream connection per request in
/// flight at worst), at most [`GENEROUS`] and at least 1.
pub fn default_max_connections(soft_limit: Option<u64>) -> usize {
    let cap = match soft_limit {
        None => GENEROUS,
        Some(limit) => (limit.saturating_sub(RESERVED) / 2).clamp(1, GENEROUS),
    };
    cap as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        // The common default soft limit on Linux.
        assert_eq!(default_max_connections(Some(1024)), 480);
        assert_eq!(default_max_connections(Some(20_000)), 9_968);
        assert_eq!(default_max_connections(Some(1 << 20)), 10_000);
        assert_eq!(default_max_connections(None), 10_000);
        assert_eq!(default_max_connections(Some(10)), 1);
        for limit in [100, 1024, 4096, 65_536] {
            assert!(2 * default_max_connections(Some(limit)) as u64 + RESERVED <= limit);
        }
    }

    #[test]
    fn this_process_has_a_limit_to_read() {
        assert!(soft_limit().is_none_or(|limit| limit > 0));
    }
}
