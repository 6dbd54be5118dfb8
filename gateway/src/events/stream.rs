//! Tails the change-event stream. Every gateway instance reads every event (on a dedicated
//! connection with no response timeout: `XREAD BLOCK` waits as long as it must) and applies it
//! to its cache, at the version of the event's stream id. One instance per event (a consumer
//! group) also deletes the matching Redis entries. After a reconnect the listener resumes from
//! the last id it saw; when the stream was trimmed past that id, the events in between are
//! lost, so every `events` entry is dropped. Connection state changes are logged once.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamReadOptions, StreamReadReply};

use super::{EVENT_FIELD, parse_event};
use crate::cache::tags::version_from_stream_id;
use crate::cache::{Cache, Invalidation};

/// How long one `XREAD` blocks before asking again.
const BLOCK_MS: usize = 5_000;
const GROUP: &str = "gateway-redis-evictors";

pub struct StreamListener;

impl StreamListener {
    /// Starts tailing `stream` for `cache` (and, with an L2, the once-per-event eviction).
    pub fn start(
        cache: Arc<Cache>,
        redis_url: &str,
        stream: String,
    ) -> Result<(), redis::RedisError> {
        let client = redis::Client::open(redis_url)?;
        if cache.has_l2() {
            let consumer = format!(
                "gateway-{}-{}",
                std::process::id(),
                crate::cache::tags::now_ms()
            );
            tokio::spawn(evict_once(
                cache.clone(),
                client.clone(),
                stream.clone(),
                consumer,
            ));
        }
        tokio::spawn(tail(cache, client, stream));
        Ok(())
    }
}

async fn connect(client: &redis::Client) -> redis::RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(None)
        .set_connection_timeout(Some(Duration::from_secs(1)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// Logs connection state changes once.
struct StateLog {
    connected: Option<bool>,
}

impl StateLog {
    fn set(&mut self, connected: bool, detail: &str) {
        if self.connected != Some(connected) {
            if connected {
                tracing::info!("events: change-event stream connected{detail}");
            } else {
                tracing::warn!("events: change-event stream disconnected{detail}");
            }
            self.connected = Some(connected);
        }
    }
}

async fn tail(cache: Arc<Cache>, client: redis::Client, stream: String) {
    // From the start: old events set the versions that judge entries other instances stored.
    let mut last_id = "0".to_string();
    let mut backoff = Duration::from_millis(100);
    let mut log = StateLog { connected: None };
    loop {
        let mut connection = match connect(&client).await {
            Ok(connection) => connection,
            Err(error) => {
                cache.set_stream_connected(false);
                log.set(false, &format!(": {error}"));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if last_id != "0" {
            match trimmed_past(&mut connection, &stream, &last_id).await {
                Ok(true) => {
                    tracing::warn!(
                        "events: the stream was trimmed past the last event seen ({last_id}); dropping every `events` cache entry"
                    );
                    cache.drop_events_entries();
                }
                Ok(false) => {}
                Err(error) => {
                    cache.set_stream_connected(false);
                    log.set(false, &format!(": {error}"));
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
        }
        cache.set_stream_connected(true);
        log.set(true, "");
        backoff = Duration::from_millis(100);
        loop {
            let options = StreamReadOptions::default().block(BLOCK_MS).count(500);
            let read: redis::RedisResult<Option<StreamReadReply>> =
                redis::AsyncCommands::xread_options(
                    &mut connection,
                    &[stream.as_str()],
                    &[last_id.as_str()],
                    &options,
                )
                .await;
            match read {
                Ok(reply) => {
                    for key in reply.map(|r| r.keys).unwrap_or_default() {
                        for entry in key.ids {
                            apply(&cache, &entry);
                            last_id = entry.id.clone();
                        }
                    }
                }
                Err(error) => {
                    cache.set_stream_connected(false);
                    log.set(false, &format!(": {error}"));
                    break;
                }
            }
        }
    }
}

/// The invalidations of a stream entry (malformed entries are logged and skipped).
fn invalidations(entry: &StreamId) -> Vec<Invalidation> {
    let Some(text) = entry
        .map
        .get(EVENT_FIELD)
        .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
    else {
        tracing::warn!(
            "events: stream entry {} has no `{EVENT_FIELD}` field",
            entry.id
        );
        return Vec::new();
    };
    match parse_event(&text) {
        Ok(invalidations) => invalidations,
        Err(error) => {
            tracing::warn!(
                "events: stream entry {} is not a valid event: {error}",
                entry.id
            );
            Vec::new()
        }
    }
}

fn apply(cache: &Cache, entry: &StreamId) {
    let Some(version) = version_from_stream_id(&entry.id) else {
        return;
    };
    for invalidation in invalidations(entry) {
        cache.invalidate(&invalidation, version);
    }
}

/// Whether entries after `last_id` may have been trimmed away.
async fn trimmed_past(
    connection: &mut MultiplexedConnection,
    stream: &str,
    last_id: &str,
) -> redis::RedisResult<bool> {
    let last = version_from_stream_id(last_id).unwrap_or(0);
    let first: Vec<StreamId> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async::<redis::streams::StreamRangeReply>(connection)
        .await?
        .ids;
    match first.first() {
        Some(first) => Ok(version_from_stream_id(&first.id).unwrap_or(0) > last),
        // An empty (or deleted) stream after we saw events: whatever came since is gone.
        None => Ok(true),
    }
}

/// One instance per event deletes the Redis entries it invalidates.
async fn evict_once(cache: Arc<Cache>, client: redis::Client, stream: String, consumer: String) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Ok(mut connection) = connect(&client).await else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        };
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream)
            .arg(GROUP)
            .arg("$")
            .arg("MKSTREAM")
            .query_async(&mut connection)
            .await;
        if let Err(error) = created
            && error.code() != Some("BUSYGROUP")
        {
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(100);
        loop {
            let options = StreamReadOptions::default()
                .block(BLOCK_MS)
                .count(100)
                .group(GROUP, &consumer);
            let read: redis::RedisResult<Option<StreamReadReply>> =
                redis::AsyncCommands::xread_options(
                    &mut connection,
                    &[stream.as_str()],
                    &[">"],
                    &options,
                )
                .await;
            let Ok(reply) = read else { break };
            for key in reply.map(|r| r.keys).unwrap_or_default() {
                for entry in key.ids {
                    let tags: Vec<u64> = invalidations(&entry)
                        .iter()
                        .flat_map(|i| i.tags())
                        .collect();
                    cache.evict_l2(&tags).await;
                    let _: redis::RedisResult<()> = redis::cmd("XACK")
                        .arg(&stream)
                        .arg(GROUP)
                        .arg(&entry.id)
                        .query_async(&mut connection)
                        .await;
                }
            }
        }
    }
}
