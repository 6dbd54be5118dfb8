//! The entity cache: keys, the in-process (L1, moka) and shared (L2, Redis) levels, tags and
//! their versions, per subgraph/type policies, and invalidation. It knows nothing of plans or
//! HTTP: the caching fetcher decides what to store under which tags, the events module decides
//! when to invalidate.

mod entry;
pub mod key;
mod l1;
mod l2;
pub mod policy;
mod redis_link;
pub mod scope;
mod stats;
pub mod tags;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::json::{Str, Value};
use serde::Deserialize;

pub use entry::{CacheKey, Entry};

use crate::response::CachePolicy;
pub use policy::{CacheControl, Mode, Policy, PolicyConfig, SubgraphPolicyConfig};
pub use redis_link::RedisLink;
pub use scope::PrivateConfig;
pub use stats::{Outcome, Stats};
pub use tags::{Tag, Version};

use l1::L1;
use l2::L2;
use tags::{Versions, now_ms};

/// The `cache:` section of the gateway config (see docs/cache.md).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Off by default: no fetch is cached until a policy says so.
    pub enabled: bool,
    /// Bound of the in-process level, in bytes (approximate JSON size of the entries).
    pub max_bytes: u64,
    /// Redis for the shared level and the change-event stream; without it, L1 only and
    /// invalidations come from mutations, subgraph responses and the HTTP endpoint.
    pub redis_url: Option<String>,
    /// `/ready` answers 503 while Redis does not answer a PING (for deployments where a
    /// gateway without the shared cache or the event stream must not take traffic). Off by
    /// default: without Redis the gateway serves from L1 and the subgraphs.
    pub redis_required_for_readiness: bool,
    /// The Redis Stream services publish change events to.
    pub stream: String,
    /// Approximate length the stream is trimmed to when the gateway publishes to it.
    pub stream_max_len: usize,
    /// While the stream is disconnected, `events` entries older than this are not served.
    pub disconnected_max_age_ms: u64,
    /// How long the stream may stay silent before it counts as disconnected: the listener's
    /// reads block a third of this, and one that has not answered after all of it (a link
    /// that dropped without closing) is abandoned.
    pub stream_liveness_ms: u64,
    /// The most entries one subgraph may have in Redis (L2); past it the ones closest to
    /// expiring go first. 0: no cap (entries then live until their TTL).
    pub l2_max_entries_per_subgraph: u64,
    /// A request carrying this header gets, in `extensions.cache`, which fetches came from
    /// which level. Unset (the default): no client can ask (what the cache holds for whom is
    /// not every client's business).
    pub debug_header: Option<String>,
    /// Policy for every subgraph and type unless overridden.
    pub defaults: PolicyConfig,
    /// Per subgraph, and per type within it.
    pub subgraphs: BTreeMap<String, SubgraphPolicyConfig>,
    /// How to tell users apart for private data.
    pub private: PrivateConfig,
    /// `POST /invalidate`, enabled only with a shared secret.
    pub invalidation_endpoint: Option<EndpointConfig>,
    /// A response header (`Surrogate-Key`, `Cache-Tag`, ...) listing the cache tags of the
    /// answer's data, for a CDN in front of the gateway to purge by. Unset: not sent.
    pub surrogate_key_header: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Callers send `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_bytes: 64 * 1024 * 1024,
            redis_url: None,
            redis_required_for_readiness: false,
            stream: "gateway:invalidations".into(),
            stream_max_len: 100_000,
            disconnected_max_age_ms: 5_000,
            stream_liveness_ms: 3_000,
            debug_header: None,
            l2_max_entries_per_subgraph: 100_000,
            defaults: PolicyConfig::default(),
            subgraphs: BTreeMap::new(),
            private: PrivateConfig::default(),
            invalidation_endpoint: None,
            surrogate_key_header: None,
        }
    }
}

/// An answer to store, with what decides how long and under which tags.
pub struct Answer {
    pub value: Arc<Value>,
    /// Approximate size in bytes.
    pub size: usize,
    pub tags: Vec<u64>,
    /// The version watermark when the fetch started ([`Cache::watermark`]).
    pub born: Version,
    pub policy: Policy,
    /// The subgraph that answered (L2 caps its entries per subgraph).
    pub subgraph: Arc<str>,
    /// The subgraph's `Cache-Control: max-age`, if any.
    pub max_age: Option<u64>,
    /// For one user only (the subgraph said `private`, or the policy does).
    pub private: bool,
}

/// Which level answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    L1,
    L2,
}

/// What the cache holds for a key.
#[derive(Debug, Clone)]
pub enum Lookup {
    Fresh {
        value: Arc<Value>,
        level: Level,
        /// What a client may do with a response holding it.
        client: CachePolicy,
        /// When it stops being fresh by its TTL (Unix milliseconds).
        expires_at_ms: u64,
    },
    /// Past its freshness for `for_ms`, kept for stale-while-revalidate or stale-if-error.
    Stale {
        value: Arc<Value>,
        level: Level,
        for_ms: u64,
    },
    Miss,
}

/// An invalidation, as change events, mutation responses, subgraph extensions and the HTTP
/// endpoint express it: a subgraph, optionally a type, optionally entity keys.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Invalidation {
    pub subgraph: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Value>,
}

impl Invalidation {
    /// The tag ids this invalidation moves.
    pub fn tags(&self) -> Vec<u64> {
        match &self.type_name {
            None => vec![Tag::Subgraph(&self.subgraph).id()],
            Some(type_name) if self.keys.is_empty() => {
                vec![Tag::Type(&self.subgraph, type_name).id()]
            }
            Some(type_name) => {
                let mut tags = vec![Tag::AnyKey(&self.subgraph, type_name).id()];
                for key in &self.keys {
                    tags.push(Tag::Key(&self.subgraph, type_name, &canonical_json(key)).id());
                }
                tags
            }
        }
    }
}

/// JSON with object keys sorted, so equal keys give equal tags whatever their field order.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&Str, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// A fetch's variables as canonical JSON text: serde_json's maps iterate in key order, so the
/// text is already canonical.
pub fn canonical_variables(variables: &serde_json::Map<String, serde_json::Value>) -> String {
    serde_json::to_string(variables).unwrap_or_default()
}

/// Invalidations a watcher of [`Cache::watch_changes`] may fall behind by.
const CHANGES_BUFFER: usize = 4096;

pub struct Cache {
    config: CacheConfig,
    l1: L1,
    l2: Option<Arc<L2>>,
    versions: Versions,
    stats: Stats,
    /// Since when (ms) the event stream is disconnected; 0 while connected or without one.
    disconnected_since: AtomicU64,
    /// The tags every invalidation moves, for whoever watches (live queries).
    changes: tokio::sync::broadcast::Sender<Arc<[u64]>>,
}

impl Cache {
    /// A cache with `config`. With a Redis URL, connecting starts in the background (the
    /// gateway serves without L2 until it succeeds); needs a Tokio runtime then.
    pub fn new(config: CacheConfig) -> Result<Arc<Self>, redis::RedisError> {
        let l2 = match &config.redis_url {
            Some(url) => Some(Arc::new(L2::new(
                url,
                &config.stream,
                config.l2_max_entries_per_subgraph,
            )?)),
            None => None,
        };
        if let Some(l2) = &l2 {
            let l2 = l2.clone();
            tokio::spawn(async move { l2.connect_in_background().await });
        }
        let disconnected_since = if config.redis_url.is_some() {
            now_ms()
        } else {
            0
        };
        Ok(Arc::new(Self {
            l1: L1::new(config.max_bytes),
            l2,
            versions: Versions::default(),
            stats: Stats::default(),
            disconnected_since: AtomicU64::new(disconnected_since),
            changes: tokio::sync::broadcast::channel(CHANGES_BUFFER).0,
            config,
        }))
    }

    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The policy for data of `type_name` from `subgraph` (`Query` for root fetches).
    pub fn policy(&self, subgraph: &str, type_name: &str) -> Policy {
        if !self.config.enabled {
            return Policy {
                mode: Mode::None,
                ttl_seconds: 0,
                max_ttl_seconds: 0,
                private: false,
                cache_nulls: false,
                stale_while_revalidate_seconds: 0,
                stale_if_error_seconds: 0,
            };
        }
        policy::resolve(
            &self.config.defaults,
            &self.config.subgraphs,
            subgraph,
            type_name,
        )
    }

    /// The version watermark to record when a fetch starts (see [`tags::Versions`]).
    pub fn watermark(&self) -> Version {
        self.versions.watermark()
    }

    /// When `entry` stopped being fresh (`None`: it is fresh): its TTL ran out, an
    /// invalidation moved one of its tags, or, for an `events` entry while the stream is
    /// disconnected, it passed `disconnected_max_age_ms` (it could have missed an event).
    fn stale_since(&self, entry: &Entry, now: u64) -> Option<u64> {
        let expired = (entry.expires_at_ms <= now).then_some(entry.expires_at_ms);
        let invalidated = self.versions.invalidated_at_ms(&entry.tags, entry.born);
        let disconnected_since = self.disconnected_since.load(Ordering::Relaxed);
        let unheard = entry.stored_at_ms + self.config.disconnected_max_age_ms;
        let too_old = (entry.mode == Mode::Events && disconnected_since != 0 && unheard < now)
            .then_some(unheard);
        [expired, invalidated, too_old].into_iter().flatten().min()
    }

    /// What the cache holds for `key`: fresh, stale (kept past its freshness for
    /// stale-while-revalidate or stale-if-error), or nothing. L1 first, then L2 (copied into
    /// L1).
    pub async fn lookup(&self, key: &CacheKey) -> Lookup {
        let now = now_ms();
        if let Some(entry) = self.l1.get(key) {
            match self.judge(&entry, now) {
                Some(found) => return found,
                None => self.l1.remove(key),
            }
        }
        let Some(l2) = self.l2.as_ref() else {
            return Lookup::Miss;
        };
        let Some(entry) = l2.get(key).await else {
            return Lookup::Miss;
        };
        let entry = Arc::new(entry);
        let Some(found) = self.judge(&entry, now) else {
            return Lookup::Miss;
        };
        self.l1.insert(*key, entry);
        match found {
            Lookup::Fresh {
                value,
                client,
                expires_at_ms,
                ..
            } => Lookup::Fresh {
                value,
                level: Level::L2,
                client,
                expires_at_ms,
            },
            Lookup::Stale { value, for_ms, .. } => Lookup::Stale {
                value,
                level: Level::L2,
                for_ms,
            },
            Lookup::Miss => Lookup::Miss,
        }
    }

    /// An entry read from L1: fresh, stale but kept, or `None` when it is no longer of use.
    fn judge(&self, entry: &Entry, now: u64) -> Option<Lookup> {
        match self.stale_since(entry, now) {
            None => Some(Lookup::Fresh {
                value: entry.value.clone(),
                level: Level::L1,
                client: entry.client_policy(now),
                expires_at_ms: entry.expires_at_ms,
            }),
            // Kept for as long past its freshness as its window, whatever made it stale. (An
            // invalidation can be dated after `now`: versions come from the stream's clock.)
            Some(since)
                if entry.stale_window_ms() > 0
                    && now.saturating_sub(since) < entry.stale_window_ms() =>
            {
                Some(Lookup::Stale {
                    value: entry.value.clone(),
                    level: Level::L1,
                    for_ms: now.saturating_sub(since),
                })
            }
            Some(_) => None,
        }
    }

    /// Stores an answer for as long as its policy and the subgraph's `max-age` allow.
    /// Returns when it stops being fresh by its TTL (Unix milliseconds), if it was stored.
    pub async fn put(&self, key: CacheKey, answer: Answer) -> Option<u64> {
        let Answer {
            value,
            size,
            mut tags,
            born,
            policy,
            subgraph,
            max_age,
            private,
        } = answer;
        let seconds = match policy.mode {
            Mode::None => return None,
            Mode::Ttl => max_age.unwrap_or(policy.ttl_seconds),
            // The owner's max-age shortens the safety net, never lengthens it.
            Mode::Events => max_age.map_or(policy.max_ttl_seconds, |age| {
                age.min(policy.max_ttl_seconds)
            }),
        };
        if seconds == 0 {
            return None;
        }
        if policy.mode == Mode::Events {
            tags.push(Tag::EventsEpoch.id());
        }
        tags.sort_unstable();
        tags.dedup();
        let now = now_ms();
        let ttl = Duration::from_secs(seconds);
        let expires_at_ms = now + ttl.as_millis() as u64;
        let stale_window_ms = policy.stale_window_ms();
        let entry = Arc::new(Entry {
            value,
            tags,
            born,
            stored_at_ms: now,
            expires_at_ms,
            kept_until_ms: if stale_window_ms > 0 {
                expires_at_ms + stale_window_ms
            } else {
                0
            },
            mode: policy.mode,
            size: size.min(u32::MAX as usize) as u32,
            generation: 0,
            client_max_age: max_age,
            private,
        });
        if !self.versions.fresh(&entry.tags, born) {
            return None; // invalidated while in flight
        }
        self.l1.insert(key, entry.clone());
        if let Some(l2) = &self.l2 {
            let kept = ttl + Duration::from_millis(stale_window_ms);
            l2.put(&key, &entry, kept, &subgraph).await;
        }
        Some(expires_at_ms)
    }

    /// Applies an invalidation locally at `version` (the stream entry id, or
    /// [`Cache::local_version`]). Returns the tags it moved, for the L2 eviction.
    pub fn invalidate(&self, invalidation: &Invalidation, version: Version) -> Vec<u64> {
        let tags = invalidation.tags();
        for tag in &tags {
            self.versions.bump(*tag, version);
        }
        // After the bump: whoever re-reads on this news finds the entries stale.
        self.announce(&tags);
        self.stats.count(
            &invalidation.subgraph,
            invalidation.type_name.as_deref().unwrap_or("*"),
            Outcome::Eviction,
        );
        tags
    }

    /// A version for invalidations that do not come from the stream.
    pub fn local_version(&self) -> Version {
        self.versions.local_version()
    }

    /// Deletes from Redis the entries stored under `tags` (done once per event, by one gateway
    /// instance).
    pub async fn evict_l2(&self, tags: &[u64]) -> usize {
        match &self.l2 {
            Some(l2) => l2.evict(tags).await,
            None => 0,
        }
    }

    /// Every `events` entry is stale: the stream had a gap, what changed is unknown.
    pub fn drop_events_entries(&self) {
        let epoch = Tag::EventsEpoch.id();
        self.versions.bump(epoch, self.versions.local_version());
        self.announce(&[epoch]);
    }

    /// Tells the watchers of [`Cache::watch_changes`] that `tags` moved (nothing is
    /// allocated when nobody watches).
    fn announce(&self, tags: &[u64]) {
        if self.changes.receiver_count() > 0 {
            let _ = self.changes.send(Arc::from(tags));
        }
    }

    /// The tags of every invalidation from now on, as they are applied (after their entries
    /// became stale). A receiver that falls more than a few thousand behind gets `Lagged`.
    pub fn watch_changes(&self) -> tokio::sync::broadcast::Receiver<Arc<[u64]>> {
        self.changes.subscribe()
    }

    /// Events were lost: nothing cached before can be proven fresh, here (L1) or in Redis
    /// for any instance (L2, fenced by a new generation). Returns whether Redis took the
    /// fence (without an L2, there is nothing to fence).
    pub async fn drop_unproven(&self) -> bool {
        self.drop_events_entries();
        self.fence_l2().await
    }

    /// Some Redis entry may have missed its eviction: fences them all (see [`l2`]).
    pub async fn fence_l2(&self) -> bool {
        match &self.l2 {
            Some(l2) => l2.fence().await,
            None => true,
        }
    }

    /// The event stream answered: connected.
    pub fn set_stream_connected(&self) {
        self.disconnected_since.store(0, Ordering::Relaxed);
    }

    /// The event stream is disconnected, and was last heard from at `last_heard_ms`: from then
    /// on an event may have been missed, so `events` entries are bounded from then.
    pub fn set_stream_disconnected(&self, last_heard_ms: u64) {
        let _ = self.disconnected_since.compare_exchange(
            0,
            last_heard_ms.max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    pub fn has_l2(&self) -> bool {
        self.l2.is_some()
    }

    /// Prometheus text for `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        self.stats.render(out);
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP gateway_cache_l1_bytes Approximate size of the in-process cache."
        );
        let _ = writeln!(out, "# TYPE gateway_cache_l1_bytes gauge");
        let _ = writeln!(out, "gateway_cache_l1_bytes {}", self.l1.weighted_size());
        let _ = writeln!(
            out,
            "# HELP gateway_cache_stream_connected Whether the change-event stream is connected."
        );
        let _ = writeln!(out, "# TYPE gateway_cache_stream_connected gauge");
        let connected = self.disconnected_since.load(Ordering::Relaxed) == 0;
        let _ = writeln!(
            out,
            "gateway_cache_stream_connected {}",
            u8::from(connected)
        );
    }
}
