//! At most one log line per interval for a recurring condition (a subgraph that keeps
//! failing would otherwise write a line per request), with a count of the lines held back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A gate for one kind of log line.
#[derive(Debug)]
pub struct LogRateLimit {
    interval_ms: u64,
    /// Milliseconds since `epoch` when a line was last let through, plus one (0: never).
    last: AtomicU64,
    suppressed: AtomicU64,
    epoch: Instant,
}

impl LogRateLimit {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// `Some(lines held back since the last one)` when a line may be written now.
    pub fn admit(&self) -> Option<u64> {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1;
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < self.interval_ms {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // One of the racing callers wins the slot; the others count as held back.
        match self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => Some(self.suppressed.swap(0, Ordering::Relaxed)),
            Err(_) => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_one_line_through_per_interval_and_counts_the_rest() {
        let gate = LogRateLimit::new(Duration::from_millis(50));
        assert_eq!(gate.admit(), Some(0));
        assert_eq!(gate.admit(), None);
        assert_eq!(gate.admit(), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(gate.admit(), Some(2));
        assert_eq!(gate.admit(), None);
    }
}
