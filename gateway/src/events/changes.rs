//! What realtime learns of invalidations, without knowing the cache: the opaque tag ids each
//! one moved, as it is applied on this instance (from the change-event stream every instance
//! tails, a mutation through this gateway, `/invalidate`, or the demo's in-process bus). A
//! live query compares them with the tags of its last answer.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::cache::Cache;

/// One invalidation as a watcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These tags moved: entries holding any of them are stale now.
    Tags(Arc<[u64]>),
    /// The watcher fell behind and some were lost: anything may have changed.
    Unknown,
}

/// The invalidations applied on this instance from now on.
pub struct Changes {
    receiver: broadcast::Receiver<Arc<[u64]>>,
}

impl Changes {
    pub fn watch(cache: &Cache) -> Self {
        Self {
            receiver: cache.watch_changes(),
        }
    }

    /// The next invalidation; `None` once the cache is gone.
    pub async fn next(&mut self) -> Option<Change> {
        match self.receiver.recv().await {
            Ok(tags) => Some(Change::Tags(tags)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Unknown),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next invalidation if one is waiting, without waiting.
    pub fn try_next(&mut self) -> Option<Change> {
        match self.receiver.try_recv() {
            Ok(tags) => Some(Change::Tags(tags)),
            Err(broadcast::error::TryRecvError::Lagged(_)) => Some(Change::Unknown),
            Err(_) => None,
        }
    }
}

impl Change {
    /// Whether it concerns an answer with `tags` (sorted).
    pub fn touches(&self, tags: &[u64]) -> bool {
        match self {
            Change::Tags(moved) => moved.iter().any(|tag| tags.binary_search(tag).is_ok()),
            Change::Unknown => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{CacheConfig, Invalidation};

    #[tokio::test]
    async fn a_watcher_sees_the_tags_an_invalidation_moved() {
        let cache = Cache::new(CacheConfig::default()).unwrap();
        let mut changes = Changes::watch(&cache);
        let product = Invalidation {
            subgraph: "products".into(),
            type_name: Some("Product".into()),
            keys: vec![serde_json::json!({ "upc": "1" }).into()],
        };
        let mut ours = product.tags();
        ours.sort_unstable();
        cache.invalidate(&product, cache.local_version());
        let change = changes.next().await.unwrap();
        assert!(change.touches(&ours));
        let user = Invalidation {
            subgraph: "accounts".into(),
            type_name: Some("User".into()),
            keys: Vec::new(),
        };
        cache.invalidate(&user, cache.local_version());
        assert!(!changes.try_next().unwrap().touches(&ours));
        assert!(changes.try_next().is_none());
        assert!(Change::Unknown.touches(&[]));
    }
}
