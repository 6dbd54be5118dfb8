//! Subgraph request de-duplication: byte-identical query requests to one subgraph (same body,
//! same forwarded headers) share one HTTP request while it is in flight. On by default
//! (`subgraph_defaults.deduplicate`), as Hive Router does: a burst of identical reads, and
//! the same entities asked for by concurrent operations, cost the subgraph one request.
//!
//! A request is never joined across a write: the key holds the version of the data it was
//! started under (mutations sent through this gateway, and, with the cache on, every
//! invalidation it learned), so a read that begins after a write was acknowledged never gets
//! an answer fetched before it.

use std::hash::{Hash, Hasher};

use bytes::Bytes;
use http::HeaderMap;
use xxhash_rust::xxh3::Xxh3;

use crate::executor::{FetchError, SubgraphResponse};
use crate::inflight::{Inflight, Role};

/// What makes two requests the same: the version of the data, the body and the headers.
#[derive(Clone)]
pub struct RequestKey {
    /// Mutations this gateway sent so far.
    writes: u64,
    /// The cache's version of the data (its invalidations), 0 without a cache.
    version: u128,
    body: Bytes,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Of all the above, computed once (xxh3: the body can be kilobytes of representations).
    hash: u64,
}

impl RequestKey {
    pub fn new(writes: u64, version: u128, body: &Bytes, headers: &HeaderMap) -> Self {
        let mut headers: Vec<_> = headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        headers.sort_by(|a, b| (a.0.as_str(), a.1.as_bytes()).cmp(&(b.0.as_str(), b.1.as_bytes())));
        let mut hasher = Xxh3::new();
        hasher.update(&writes.to_le_bytes());
        hasher.update(&version.to_le_bytes());
        hasher.update(body);
        for (name, value) in &headers {
            hasher.update(name.as_str().as_bytes());
            hasher.update(b"\0");
            hasher.update(value.as_bytes());
            hasher.update(b"\0");
        }
        Self {
            writes,
            version,
            body: body.clone(),
            headers,
            hash: hasher.digest(),
        }
    }
}

impl PartialEq for RequestKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.writes == other.writes
            && self.version == other.version
            && self.body == other.body
            && self.headers == other.headers
    }
}

impl Eq for RequestKey {}

impl Hash for RequestKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The requests to one subgraph in flight, shared among identical callers.
#[derive(Default)]
pub struct Deduplicator {
    inflight: Inflight<RequestKey, Result<SubgraphResponse, FetchError>>,
}

impl Deduplicator {
    /// Sends `request` unless an identical one is in flight: then shares its answer.
    pub async fn send(
        &self,
        key: RequestKey,
        request: impl Future<Output = Result<SubgraphResponse, FetchError>>,
    ) -> (Role, Result<SubgraphResponse, FetchError>) {
        self.inflight.run_or_join(key, request).await
    }

    /// Requests sent, and requests that shared another's answer, so far.
    pub fn counts(&self) -> (u64, u64) {
        self.inflight.counts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn key(
        version: u128,
        body: &'static str,
        headers: &[(&'static str, &'static str)],
    ) -> RequestKey {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        RequestKey::new(0, version, &Bytes::from_static(body.as_bytes()), &map)
    }

    #[test]
    fn keys_differ_by_version_body_and_headers_but_not_header_order() {
        let base = key(1, "{a}", &[("x-a", "1"), ("x-b", "2")]);
        assert!(base == key(1, "{a}", &[("x-b", "2"), ("x-a", "1")]));
        assert!(base != key(2, "{a}", &[("x-a", "1"), ("x-b", "2")]));
        assert!(base != key(1, "{b}", &[("x-a", "1"), ("x-b", "2")]));
        assert!(base != key(1, "{a}", &[("x-a", "1"), ("x-b", "3")]));
        assert!(base != key(1, "{a}", &[("x-a", "1")]));
        let body = Bytes::from_static(b"{a}");
        let after_a_write = RequestKey::new(1, 1, &body, &HeaderMap::new());
        assert!(after_a_write != RequestKey::new(0, 1, &body, &HeaderMap::new()));
    }

    #[tokio::test]
    async fn concurrent_identical_requests_share_one_send() {
        let dedup = Arc::new(Deduplicator::default());
        let sent = Arc::new(AtomicUsize::new(0));
        let send = |version| {
            let dedup = dedup.clone();
            let sent = sent.clone();
            async move {
                dedup
                    .send(key(version, "{a}", &[]), async {
                        sent.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(SubgraphResponse::default())
                    })
                    .await
                    .0
            }
        };
        let roles = futures::future::join_all([send(1), send(1), send(1), send(2)]).await;
        assert_eq!(sent.load(Ordering::SeqCst), 2, "one per version");
        assert_eq!(roles.iter().filter(|r| **r == Role::Shared).count(), 2);
        assert_eq!(dedup.counts(), (2, 2));
    }
}
