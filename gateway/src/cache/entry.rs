//! A cached answer: the JSON, the tag versions it was stored under, and its lifetime.

use std::sync::Arc;

use crate::json::Value;
use serde::{Deserialize, Serialize};

use super::policy::Mode;
use crate::response::CachePolicy;

/// Identifies an entry; derived from what the answer depends on (see [`super::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub u128);

impl CacheKey {
    /// The Redis key of the entry.
    pub fn redis_key(&self) -> String {
        format!("gw:e:{:032x}", self.0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub value: Arc<Value>,
    /// The tags the entry is stored under (see [`super::tags::Tag`]).
    pub tags: Vec<u64>,
    /// The version watermark when the fetch started: fresh while no tag moves past it.
    pub born: u128,
    pub stored_at_ms: u64,
    /// Fresh until then (TTL).
    pub expires_at_ms: u64,
    /// Kept until then: past its freshness, a stale entry may still be served while it is
    /// refreshed, or while its subgraph fails (`stale_while_revalidate_seconds`,
    /// `stale_if_error_seconds`). 0: not kept past `expires_at_ms`.
    #[serde(default)]
    pub kept_until_ms: u64,
    pub mode: Mode,
    /// Approximate size in bytes, what L1's bound counts.
    pub size: u32,
    /// The shared level's generation when stored (see [`super::l2`]): an entry of an older
    /// generation is not served. 0 in L1 and for entries written before generations existed.
    #[serde(default)]
    pub generation: u64,
    /// The `max-age` the subgraph sent with the answer: clients may keep a response holding
    /// it only if the subgraph said how long.
    #[serde(default)]
    pub client_max_age: Option<u64>,
    /// Stored for one user (the subgraph said `private`, or the policy does).
    #[serde(default)]
    pub private: bool,
}

impl Entry {
    /// When the entry leaves the cache.
    pub fn gone_at_ms(&self) -> u64 {
        self.expires_at_ms.max(self.kept_until_ms)
    }

    /// What a client may do with a response holding this entry at `now_ms`: keep it for the
    /// rest of the entry's life (never past the subgraph's `max-age`, which bounds that life),
    /// and only if the subgraph gave one.
    pub fn client_policy(&self, now_ms: u64) -> CachePolicy {
        let seconds_left = self.expires_at_ms.saturating_sub(now_ms) / 1000;
        match self.client_max_age {
            Some(max_age) if seconds_left > 0 => CachePolicy::MaxAge {
                seconds: seconds_left.min(max_age),
                private: self.private,
            },
            _ => CachePolicy::NoStore,
        }
    }

    /// How long past its freshness the entry stays of use.
    pub fn stale_window_ms(&self) -> u64 {
        self.kept_until_ms.saturating_sub(self.expires_at_ms)
    }
}
