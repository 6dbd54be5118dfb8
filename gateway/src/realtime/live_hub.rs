//! Shared live queries: identical live queries (equal [`LiveKey`]s: same operation, same
//! variables, same grants, same override labels, same user and same headers to subgraphs)
//! share one execution per invalidation, whose answer every one of their clients gets. The
//! first starts it; the last to leave stops it (dropping the last [`SharedLive`] aborts its
//! task).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::gateway::LiveKey;
use crate::response::Response;

/// The last answer of a shared live query (`None` until its first execution is done).
pub(super) type Latest = Option<Arc<Response>>;

type Queries = Mutex<HashMap<LiveKey, (u64, Weak<SharedLive>)>>;

#[derive(Default)]
pub(super) struct LiveHub {
    queries: Arc<Queries>,
    next_id: AtomicU64,
    /// Executions of shared live queries so far, every one counted once however many
    /// clients it served.
    executions: Arc<AtomicU64>,
}

/// One shared live query, held by each of its clients.
pub(super) struct SharedLive {
    id: u64,
    key: LiveKey,
    latest: watch::Receiver<Latest>,
    task: AbortHandle,
    queries: Weak<Queries>,
}

impl Drop for SharedLive {
    fn drop(&mut self) {
        // The last client left: nobody reads its answers any more.
        self.task.abort();
        if let Some(queries) = self.queries.upgrade() {
            let mut map = queries.lock().unwrap_or_else(|e| e.into_inner());
            if map.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
                map.remove(&self.key);
            }
        }
    }
}

impl LiveHub {
    /// Shared live queries running now.
    pub fn len(&self) -> usize {
        self.queries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Executions so far (each counted once, whatever the number of its clients).
    pub fn executions(&self) -> u64 {
        self.executions.load(Ordering::Relaxed)
    }

    /// Joins the live query of `key`, or starts it with `start` (given where to publish its
    /// answers and what to count its executions in; it returns its task). The receiver holds
    /// its last answer and is told of every new one.
    pub fn join(
        &self,
        key: LiveKey,
        start: impl FnOnce(watch::Sender<Latest>, Arc<AtomicU64>) -> AbortHandle,
    ) -> (Arc<SharedLive>, watch::Receiver<Latest>) {
        let mut map = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(shared) = map.get(&key).and_then(|(_, weak)| weak.upgrade()) {
            let latest = shared.latest.clone();
            return (shared, latest);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, latest) = watch::channel(None);
        let task = start(sender, self.executions.clone());
        let shared = Arc::new(SharedLive {
            id,
            key: key.clone(),
            latest: latest.clone(),
            task,
            queries: Arc::downgrade(&self.queries),
        });
        map.insert(key, (id, Arc::downgrade(&shared)));
        (shared, latest)
    }
}
