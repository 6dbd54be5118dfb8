//! When each subscriber held each event: one slot per (event, subscriber), written once by the
//! subscriber's task, read by the main task after the event reached everyone (or timed out).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Events are named by the review body the trigger posts: `w<n>` (warm-up) or `s<n>` (sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    WarmUp(usize),
    Sample(usize),
}

impl Event {
    pub fn body(self) -> String {
        match self {
            Event::WarmUp(n) => format!("w{n}"),
            Event::Sample(n) => format!("s{n}"),
        }
    }

    /// The event a message is about, from the first `"body":"…"` in it: found by a byte scan,
    /// not a JSON parse, so that reading 10,000 streams costs the client as little as it can.
    pub fn find(message: &[u8]) -> Option<Event> {
        const KEY: &[u8] = b"\"body\":\"";
        let at = message.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
        let rest = &message[at..];
        let end = rest.iter().position(|&b| b == b'"')?;
        let (kind, digits) = rest[..end].split_first()?;
        let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
        match kind {
            b'w' => Some(Event::WarmUp(n)),
            b's' => Some(Event::Sample(n)),
            _ => None,
        }
    }
}

pub struct Arrivals {
    epoch: Instant,
    subscribers: usize,
    /// Nanoseconds since `epoch` + 1 (0: not yet), by sample × subscriber.
    samples: Vec<AtomicU64>,
    /// Subscribers holding each sample.
    counts: Vec<AtomicUsize>,
    /// Subscribers holding each warm-up event.
    warm_ups: Vec<AtomicUsize>,
}

pub const MAX_WARM_UPS: usize = 60;

impl Arrivals {
    pub fn new(subscribers: usize, samples: usize) -> Self {
        Self {
            epoch: Instant::now(),
            subscribers,
            samples: (0..subscribers * samples)
                .map(|_| AtomicU64::new(0))
                .collect(),
            counts: (0..samples).map(|_| AtomicUsize::new(0)).collect(),
            warm_ups: (0..MAX_WARM_UPS).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    pub fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    /// Subscriber `who` holds `event` now. A repeated event (there should be none) keeps the
    /// first arrival.
    pub fn record(&self, who: usize, event: Event) {
        match event {
            Event::Sample(n) if n < self.counts.len() => {
                let slot = &self.samples[n * self.subscribers + who];
                if slot
                    .compare_exchange(0, self.now(), Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    self.counts[n].fetch_add(1, Ordering::Release);
                }
            }
            Event::WarmUp(n) if n < MAX_WARM_UPS => {
                self.warm_ups[n].fetch_add(1, Ordering::Release);
            }
            _ => {}
        }
    }

    pub fn holding(&self, event: Event) -> usize {
        match event {
            Event::Sample(n) => self.counts[n].load(Ordering::Acquire),
            Event::WarmUp(n) => self.warm_ups[n].load(Ordering::Acquire),
        }
    }

    /// Each subscriber's time from `sent` (an instant of [`Arrivals::now`]) to holding sample
    /// `n`, in seconds; `None` for those that never did.
    pub fn delays(&self, n: usize, sent: u64) -> Vec<Option<f64>> {
        self.samples[n * self.subscribers..(n + 1) * self.subscribers]
            .iter()
            .map(|slot| match slot.load(Ordering::Acquire) {
                0 => None,
                at => Some(at.saturating_sub(sent) as f64 / 1e9),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_found_by_their_review_body() {
        let sse = br#"data: {"data":{"reviewAdded":{"id":"9","body":"s12","rating":5}}}"#;
        assert_eq!(Event::find(sse), Some(Event::Sample(12)));
        let ws = br#"{"id":"3","type":"next","payload":{"data":{"reviewAdded":{"body":"w0"}}}}"#;
        assert_eq!(Event::find(ws), Some(Event::WarmUp(0)));
        assert_eq!(Event::find(b":\n"), None);
        assert_eq!(Event::find(br#"{"body":"hello"}"#), None);
    }
}
