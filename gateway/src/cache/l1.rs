//! The in-process level: moka, bounded by the entries' approximate size in bytes, each entry
//! expiring at its own time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;

use super::entry::{CacheKey, Entry};
use super::tags::now_ms;

struct ExpiresAt;

impl Expiry<CacheKey, Arc<Entry>> for ExpiresAt {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        entry: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(Duration::from_millis(
            entry.gone_at_ms().saturating_sub(now_ms()),
        ))
    }
}

pub struct L1 {
    entries: moka::sync::Cache<CacheKey, Arc<Entry>, ahash::RandomState>,
}

impl L1 {
    pub fn new(max_bytes: u64) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_key, entry: &Arc<Entry>| entry.size)
                .expire_after(ExpiresAt)
                // Keys are 128-bit hashes already: aHash (keyed per process) costs a fraction
                // of the default SipHash on every lookup.
                .build_with_hasher(ahash::RandomState::new()),
        }
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        self.entries.get(key)
    }

    pub fn insert(&self, key: CacheKey, entry: Arc<Entry>) {
        self.entries.insert(key, entry);
    }

    pub fn remove(&self, key: &CacheKey) {
        self.entries.invalidate(key);
    }

    pub fn weighted_size(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }
}
