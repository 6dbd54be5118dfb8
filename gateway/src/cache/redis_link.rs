//! A connection to Redis that never fails a request: each command has a short timeout, and
//! after a failure Redis is skipped for a while (so a dead Redis costs requests nothing but
//! the first timeout), then tried again; state changes are logged once. The entity cache's
//! L2 and the persisted-query store share this behaviour, each over its own connection.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::tags::now_ms;

/// How long one command may take before the request goes on without it.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failure, requests skip Redis this long before one of them tries again: a dead Redis
/// must not cost every request a timeout.
const COOLDOWN_MS: u64 = 1_000;

pub struct RedisLink {
    /// Names the user in log lines (`cache: Redis (L2)`).
    what: &'static str,
    client: redis::Client,
    connection: Mutex<Option<ConnectionManager>>,
    healthy: AtomicBool,
    /// Until when (ms) Redis is skipped after a failure.
    skip_until_ms: AtomicU64,
}

impl RedisLink {
    pub fn new(url: &str, what: &'static str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            what,
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
    pub fn connection(&self) -> Option<ConnectionManager> {
        if now_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        self.connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn mark(&self, healthy: bool) {
        let was = self.healthy.swap(healthy, Ordering::Relaxed);
        if was != healthy {
            if healthy {
                tracing::info!("{} is available again", self.what);
            } else {
                tracing::warn!("{} is unavailable; going on without it", self.what);
            }
        }
    }

    pub fn mark_error(&self, error: &redis::RedisError) {
        if self.healthy.load(Ordering::Relaxed) {
            tracing::debug!("{}: {error}", self.what);
        }
        self.skip_until_ms
            .store(now_ms() + COOLDOWN_MS, Ordering::Relaxed);
        self.mark(false);
    }

    /// The value at `key`; `None` when absent or when Redis cannot answer.
    pub async fn get_bytes(&self, key: &str) -> Option<Vec<u8>> {
        let mut connection = self.connection()?;
        match connection.get::<_, Option<Vec<u8>>>(key).await {
            Ok(bytes) => {
                self.mark(true);
                bytes
            }
            Err(error) => {
                self.mark_error(&error);
                None
            }
        }
    }

    /// Stores `value` at `key` for `ttl`; whether Redis took it.
    pub async fn set_bytes(&self, key: &str, value: &[u8], ttl: Duration) -> bool {
        let Some(mut connection) = self.connection() else {
            return false;
        };
        let options = redis::SetOptions::default()
            .with_expiration(redis::SetExpiry::PX(ttl.as_millis().max(1) as u64));
        match connection
            .set_options::<_, _, ()>(key, value, options)
            .await
        {
            Ok(()) => {
                self.mark(true);
                true
            }
            Err(error) => {
                self.mark_error(&error);
                false
            }
        }
    }
}
