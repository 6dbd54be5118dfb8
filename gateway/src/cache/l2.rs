//! The shared level: Redis, optional. Entries are JSON under `gw:e:<key>`, and each tag keeps a
//! set of the keys stored under it (`gw:t:<tag>`) so an invalidation can delete them. Redis
//! being down never fails a request: L2 is skipped until the connection comes back
//! ([`RedisLink`]).
//!
//! A generation fences entries that cannot be proven fresh: when some instance finds that
//! events were lost (the stream had a gap, the evictors' consumer group missed entries), it
//! increments `<stream>:generation`, and every instance then refuses entries stored under an
//! older one. Each read fetches the entry and the generation in one `MGET`, so no instance
//! serves a fenced entry once the increment is done.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::AsyncCommands;

use super::entry::{CacheKey, Entry};
use super::redis_link::RedisLink;
use super::tags::now_ms;

pub struct L2 {
    link: RedisLink,
    generation_key: String,
    /// The generation last read: what entries are stored under.
    generation: AtomicU64,
    /// Entries per subgraph at most (0: no cap).
    max_per_subgraph: u64,
}

/// The key of the shared level's generation, next to the stream whose gaps bump it.
pub fn generation_key(stream: &str) -> String {
    format!("{stream}:generation")
}

fn subgraph_index(subgraph: &str) -> String {
    format!("gw:i:{subgraph}")
}

fn tag_set(tag: u64) -> String {
    format!("gw:t:{tag:016x}")
}

impl L2 {
    /// The shared level on `url`, fenced by the generation of `stream`, with at most
    /// `max_per_subgraph` entries per subgraph (0: no cap).
    pub fn new(url: &str, stream: &str, max_per_subgraph: u64) -> Result<Self, redis::RedisError> {
        Ok(Self {
            link: RedisLink::new(url, "cache: Redis (L2)")?,
            generation_key: generation_key(stream),
            generation: AtomicU64::new(0),
            max_per_subgraph,
        })
    }

    /// Connects in the background for the life of the gateway (see [`RedisLink`]).
    pub async fn connect_in_background(&self) {
        self.link.connect_in_background().await
    }

    /// The entry at `key`, unless fenced by a newer generation.
    pub async fn get(&self, key: &CacheKey) -> Option<Entry> {
        let mut connection = self.link.connection()?;
        let read: redis::RedisResult<(Option<Vec<u8>>, Option<u64>)> = redis::cmd("MGET")
            .arg(key.redis_key())
            .arg(&self.generation_key)
            .query_async(&mut connection)
            .await;
        match read {
            Ok((bytes, generation)) => {
                self.link.mark(true);
                let generation = generation.unwrap_or(0);
                self.generation.fetch_max(generation, Ordering::Relaxed);
                let entry: Entry = serde_json::from_slice(&bytes?).ok()?;
                (entry.generation == generation).then_some(entry)
            }
            Err(error) => {
                self.link.mark_error(&error);
                None
            }
        }
    }

    /// Fences every entry stored so far (events were lost): returns whether Redis took it.
    pub async fn fence(&self) -> bool {
        let Some(mut connection) = self.link.connection() else {
            return false;
        };
        match connection.incr::<_, _, u64>(&self.generation_key, 1).await {
            Ok(generation) => {
                self.generation.fetch_max(generation, Ordering::Relaxed);
                true
            }
            Err(error) => {
                self.link.mark_error(&error);
                false
            }
        }
    }

    /// Stores `entry` for `ttl`, indexed under its tags and under `subgraph`'s entries (by
    /// expiry): past the cap, the entries closest to expiring are deleted.
    pub async fn put(&self, key: &CacheKey, entry: &Entry, ttl: Duration, subgraph: &str) {
        let Some(mut connection) = self.link.connection() else {
            return;
        };
        // Under the generation last read: if it moved since, the entry is refused on read,
        // which costs a miss, never a stale answer.
        let entry = Entry {
            generation: self.generation.load(Ordering::Relaxed),
            ..entry.clone()
        };
        let Ok(bytes) = serde_json::to_vec(&entry) else {
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
        let index = subgraph_index(subgraph);
        if self.max_per_subgraph > 0 {
            // The index holds each entry's expiry: expired ones leave it, and its size is the
            // subgraph's entries in Redis.
            pipe.zadd(&index, &redis_key, entry.expires_at_ms).ignore();
            pipe.zrembyscore(&index, "-inf", now_ms()).ignore();
            pipe.zcard(&index);
        }
        let stored: redis::RedisResult<Vec<u64>> = pipe.query_async(&mut connection).await;
        match stored {
            Ok(counts) => {
                self.link.mark(true);
                let over = counts
                    .first()
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(self.max_per_subgraph);
                if self.max_per_subgraph > 0 && over > 0 {
                    self.trim(&mut connection, &index, over).await;
                }
            }
            Err(error) => self.link.mark_error(&error),
        }
    }

    /// Deletes the `count` entries of an index closest to expiring.
    async fn trim(&self, connection: &mut redis::aio::ConnectionManager, index: &str, count: u64) {
        let popped: redis::RedisResult<Vec<(String, f64)>> =
            connection.zpopmin(index, count as isize).await;
        match popped {
            Ok(popped) if !popped.is_empty() => {
                let keys: Vec<String> = popped.into_iter().map(|(key, _)| key).collect();
                if let Err(error) = connection.del::<_, ()>(keys).await {
                    self.link.mark_error(&error);
                }
            }
            Ok(_) => {}
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
