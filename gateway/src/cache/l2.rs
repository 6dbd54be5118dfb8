//! The shared level: Redis, optional. Entries are JSON under `gw:e:<key>`, and each tag keeps a
//! set of the keys stored under it (`gw:t:<tag>`) so an invalidation can delete them. Redis
//! being down never fails a request: L2 is skipped until the connection comes back
//! ([`RedisLink`]).

use std::time::Duration;

use redis::AsyncCommands;

use super::entry::{CacheKey, Entry};
use super::redis_link::RedisLink;

pub struct L2 {
    link: RedisLink,
}

fn tag_set(tag: u64) -> String {
    format!("gw:t:{tag:016x}")
}

impl L2 {
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            link: RedisLink::new(url, "cache: Redis (L2)")?,
        })
    }

    /// Connects in the background for the life of the gateway (see [`RedisLink`]).
    pub async fn connect_in_background(&self) {
        self.link.connect_in_background().await
    }

    pub async fn get(&self, key: &CacheKey) -> Option<Entry> {
        let mut connection = self.link.connection()?;
        match connection.get::<_, Option<Vec<u8>>>(key.redis_key()).await {
            Ok(bytes) => {
                self.link.mark(true);
                serde_json::from_slice(&bytes?).ok()
            }
            Err(error) => {
                self.link.mark_error(&error);
                None
            }
        }
    }

    pub async fn put(&self, key: &CacheKey, entry: &Entry, ttl: Duration) {
        let Some(mut connection) = self.link.connection() else {
            return;
        };
        let Ok(bytes) = serde_json::to_vec(entry) else {
            return;
        };
        let redis_key = key.redis_key();
        let ttl_ms = ttl.as_millis().max(1) as u64;
        let mut pipe = redis::pipe();
        pipe.set_options(
            &redis_key,
            bytes,
            redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(ttl_ms)),
        )
        .ignore();
        for tag in &entry.tags {
            pipe.sadd(tag_set(*tag), &redis_key).ignore();
            pipe.pexpire(tag_set(*tag), ttl_ms as i64).ignore();
        }
        match pipe.query_async::<()>(&mut connection).await {
            Ok(()) => self.link.mark(true),
            Err(error) => self.link.mark_error(&error),
        }
    }

    /// Deletes every entry stored under one of `tags`. Returns how many were deleted.
    pub async fn evict(&self, tags: &[u64]) -> usize {
        let Some(mut connection) = self.link.connection() else {
            return 0;
        };
        let mut deleted = 0;
        for tag in tags {
            let set = tag_set(*tag);
            let keys: Vec<String> = match connection.smembers(&set).await {
                Ok(keys) => keys,
                Err(error) => {
                    self.link.mark_error(&error);
                    return deleted;
                }
            };
            let mut pipe = redis::pipe();
            for key in &keys {
                pipe.del(key).ignore();
            }
            pipe.del(&set).ignore();
            match pipe.query_async::<()>(&mut connection).await {
                Ok(()) => deleted += keys.len(),
                Err(error) => {
                    self.link.mark_error(&error);
                    return deleted;
                }
            }
        }
        deleted
    }
}
