//! Automatic persisted queries (Apollo's APQ protocol): a client first sends only the
//! SHA-256 of its query; on a miss the gateway answers `PERSISTED_QUERY_NOT_FOUND`, and the
//! client sends the query with its hash once, which the gateway checks and keeps. Kept in
//! memory (bounded in bytes) and, when `cache.redis_url` is set, in Redis too, so that a hash
//! registered through one gateway instance is known to every instance.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cache::RedisLink;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApqConfig {
    pub enabled: bool,
    /// Bytes of registered queries kept in memory (their text).
    pub max_bytes: u64,
    /// How long a registered query stays in Redis (when `cache.redis_url` is set).
    pub redis_ttl_seconds: u64,
}

impl Default for ApqConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: 16 << 20,
            redis_ttl_seconds: 24 * 3600,
        }
    }
}

/// The registered queries.
pub(crate) struct ApqStore {
    memory: moka::sync::Cache<String, Arc<str>>,
    redis: Option<Arc<RedisLink>>,
    redis_ttl: Duration,
}

/// A registration whose query does not hash to the hash it came with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HashMismatch;

impl ApqStore {
    /// Call within a Tokio runtime when `redis_url` is set (the connection is made in the
    /// background).
    pub(crate) fn new(config: &ApqConfig, redis_url: Option<&str>) -> Result<Self, String> {
        let redis = match redis_url {
            Some(url) => {
                let link = Arc::new(
                    RedisLink::new(url, "persisted queries: Redis")
                        .map_err(|e| format!("cache.redis_url (for apq): {e}"))?,
                );
                let connecting = link.clone();
                tokio::spawn(async move { connecting.connect_in_background().await });
                Some(link)
            }
            None => None,
        };
        Ok(Self {
            memory: moka::sync::Cache::builder()
                .max_capacity(config.max_bytes)
                .weigher(|hash: &String, query: &Arc<str>| {
                    u32::try_from(hash.len() + query.len() + 64).unwrap_or(u32::MAX)
                })
                .build(),
            redis,
            redis_ttl: Duration::from_secs(config.redis_ttl_seconds.max(1)),
        })
    }

    /// The query registered under `hash`: from memory, else from Redis (then kept in memory).
    pub(crate) async fn get(&self, hash: &str) -> Option<Arc<str>> {
        let hash = hash.to_ascii_lowercase();
        if let Some(query) = self.memory.get(&hash) {
            return Some(query);
        }
        let bytes = self.redis.as_ref()?.get_bytes(&redis_key(&hash)).await?;
        let query: Arc<str> = String::from_utf8(bytes).ok()?.into();
        // Whatever is in Redis is checked like a registration: it is shared with others.
        if sha256_hex(&query) != hash {
            return None;
        }
        self.memory.insert(hash, query.clone());
        Some(query)
    }

    /// Keeps `query` under `hash` if it is the query's SHA-256 (hex, any case).
    pub(crate) async fn register(&self, hash: &str, query: &str) -> Result<(), HashMismatch> {
        let hash = hash.to_ascii_lowercase();
        if sha256_hex(query) != hash {
            return Err(HashMismatch);
        }
        self.memory.insert(hash.clone(), query.into());
        // Written again on every registration (a client registers only after a miss, so
        // rarely), and awaited: the client's next request may reach another instance.
        if let Some(redis) = &self.redis {
            redis
                .set_bytes(&redis_key(&hash), query.as_bytes(), self.redis_ttl)
                .await;
        }
        Ok(())
    }
}

fn redis_key(hash: &str) -> String {
    format!("gw:apq:{hash}")
}

pub(crate) fn sha256_hex(text: &str) -> String {
    use std::fmt::Write;
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_query_is_kept_under_its_own_hash_only() {
        let store = ApqStore::new(&ApqConfig::default(), None).unwrap();
        let query = "{ me { id } }";
        let hash = sha256_hex(query);
        assert_eq!(store.get(&hash).await, None);
        assert_eq!(
            store.register(&"0".repeat(64), query).await,
            Err(HashMismatch)
        );
        assert_eq!(store.get(&"0".repeat(64)).await, None);
        store.register(&hash.to_uppercase(), query).await.unwrap();
        assert_eq!(store.get(&hash).await.as_deref(), Some(query));
    }

    #[test]
    fn the_hash_is_hex_sha256() {
        assert_eq!(
            sha256_hex("{__typename}"),
            "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"
        );
    }

    #[tokio::test]
    async fn memory_is_bounded_in_bytes() {
        let store = ApqStore::new(
            &ApqConfig {
                max_bytes: 64 << 10,
                ..Default::default()
            },
            None,
        )
        .unwrap();
        for i in 0..1000 {
            let query = format!("{{ me {{ id }} }} # {i} {}", "x".repeat(1000));
            store.register(&sha256_hex(&query), &query).await.unwrap();
        }
        store.memory.run_pending_tasks();
        assert!(store.memory.weighted_size() <= 64 << 10);
    }
}
