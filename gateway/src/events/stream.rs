//! Tails the change-event stream. Every gateway instance reads every event and applies it to
//! its cache, at the version of the event's stream id. One instance per event (a consumer
//! group) also deletes the matching Redis entries. Connection state changes are logged once.
//!
//! Two things keep an instance honest about what it may have missed:
//!
//! - **Liveness.** Each read blocks for a third of `cache.stream_liveness_ms` and must answer
//!   within all of it (an empty answer is an answer): a link that stops passing traffic
//!   without closing (a partition) counts as disconnected after at most that long, and
//!   `events` entries are then bounded by `cache.disconnected_max_age_ms` from the moment the
//!   stream was last heard from.
//! - **Continuity** ([`continuity`]): on every (re)connect, the stream's epoch and counters
//!   must show that no event the instance did not read was lost. When they do not (Redis
//!   restarted empty, the stream recreated or trimmed past the last event read), nothing
//!   cached can be proven fresh: the instance drops its `events` entries and fences the Redis
//!   ones for every instance ([`Cache::drop_unproven`]), then reads what is left.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamReadOptions, StreamReadReply};

use super::continuity::{Continuity, reply_fields, stream_state};
use super::{EVENT_FIELD, parse_event};
use crate::cache::tags::{now_ms, version_from_stream_id};
use crate::cache::{Cache, Invalidation};

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
            let consumer = format!("gateway-{}-{}", std::process::id(), now_ms());
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

/// How long reads block, and how long any command may take before the link counts as dead.
#[derive(Debug, Clone, Copy)]
struct Liveness {
    block: Duration,
    deadline: Duration,
}

impl Liveness {
    fn of(cache: &Cache) -> Self {
        let deadline = Duration::from_millis(cache.config().stream_liveness_ms.max(30));
        Self {
            block: deadline / 3,
            deadline,
        }
    }

    /// `command`, or a timeout error once the deadline passes.
    async fn within<T>(
        &self,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> redis::RedisResult<T> {
        match tokio::time::timeout(self.deadline, command).await {
            Ok(result) => result,
            Err(_) => Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} ms", self.deadline.as_millis()),
            ))),
        }
    }
}

