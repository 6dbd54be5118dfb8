//! What the writers did and the readers saw, and what that says: read-your-writes violations
//! on the instance that applied a write, and how stale the other instance's reads were.
//!
//! Each variable has one writer, so its writes are totally ordered: write `k` sets the value
//! numbered `k` (0 is the seeded value). A read returns a number. A read that started after
//! write `k` was acknowledged but returned a number below `k` is stale by the time between the
//! acknowledgement of the first write it missed and its own start: the staleness a client sees.

use serde::Serialize;

/// Which gateway instance served a read or applied a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Instance {
    /// The instance writes go through (when they do not go to the service directly).
    A,
    /// The other instance: it learns of every write from change events (or a TTL).
    B,
}

/// How a write reached the owning service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Via {
    /// A mutation through gateway A.
    GatewayA,
    /// A request straight to the service, which publishes a change event.
    Service,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Write {
    /// The number of the value it set (1, 2, ...).
    pub number: u64,
    pub via: Via,
    /// Milliseconds from the start of the run.
    pub acked_ms: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Read {
    pub instance: Instance,
    pub started_ms: f64,
    /// The number of the value it returned.
    pub number: u64,
}

/// Everything recorded about one variable.
#[derive(Debug, Default, Clone)]
pub struct History {
    pub writes: Vec<Write>,
    pub reads: Vec<Read>,
    /// Reads answered with an error, and when they started (none expected: the services
    /// never fail here, and Redis failing must not fail a request).
    pub failures: Vec<(Instance, f64)>,
}

/// What the history of one variable over a window of time says.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Verdict {
    pub writes: usize,
    pub reads_b: usize,
    /// Reads on either instance answered with an error.
    pub failed_reads: usize,
    /// Reads on A that started after a write through A was acknowledged and returned an older
    /// value: must be 0.
    pub read_your_writes_violations: usize,
    /// The first few violations, for people: the read and the write it missed.
    pub violations: Vec<String>,
    /// Reads on B that returned a value some acknowledged write had replaced.
    pub stale_reads_b: usize,
    /// Staleness of B's reads, milliseconds (0 for a read that was current).
    pub staleness_b: Distribution,
    /// Per write: how long after its acknowledgement B still served an older value.
    pub visibility_lag_b: Distribution,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Distribution {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Distribution {
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least q of them at or below it.
        let at = |q: f64| values[((values.len() as f64 * q).ceil() as usize).max(1) - 1];
        Self {
            p50: at(0.50),
            p99: at(0.99),
            max: values[values.len() - 1],
        }
    }
}

impl History {
    /// The verdict on the reads that started within `[from_ms, to_ms)` (a phase of the run),
    /// judged against every write.
    pub fn verdict(&self, from_ms: f64, to_ms: f64) -> Verdict {
        let within = |read: &&Read| read.started_ms >= from_ms && read.started_ms < to_ms;
        let reads_b: Vec<&Read> = self
            .reads
            .iter()
            .filter(within)
            .filter(|r| r.instance == Instance::B)
            .collect();
        let staleness: Vec<f64> = reads_b.iter().map(|read| self.staleness(read)).collect();
        let writes: Vec<&Write> = self
            .writes
            .iter()
            .filter(|w| w.acked_ms >= from_ms && w.acked_ms < to_ms)
            .collect();
        let lags = writes
            .iter()
            .map(|write| {
                reads_b
                    .iter()
                    .filter(|r| r.number < write.number && r.started_ms > write.acked_ms)
                    .map(|r| r.started_ms - write.acked_ms)
                    .fold(0.0, f64::max)
            })
            .collect();
        let violations: Vec<(&Read, &Write)> = self
            .reads
            .iter()
            .filter(within)
            .filter(|r| r.instance == Instance::A)
            .filter_map(|r| Some((r, self.own_write_missed(r)?)))
            .collect();
        Verdict {
            writes: writes.len(),
            reads_b: reads_b.len(),
            failed_reads: self
                .failures
                .iter()
                .filter(|(_, started)| *started >= from_ms && *started < to_ms)
                .count(),
            read_your_writes_violations: violations.len(),
            violations: violations
                .iter()
                .take(5)
                .map(|(read, write)| {
                    format!(
                        "a read on A at {:.1} ms returned value {} although write {} through A was acknowledged at {:.1} ms",
                        read.started_ms, read.number, write.number, write.acked_ms
                    )
                })
                .collect(),
            stale_reads_b: staleness.iter().filter(|s| **s > 0.0).count(),
            staleness_b: Distribution::of(staleness),
            visibility_lag_b: Distribution::of(lags),
        }
    }

    /// How long before `read` started the first write it does not reflect was acknowledged.
    fn staleness(&self, read: &Read) -> f64 {
        self.writes
            .iter()
            .find(|w| w.number == read.number + 1)
            .filter(|w| w.acked_ms < read.started_ms)
            .map_or(0.0, |w| read.started_ms - w.acked_ms)
    }

    /// The last write A itself applied and acknowledged before `read` started, if the read
    /// missed it.
    fn own_write_missed(&self, read: &Read) -> Option<&Write> {
        self.writes
            .iter()
            .rev()
            .find(|w| w.via == Via::GatewayA && w.acked_ms < read.started_ms)
            .filter(|w| w.number > read.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(number: u64, via: Via, acked_ms: f64) -> Write {
        Write {
            number,
            via,
            acked_ms,
        }
    }

    fn read(instance: Instance, started_ms: f64, number: u64) -> Read {
        Read {
            instance,
            started_ms,
            number,
        }
    }

    #[test]
    fn a_read_is_stale_from_the_acknowledgement_of_the_first_write_it_missed() {
        let history = History {
            failures: Vec::new(),
            writes: vec![write(1, Via::Service, 10.0), write(2, Via::Service, 20.0)],
            reads: vec![
                read(Instance::B, 5.0, 0),  // before any write: current
                read(Instance::B, 15.0, 0), // missed write 1 for 5 ms
                read(Instance::B, 25.0, 0), // missed writes 1 and 2: 15 ms
                read(Instance::B, 26.0, 2), // current
                read(Instance::B, 19.0, 2), // ahead of its acknowledgement: current
            ],
        };
        let verdict = history.verdict(0.0, 100.0);
        assert_eq!(verdict.reads_b, 5);
        assert_eq!(verdict.stale_reads_b, 2);
        assert_eq!(verdict.staleness_b.max, 15.0);
        assert_eq!(verdict.staleness_b.p50, 0.0);
        // Write 1 was still missed 15 ms after it was acknowledged, write 2 5 ms after.
        assert_eq!(verdict.visibility_lag_b.max, 15.0);
        assert_eq!(verdict.visibility_lag_b.p50, 5.0);
        assert_eq!(verdict.read_your_writes_violations, 0);
    }

    #[test]
    fn a_read_on_a_that_misses_a_write_through_a_is_a_violation() {
        let history = History {
            failures: Vec::new(),
            writes: vec![write(1, Via::GatewayA, 10.0), write(2, Via::Service, 20.0)],
            reads: vec![
                read(Instance::A, 11.0, 1),
                read(Instance::A, 12.0, 0), // violation
                read(Instance::A, 21.0, 1), // stale, but write 2 went to the service
                read(Instance::B, 12.0, 0), // B is not bound by read-your-writes
            ],
        };
        assert_eq!(history.verdict(0.0, 100.0).read_your_writes_violations, 1);
    }

    #[test]
    fn a_verdict_covers_the_reads_of_its_window() {
        let history = History {
            failures: Vec::new(),
            writes: vec![write(1, Via::Service, 10.0)],
            reads: vec![read(Instance::B, 50.0, 0), read(Instance::B, 150.0, 0)],
        };
        let first = history.verdict(0.0, 100.0);
        assert_eq!((first.reads_b, first.staleness_b.max), (1, 40.0));
        let second = history.verdict(100.0, 200.0);
        assert_eq!((second.reads_b, second.staleness_b.max), (1, 140.0));
        assert_eq!(second.writes, 0);
    }
}
