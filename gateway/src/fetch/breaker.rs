//! A circuit breaker per subgraph: after enough consecutive fetches that found it down or
//! stuck, stop calling it for a while, so that clients get an immediate error instead of
//! each waiting out a timeout, and a recovering subgraph is not flooded with requests.
//!
//! Closed (normal) → open (fetches fail at once) after `failure_threshold` consecutive
//! failures → half-open after the open delay: one probe goes through while the rest still
//! fail at once → closed when the probe gets an answer, open again (with the delay doubled,
//! up to `max_open_ms`) when it does not.
//!
//! Only fetches that got no answer count as failures (see [`Outcome`]): an answer, even a
//! GraphQL error or a 500, shows that the subgraph is up, and one bad query must not shut
//! a subgraph off for everyone.
//!
//! Time is passed in, so the state machine is tested without sleeping.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::config::CircuitBreakerConfig;

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// What one fetch says about the subgraph's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It sent an HTTP answer (whatever the status and body, except below).
    Answered,
    /// Timed out, refused or reset the connection, or answered 502/503/504 without a GraphQL
    /// body (what a proxy in front of a dead service says).
    Down,
}

#[derive(Debug)]
pub struct Breaker {
    subgraph: String,
    threshold: u32,
    base_delay: Duration,
    max_delay: Duration,
    /// Read by every fetch: while closed, that load is all the breaker costs.
    state: AtomicU8,
    /// Consecutive failures while closed.
    failures: AtomicU32,
    /// Changed only on transitions (rare), and read only when not closed.
    open: Mutex<OpenState>,
}

#[derive(Debug)]
struct OpenState {
    /// When an open breaker lets its next probe through.
    until: Instant,
    /// The current open delay (grows on failed probes).
    delay: Duration,
}

/// Why a fetch was refused without contacting the subgraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// Until the next probe may go (zero while a probe is in flight).
    pub retry_in: Duration,
}

/// A fetch the breaker let through; [`Attempt::settle`] reports how it went. An attempt
/// dropped unsettled (its client went away) says nothing, but a probe dropped so gives its
/// turn to the next fetch.
#[derive(Debug)]
pub struct Attempt<'a> {
    breaker: &'a Breaker,
    probe: bool,
    settled: bool,
}

impl Breaker {
    pub fn new(subgraph: &str, config: &CircuitBreakerConfig) -> Self {
        let base_delay = Duration::from_millis(config.open_ms);
        Self {
            subgraph: subgraph.to_string(),
            threshold: config.failure_threshold.max(1),
            base_delay,
            max_delay: Duration::from_millis(config.max_open_ms).max(base_delay),
            state: AtomicU8::new(CLOSED),
            failures: AtomicU32::new(0),
            open: Mutex::new(OpenState {
                until: Instant::now(),
                delay: base_delay,
            }),
        }
    }

    /// Open or half-open: fetches are being refused.
    pub fn is_open(&self) -> bool {
        self.state.load(Ordering::Acquire) != CLOSED
    }

    /// Lets a fetch through, or refuses it. `now` is only read when the breaker is not
    /// closed.
    pub fn admit(&self, now: impl FnOnce() -> Instant) -> Result<Attempt<'_>, Rejected> {
        if self.state.load(Ordering::Acquire) == CLOSED {
            return Ok(self.attempt(false));
        }
        let now = now();
        let open = self.lock();
        match self.state.load(Ordering::Acquire) {
            CLOSED => Ok(self.attempt(false)),
            OPEN if now >= open.until => {
                self.state.store(HALF_OPEN, Ordering::Release);
                tracing::info!(
                    subgraph = %self.subgraph,
                    "circuit breaker half-open: sending one probe request to subgraph \"{}\"",
                    self.subgraph
                );
                Ok(self.attempt(true))
            }
            OPEN => Err(Rejected {
                retry_in: open.until - now,
            }),
            // Half-open, a probe in flight: it alone decides.
            _ => Err(Rejected {
                retry_in: Duration::ZERO,
            }),
        }
    }

    fn attempt(&self, probe: bool) -> Attempt<'_> {
        Attempt {
            breaker: self,
            probe,
            settled: false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OpenState> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn failed(&self, now: Instant) {
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures < self.threshold {
            return;
        }
        let mut open = self.lock();
        if self.state.load(Ordering::Acquire) != CLOSED {
            // Fetches that were in flight when it opened.
            return;
        }
        open.delay = self.base_delay;
        open.until = now + open.delay;
        self.state.store(OPEN, Ordering::Release);
        tracing::warn!(
            subgraph = %self.subgraph,
            "circuit breaker open: subgraph \"{}\" failed {failures} consecutive requests; \
             failing its fetches at once for {:?}",
            self.subgraph,
            open.delay
        );
    }

    fn probe_settled(&self, outcome: Outcome, now: Instant) {
        let mut open = self.lock();
        match outcome {
            Outcome::Answered => {
                self.failures.store(0, Ordering::Release);
                open.delay = self.base_delay;
                self.state.store(CLOSED, Ordering::Release);
                tracing::info!(
                    subgraph = %self.subgraph,
                    "circuit breaker closed: subgraph \"{}\" answered the probe",
                    self.subgraph
                );
            }
            Outcome::Down => {
                open.delay = (open.delay * 2).min(self.max_delay);
                open.until = now + open.delay;
                self.state.store(OPEN, Ordering::Release);
                tracing::warn!(
                    subgraph = %self.subgraph,
                    "circuit breaker open again: subgraph \"{}\" failed the probe; next probe \
                     in {:?}",
                    self.subgraph,
                    open.delay
                );
            }
        }
    }

    /// A probe that never finished: the next fetch may probe at once.
    fn probe_abandoned(&self) {
        let mut open = self.lock();
        if self.state.load(Ordering::Acquire) == HALF_OPEN {
            open.until = Instant::now();
            self.state.store(OPEN, Ordering::Release);
        }
    }
}

