//! Which client connections the gateway keeps: at most `max_connections` at once. Past the cap
//! a new connection never waits: the connection that has been idle longest (no request in
//! flight, which includes one still sending its headers) is closed to make room, and when every
//! connection is busy the new one is refused with a 503.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

use super::activity::Activity;

/// The open client connections.
pub(super) struct Admission {
    max: usize,
    base: Instant,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    connections: HashMap<u64, Arc<Entry>>,
}

struct Entry {
    activity: Arc<Activity>,
    evicted: Notify,
}

/// An admitted connection; it leaves the registry when dropped.
pub(super) struct Ticket {
    admission: Arc<Admission>,
    id: u64,
    entry: Arc<Entry>,
}

impl Admission {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            base: Instant::now(),
            open: Mutex::new(Open::default()),
        }
    }

    /// Admits a connection, closing the longest idle one when at the cap; `None`: every
    /// connection is busy, refuse this one.
    pub(super) fn admit(self: &Arc<Self>) -> Option<Ticket> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.connections.len() >= self.max {
            // A scan, but only at the cap, over at most `max` entries: cheaper than keeping
            // an order up to date on every request.
            let victim = open
                .connections
                .iter()
                .filter(|(_, entry)| entry.activity.is_idle())
                .min_by_key(|(_, entry)| entry.activity.idle_since())
                .map(|(id, _)| *id)?;
            if let Some(entry) = open.connections.remove(&victim) {
                entry.evicted.notify_one();
            }
        }
        let id = open.next_id;
        open.next_id += 1;
        let entry = Arc::new(Entry {
            activity: Arc::new(Activity::new(self.base)),
            evicted: Notify::new(),
        });
        open.connections.insert(id, entry.clone());
        Some(Ticket {
            admission: self.clone(),
            id,
            entry,
        })
    }

    /// Connections open now.
    pub(super) fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .connections
            .len()
    }
}

impl Ticket {
    pub(super) fn activity(&self) -> &Arc<Activity> {
        &self.entry.activity
    }

    /// Resolves when the registry closed this connection to admit a newer one.
    pub(super) async fn evicted(&self) {
        self.entry.evicted.notified().await
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // An evicted connection has already left, and its id is never reused.
        open.connections.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn past_the_cap_the_longest_idle_connection_makes_room() {
        let admission = Arc::new(Admission::new(2));
        let first = admission.admit().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let second = admission.admit().unwrap();
        let third = admission.admit().expect("an idle connection is evicted");
        assert_eq!(admission.open(), 2);
        tokio::time::timeout(Duration::from_secs(1), first.evicted())
            .await
            .expect("the oldest idle one is told");
        drop(first);
        assert_eq!(admission.open(), 2, "an evicted ticket has already left");
        drop((second, third));
        assert_eq!(admission.open(), 0);
    }

    #[test]
    fn when_every_connection_is_busy_the_new_one_is_refused() {
        let admission = Arc::new(Admission::new(2));
        let first = admission.admit().unwrap();
        let second = admission.admit().unwrap();
        let _busy = (first.activity().begin(), second.activity().begin());
        assert!(admission.admit().is_none());
        drop(_busy);
        assert!(admission.admit().is_some(), "idle again, so evictable");
    }

    #[test]
    fn a_busy_connection_is_not_the_one_evicted() {
        let admission = Arc::new(Admission::new(2));
        let old_busy = admission.admit().unwrap();
        let _request = old_busy.activity().begin();
        let _idle = admission.admit().unwrap();
        let _new = admission.admit().unwrap();
        let open = admission.open.lock().unwrap();
        assert!(open.connections.contains_key(&old_busy.id));
    }
}