async fn connect(
    client: &redis::Client,
    liveness: Liveness,
) -> redis::RedisResult<MultiplexedConnection> {
    // No response timeout of the client's own: blocking reads are bounded by `Liveness`.
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(None)
        .set_connection_timeout(Some(liveness.deadline.min(Duration::from_secs(1))));
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
    let liveness = Liveness::of(&cache);
    // From the start: old events set the versions that judge entries other instances stored.
    let mut last_id = "0".to_string();
    let mut continuity = Continuity::default();
    let mut last_heard = now_ms();
    let mut backoff = Duration::from_millis(100);
    let mut log = StateLog { connected: None };
    loop {
        let connected = liveness.within(connect(&client, liveness)).await;
        let mut connection = match connected {
            Ok(connection) => connection,
            Err(error) => {
                cache.set_stream_disconnected(last_heard);
                log.set(false, &format!(": {error}"));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(error) = prove_continuity(
            &cache,
            &mut connection,
            &stream,
            liveness,
            &mut continuity,
            &mut last_id,
        )
        .await
        {
            cache.set_stream_disconnected(last_heard);
            log.set(false, &format!(": {error}"));
            tokio::time::sleep(backoff).await;
            continue;
        }
        last_heard = now_ms();
        cache.set_stream_connected();
        log.set(true, "");
        backoff = Duration::from_millis(100);
        let mut proven = tokio::time::Instant::now();
        loop {
            // Connected is not enough: entries can be trimmed between two reads (a slow
            // reader, a link that paused for less than the liveness interval).
            if proven.elapsed() >= liveness.deadline {
                let checked = prove_continuity(
                    &cache,
                    &mut connection,
                    &stream,
                    liveness,
                    &mut continuity,
                    &mut last_id,
                )
                .await;
                if let Err(error) = checked {
                    cache.set_stream_disconnected(last_heard);
                    log.set(false, &format!(": {error}"));
                    break;
                }
                proven = tokio::time::Instant::now();
            }
            let options = StreamReadOptions::default()
                .block(liveness.block.as_millis() as usize)
                .count(500);
            let read: redis::RedisResult<Option<StreamReadReply>> = liveness
                .within(redis::AsyncCommands::xread_options(
                    &mut connection,
                    &[stream.as_str()],
                    &[last_id.as_str()],
                    &options,
                ))
                .await;
            match read {
                Ok(reply) => {
                    last_heard = now_ms();
                    cache.set_stream_connected();
                    for key in reply.map(|r| r.keys).unwrap_or_default() {
                        for entry in key.ids {
                            apply(&cache, &entry);
                            continuity.read();
                            last_id = entry.id.clone();
                        }
                    }
                }
                Err(error) => {
                    cache.set_stream_disconnected(last_heard);
                    log.set(false, &format!(": {error}"));
                    break;
                }
            }
        }
    }
}

/// Compares the stream with what this instance knows of it (see [`super::continuity`]); on a
/// gap, drops whatever cannot be proven fresh and reads what is left from the start.
async fn prove_continuity(
    cache: &Cache,
    connection: &mut MultiplexedConnection,
    stream: &str,
    liveness: Liveness,
    continuity: &mut Continuity,
    last_id: &mut String,
) -> redis::RedisResult<()> {
    let state = liveness.within(stream_state(connection, stream)).await?;
    if let Err(gap) = continuity.judge(&state, last_id) {
        tracing::warn!(
            "events: {}: events may have been lost; dropping every `events` entry and fencing \
             the shared ones",
            gap.describe()
        );
        if !cache.drop_unproven().await {
            tracing::warn!("events: could not fence the shared cache entries in Redis");
        }
        *last_id = "0".to_string();
    }
    Ok(())
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

/// One instance per event deletes the Redis entries it invalidates. When the consumer group has
/// lost track (entries were trimmed before it read them), some deletion was missed: the shared
/// entries are fenced. (A group created anew is a new stream or a new Redis: an old stream
/// deleted is a gap the tail finds, and fences for.)
async fn evict_once(cache: Arc<Cache>, client: redis::Client, stream: String, consumer: String) {
    let liveness = Liveness::of(&cache);
    let mut backoff = Duration::from_millis(100);
    loop {
        let Ok(mut connection) = liveness.within(connect(&client, liveness)).await else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        };
        let created: redis::RedisResult<()> = liveness
            .within(
                redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg("$")
                    .arg("MKSTREAM")
                    .query_async(&mut connection),
            )
            .await;
        let lost_track = match created {
            Ok(()) => false,
            Err(error) if error.code() == Some("BUSYGROUP") => {
                group_lost_track(&mut connection, &stream, liveness).await
            }
            Err(_) => {
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        if lost_track {
            tracing::warn!(
                "events: the evictors' consumer group missed events trimmed before it read \
                 them; fencing the shared cache entries"
            );
            cache.fence_l2().await;
        }
        backoff = Duration::from_millis(100);
        // First what was delivered to this consumer but never acknowledged (its connection
        // dropped with the answer in flight), and what consumers that died left pending; then
        // new entries.
        let mut from_pending = true;
        loop {
            if from_pending {
                claim_abandoned(&mut connection, &stream, &consumer, liveness).await;
            }
            let options = StreamReadOptions::default()
                .block(liveness.block.as_millis() as usize)
                .count(100)
                .group(GROUP, &consumer);
            let start = if from_pending { "0" } else { ">" };
            let read: redis::RedisResult<Option<StreamReadReply>> = liveness
                .within(redis::AsyncCommands::xread_options(
                    &mut connection,
                    &[stream.as_str()],
                    &[start],
                    &options,
                ))
                .await;
            let Ok(reply) = read else { break };
            let entries: Vec<StreamId> = reply
                .map(|r| r.keys)
                .unwrap_or_default()
                .into_iter()
                .flat_map(|key| key.ids)
                .collect();
            if from_pending && entries.is_empty() {
                from_pending = false;
            }
            for entry in entries {
                let tags: Vec<u64> = invalidations(&entry)
                    .iter()
                    .flat_map(|i| i.tags())
                    .collect();
                cache.evict_l2(&tags).await;
                let _: redis::RedisResult<()> = liveness
                    .within(
                        redis::cmd("XACK")
                            .arg(&stream)
                            .arg(GROUP)
                            .arg(&entry.id)
                            .query_async(&mut connection),
                    )
                    .await;
            }
        }
    }
}

/// How long an entry may stay pending with a consumer before another takes it over: longer
/// than any consumer takes to delete what an event names, so only a dead one's are taken.
const ABANDONED_AFTER_MS: u64 = 30_000;

/// Makes this consumer the owner of entries another left pending for too long (its gateway
/// died with them in hand), so that they are read from this consumer's pending list.
async fn claim_abandoned(
    connection: &mut MultiplexedConnection,
    stream: &str,
    consumer: &str,
    liveness: Liveness,
) {
    let _: redis::RedisResult<redis::Value> = liveness
        .within(
            redis::cmd("XAUTOCLAIM")
                .arg(stream)
                .arg(GROUP)
                .arg(consumer)
                .arg(ABANDONED_AFTER_MS)
                .arg("0-0")
                .arg("COUNT")
                .arg(1000)
                .arg("JUSTID")
                .query_async(connection),
        )
        .await;
}

/// Whether the group cannot tell how far behind it is (Redis 7 reports its `lag` as nil when
/// entries it had not read were trimmed or deleted).
async fn group_lost_track(
    connection: &mut MultiplexedConnection,
    stream: &str,
    liveness: Liveness,
) -> bool {
    let groups: redis::RedisResult<redis::Value> = liveness
        .within(
            redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(stream)
                .query_async(connection),
        )
        .await;
    let Ok(redis::Value::Array(groups)) = groups else {
        return false;
    };
    groups.iter().any(|group| {
        let fields = reply_fields(group);
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
        let ours = field("name")
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
            .is_some_and(|n| n == GROUP);
        ours && matches!(field("lag"), Some(redis::Value::Nil))
    })
}