impl Attempt<'_> {
    pub fn settle(mut self, outcome: Outcome, now: impl FnOnce() -> Instant) {
        self.settled = true;
        let breaker = self.breaker;
        match (self.probe, outcome) {
            (true, outcome) => breaker.probe_settled(outcome, now()),
            (false, Outcome::Down) => breaker.failed(now()),
            // The common case: one load, and a store only after failures.
            (false, Outcome::Answered) => {
                if breaker.failures.load(Ordering::Acquire) != 0 {
                    breaker.failures.store(0, Ordering::Release);
                }
            }
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.probe && !self.settled {
            self.breaker.probe_abandoned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, open_ms: u64, max_open_ms: u64) -> Breaker {
        Breaker::new(
            "inventory",
            &CircuitBreakerConfig {
                enabled: true,
                failure_threshold: threshold,
                open_ms,
                max_open_ms,
            },
        )
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Lets a fetch through at `now` and reports `outcome`; panics when refused.
    fn fetch(breaker: &Breaker, now: Instant, outcome: Outcome) {
        breaker
            .admit(|| now)
            .expect("let through")
            .settle(outcome, || now);
    }

    #[test]
    fn opens_after_the_threshold_of_consecutive_failures_only() {
        let b = breaker(3, 1_000, 1_000);
        let t = Instant::now();
        fetch(&b, t, Outcome::Down);
        fetch(&b, t, Outcome::Down);
        // An answer in between starts the count again.
        fetch(&b, t, Outcome::Answered);
        fetch(&b, t, Outcome::Down);
        fetch(&b, t, Outcome::Down);
        assert!(!b.is_open());
        fetch(&b, t, Outcome::Down);
        assert!(b.is_open());
        let rejected = b.admit(|| t + ms(400)).unwrap_err();
        assert_eq!(rejected.retry_in, ms(600));
    }

    #[test]
    fn one_probe_after_the_delay_and_its_answer_closes() {
        let b = breaker(1, 1_000, 1_000);
        let t = Instant::now();
        fetch(&b, t, Outcome::Down);
        assert!(b.admit(|| t + ms(999)).is_err());
        let probe = b.admit(|| t + ms(1_000)).expect("the probe");
        // While the probe is out, everything else still fails at once.
        assert_eq!(
            b.admit(|| t + ms(1_001)).unwrap_err().retry_in,
            Duration::ZERO
        );
        assert!(b.is_open());
        probe.settle(Outcome::Answered, || t + ms(1_100));
        assert!(!b.is_open());
        fetch(&b, t + ms(1_101), Outcome::Answered);
    }

    #[test]
    fn a_failed_probe_reopens_with_the_delay_doubled_up_to_the_maximum() {
        let b = breaker(2, 1_000, 3_000);
        let t = Instant::now();
        fetch(&b, t, Outcome::Down);
        fetch(&b, t, Outcome::Down);
        // Probe at 1 s fails: open for 2 s.
        fetch(&b, t + ms(1_000), Outcome::Down);
        assert!(b.admit(|| t + ms(2_999)).is_err());
        // Probe at 3 s fails: open for 3 s (the maximum), not 4.
        fetch(&b, t + ms(3_000), Outcome::Down);
        assert!(b.admit(|| t + ms(5_999)).is_err());
        fetch(&b, t + ms(6_000), Outcome::Answered);
        assert!(!b.is_open());
        // Closed again, the delay starts over from `open_ms`; and the count from zero.
        fetch(&b, t + ms(7_000), Outcome::Down);
        assert!(!b.is_open());
        fetch(&b, t + ms(7_000), Outcome::Down);
        assert_eq!(b.admit(|| t + ms(7_000)).unwrap_err().retry_in, ms(1_000));
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_fetch_probe() {
        let b = breaker(1, 1_000, 1_000);
        let t = Instant::now();
        fetch(&b, t, Outcome::Down);
        drop(b.admit(|| t + ms(1_000)).expect("the probe"));
        let probe = b.admit(|| t + ms(1_000)).expect("another probe");
        probe.settle(Outcome::Answered, || t + ms(1_000));
        assert!(!b.is_open());
    }

    #[test]
    fn fetches_in_flight_when_it_opened_do_not_change_it() {
        let b = breaker(1, 1_000, 1_000);
        let t = Instant::now();
        let slow = b.admit(|| t).unwrap();
        let late = b.admit(|| t).unwrap();
        fetch(&b, t, Outcome::Down);
        // One answers (not a probe: it does not close), one fails (already open).
        slow.settle(Outcome::Answered, || t + ms(10));
        late.settle(Outcome::Down, || t + ms(20));
        assert_eq!(b.admit(|| t + ms(500)).unwrap_err().retry_in, ms(500));
    }
}
