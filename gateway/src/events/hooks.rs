//! What the server reaches through the gateway facade: `/metrics` and `/invalidate`.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::Publisher;
use crate::cache::{Cache, Invalidation};
use crate::gateway::GatewayHooks;

pub struct CacheHooks {
    pub cache: Arc<Cache>,
    pub publisher: Option<Publisher>,
}

impl GatewayHooks for CacheHooks {
    fn metrics(&self, out: &mut String) {
        self.cache.render_metrics(out);
    }

    fn invalidation_secret(&self) -> Option<&str> {
        self.cache
            .config()
            .invalidation_endpoint
            .as_ref()
            .map(|e| e.secret.as_str())
    }

    fn changes(&self) -> Option<super::Changes> {
        Some(super::Changes::watch(&self.cache))
    }

    /// Applies here at once, and through the stream on every other instance (which also
    /// deletes the Redis entries, once).
    fn invalidate(&self, invalidations: Vec<Invalidation>) -> BoxFuture<'_, ()> {
        async move {
            let version = self.cache.local_version();
            let mut tags = Vec::new();
            for invalidation in &invalidations {
                tags.extend(self.cache.invalidate(invalidation, version));
            }
            match &self.publisher {
                Some(publisher) => publisher.publish(invalidations),
                None => {
                    self.cache.evict_l2(&tags).await;
                }
            }
        }
        .boxed()
    }
}
