//! The shared level: Redis, optional. Entries are JSON under `gw:e:<key>`, and each tag keeps a
//! set of the keys stored under it (`gw:t:<tag>`) so an invalidation can delete them. Redis
//! being down never fails a request: L2 is skipped until the connection comes back, and the
//! state change is logged once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::entry::{CacheKey, Entry};
use super::tags::now_ms;

/// How long one L2 command may take before the request goes on without it.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failure, requests skip L2 this long before one of them tries again: a dead Redis
/// must not cost every request a timeout.
const COOLDOWN_MS: u64 = 1_000;

pub struct L2 {
    client: redis::Client,
    connection: Mutex<Option<ConnectionManager>>,
    healthy: AtomicBool,
    /// Until when (ms) L2 is skipped after a failure.
    skip_until_ms: AtomicU64,
}

fn tag_set(tag: u64) -> String {
    format!("gw:t:{tag:016x}")
}

impl L2 {
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: Mutex::new(None),
            healthy: AtomicBool::new(true),
            skip_until_ms: AtomicU64::new(0),
        })
    }

    /// Connects, retrying with backoff until Redis answers; the connection then reconnects by
    /// itself. Runs in the background for the life of the gateway.
    pub async fn connect_in_background(&self) {
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let mut backoff = Duration::from_millis(100);
        loop {
            match self
                .client
                .get_connection_manager_with_config(config.clone())
                .await
            {
                Ok(connection) => {
                    *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = Some(connection);
                    self.mark(true);
                    return;
                }
                Err(error) => {
                    self.mark_error(&error);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// The connection, unless L2 is cooling down after a failure.
    fn connection(&self) -> Option<ConnectionManager> {
        if now_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        self.connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn mark(&self, healthy: bool) {
        let was = self.healthy.swap(healthy, Ordering::Relaxed);
        if was != healthy {
            if healthy {
                tracing::info!("cache: Redis (L2) is available again");
            } else {
                tracing::warn!("cache: Redis (L2) is unavailable; serving from L1 and subgraphs");
            }
        }
    }

    fn mark_error(&self, error: &redis::RedisError) {
        if self.healthy.load(Ordering::Relaxed) {
            tracing::debug!("cache: Redis error: {error}");
        }
        self.skip_until_ms
            .store(now_ms() + COOLDOWN_MS, Ordering::Relaxed);
        self.mark(false);
    }

    pub async fn get(&self, key: &CacheKey) -> Option<Entry> {
        let mut connection = self.connection()?;
        match connection.get::<_, Option<Vec<u8>>>(key.redis_key()).await {
            Ok(bytes) => {
                self.mark(true);
                serde_json::from_slice(&bytes?).ok()
            }
            Err(error) => {
                self.mark_error(&error);
                None
            }
        }
    }

    pub async fn put(&self, key: &CacheKey, entry: &Entry, ttl: Duration) {
        let Some(mut connection) = self.connection() else {
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
            Ok(()) => self.mark(true),
            Err(error) => self.mark_error(&error),
        }
    }

    /// Deletes every entry stored under one of `tags`. Returns how many were deleted.
    pub async fn evict(&self, tags: &[u64]) -> usize {
        let Some(mut connection) = self.connection() else {
            return 0;
        };
        let mut deleted = 0;
        for tag in tags {
            let set = tag_set(*tag);
            let keys: Vec<String> = match connection.smembers(&set).await {
                Ok(keys) => keys,
                Err(error) => {
                    self.mark_error(&error);
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
                    self.mark_error(&error);
                    return deleted;
                }
            }
        }
        deleted
    }
}
