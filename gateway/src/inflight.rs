//! Sharing one run of a piece of work among identical concurrent callers (inbound request
//! de-duplication): the first caller with a key runs it, callers arriving with the same key
//! before it finishes wait for its result instead of running their own.
//!
//! When the leading caller goes away before it finishes (its client disconnected and the
//! server dropped its future), the waiting callers are told so and run the work themselves:
//! nobody waits on work that no longer runs.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

/// Work in flight by key.
pub struct Inflight<K, V> {
    waiting: Mutex<HashMap<K, Vec<oneshot::Sender<V>>>>,
    /// Calls so far, by [`Role`]: what `/metrics` reports.
    ran: AtomicU64,
    shared: AtomicU64,
}

impl<K: Hash + Eq + Clone, V: Clone> Default for Inflight<K, V> {
    fn default() -> Self {
        Self {
            waiting: Mutex::new(HashMap::new()),
            ran: AtomicU64::new(0),
            shared: AtomicU64::new(0),
        }
    }
}

/// How a call took part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Ran the work (first with its key, or its leader went away).
    Ran,
    /// Got the result of another caller's run.
    Shared,
}

impl<K: Hash + Eq + Clone, V: Clone> Inflight<K, V> {
    /// Runs `work`, unless work with the same key is in flight: then waits for its result.
    pub async fn run_or_join<F>(&self, key: K, work: F) -> (Role, V)
    where
        F: Future<Output = V>,
    {
        let (role, value) = self.run_or_join_uncounted(key, work).await;
        let counter = match role {
            Role::Ran => &self.ran,
            Role::Shared => &self.shared,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        (role, value)
    }

    /// How many calls ran the work and how many shared another's result, so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.ran.load(Ordering::Relaxed),
            self.shared.load(Ordering::Relaxed),
        )
    }

    async fn run_or_join_uncounted<F>(&self, key: K, work: F) -> (Role, V)
    where
        F: Future<Output = V>,
    {
        let joined = {
            let mut waiting = self.lock();
            match waiting.get_mut(&key) {
                Some(followers) => {
                    let (sender, receiver) = oneshot::channel();
                    followers.push(sender);
                    Some(receiver)
                }
                None => {
                    waiting.insert(key.clone(), Vec::new());
                    None
                }
            }
        };
        if let Some(receiver) = joined {
            return match receiver.await {
                Ok(value) => (Role::Shared, value),
                // The leader was dropped before it finished.
                Err(_) => (Role::Ran, work.await),
            };
        }
        let mut lead = Lead {
            inflight: self,
            key: Some(key),
        };
        let value = work.await;
        for follower in lead.finish() {
            // A follower that went away meanwhile needs nothing.
            let _ = follower.send(value.clone());
        }
        (Role::Ran, value)
    }

    /// How many keys have work in flight.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Vec<oneshot::Sender<V>>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The leader's claim on its key: removed when the work finishes, or when the leader is
/// dropped midway (which drops the followers' senders, waking them).
struct Lead<'a, K: Hash + Eq + Clone, V: Clone> {
    inflight: &'a Inflight<K, V>,
    key: Option<K>,
}

impl<K: Hash + Eq + Clone, V: Clone> Lead<'_, K, V> {
    fn finish(&mut self) -> Vec<oneshot::Sender<V>> {
        self.key
            .take()
            .and_then(|key| self.inflight.lock().remove(&key))
            .unwrap_or_default()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for Lead<'_, K, V> {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_with_one_key_share_one_run() {
        let inflight = Inflight::<&str, usize>::default();
        let runs = AtomicUsize::new(0);
        let (release, released) = tokio::sync::watch::channel(false);
        let work = || {
            let mut released = released.clone();
            let runs = &runs;
            async move {
                let _ = released.wait_for(|r| *r).await;
                runs.fetch_add(1, Ordering::SeqCst) + 1
            }
        };
        let callers = futures::future::join_all((0..5).map(|_| inflight.run_or_join("q", work())));
        let release_soon = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            release.send(true).expect("callers listen");
        };
        let (results, ()) = tokio::join!(callers, release_soon);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(results.iter().all(|(_, value)| *value == 1));
        let ran = results
            .iter()
            .filter(|(role, _)| *role == Role::Ran)
            .count();
        assert_eq!(ran, 1, "one leader, four followers: {results:?}");
        assert_eq!(inflight.counts(), (1, 4));
        assert!(inflight.is_empty(), "the key is released");
    }

    #[tokio::test]
    async fn different_keys_and_later_callers_run_their_own() {
        let inflight = Inflight::<u32, u32>::default();
        let (a, b) = tokio::join!(
            inflight.run_or_join(1, async { 10 }),
            inflight.run_or_join(2, async { 20 })
        );
        assert_eq!((a, b), ((Role::Ran, 10), (Role::Ran, 20)));
        // Work that finished is not a cache: the next caller runs again.
        assert_eq!(inflight.run_or_join(1, async { 11 }).await, (Role::Ran, 11));
    }

    #[tokio::test]
    async fn followers_run_themselves_when_the_leader_is_dropped() {
        let inflight = Arc::new(Inflight::<&str, &str>::default());
        let leader = {
            let inflight = inflight.clone();
            tokio::spawn(async move {
                inflight
                    .run_or_join("q", std::future::pending::<&str>())
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let follower = {
            let inflight = inflight.clone();
            tokio::spawn(async move { inflight.run_or_join("q", async { "own" }).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        leader.abort();
        let outcome = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("the follower does not hang")
            .expect("the follower does not panic");
        assert_eq!(outcome, (Role::Ran, "own"));
        assert!(inflight.is_empty());
    }
}
