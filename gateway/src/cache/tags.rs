//! What an invalidation can name, and the version each name is at. An entry remembers the
//! versions of its tags when stored; it is fresh only while they are unchanged. Invalidating is
//! then one counter update, whatever the number of entries, on every gateway instance alike:
//! versions come from the event stream's ids, so instances that read the same stream agree.

use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use xxhash_rust::xxh3::xxh3_64;

/// A name invalidations use. Hashed to a `u64` id for storage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tag<'a> {
    /// Everything from a subgraph.
    Subgraph(&'a str),
    /// Everything of a type from a subgraph: the type's entities and whatever can hold them.
    Type(&'a str, &'a str),
    /// Entries that hold entities of a type without knowing all their keys: any entity event
    /// of the type may concern them.
    AnyKey(&'a str, &'a str),
    /// One entity, by a key (canonical JSON of the key fields).
    Key(&'a str, &'a str, &'a str),
    /// Every entry of an `events` type: bumped when events may have been missed.
    EventsEpoch,
}

impl Tag<'_> {
    pub fn id(&self) -> u64 {
        let text = match self {
            Tag::Subgraph(s) => format!("s\u{1}{s}"),
            Tag::Type(s, t) => format!("t\u{1}{s}\u{1}{t}"),
            Tag::AnyKey(s, t) => format!("a\u{1}{s}\u{1}{t}"),
            Tag::Key(s, t, k) => format!("k\u{1}{s}\u{1}{t}\u{1}{k}"),
            Tag::EventsEpoch => "e".to_string(),
        };
        xxh3_64(text.as_bytes())
    }
}

/// A version: a stream entry id (`milliseconds-sequence`) as one number.
pub type Version = u128;

/// Parses a Redis stream id (`1712345678901-3`).
pub fn version_from_stream_id(id: &str) -> Option<Version> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse::<u64>().ok()? as u128) << 64 | seq.parse::<u64>().ok()? as u128)
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Tag versions, and the highest version seen (the watermark). An entry records the watermark
/// when its fetch started; it is stale as soon as one of its tags moves past that. So an event
/// that arrives while a fetch is in flight makes the fetched answer stale at birth.
#[derive(Debug, Default)]
pub struct Versions {
    /// Looked up for every tag of every cache hit: aHash, not the default SipHash, on ids that
    /// are hashes already (still keyed per process, so crafted tags cannot pile up in a bucket).
    versions: DashMap<u64, Version, ahash::RandomState>,
    watermark: std::sync::Mutex<Version>,
}

impl Versions {
    pub fn current(&self, tag: u64) -> Version {
        self.versions.get(&tag).map(|v| *v).unwrap_or(0)
    }

    /// The highest version seen so far.
    pub fn watermark(&self) -> Version {
        *self.watermark.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves a tag to `version` (never backwards).
    pub fn bump(&self, tag: u64, version: Version) {
        self.versions
            .entry(tag)
            .and_modify(|v| *v = (*v).max(version))
            .or_insert(version);
        let mut watermark = self.watermark.lock().unwrap_or_else(|e| e.into_inner());
        *watermark = (*watermark).max(version);
    }

    /// A version for an invalidation that did not come from the stream (a mutation through
    /// this gateway, or no Redis at all): later than anything seen, and than now.
    pub fn local_version(&self) -> Version {
        let watermark = self.watermark();
        ((now_ms() as u128) << 64).max(watermark + 1)
    }

    /// Whether an entry born at `born` with `tags` is still fresh.
    pub fn fresh(&self, tags: &[u64], born: Version) -> bool {
        tags.iter().all(|tag| self.current(*tag) <= born)
    }

    /// When an entry born at `born` with `tags` was invalidated (milliseconds, from the
    /// version of the earliest tag that moved past `born`); `None` while it is fresh.
    pub fn invalidated_at_ms(&self, tags: &[u64], born: Version) -> Option<u64> {
        tags.iter()
            .map(|tag| self.current(*tag))
            .filter(|version| *version > born)
            .min()
            .map(|version| (version >> 64) as u64)
    }

    pub fn len(&self) -> usize {
        self.versions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_stale_once_a_tag_moves_past_its_birth() {
        let versions = Versions::default();
        let tag = Tag::Key("products", "Product", r#"{"upc":"1"}"#).id();
        let other = Tag::Type("products", "Product").id();
        let born = versions.watermark();
        assert!(versions.fresh(&[tag, other], born));
        versions.bump(tag, version_from_stream_id("1700000000000-0").unwrap());
        assert!(!versions.fresh(&[tag, other], born), "invalidated");
        let reborn = versions.watermark();
        assert!(
            versions.fresh(&[tag, other], reborn),
            "stored after the event"
        );
        let local = versions.local_version();
        assert!(local > reborn);
        versions.bump(other, local);
        assert!(!versions.fresh(&[tag, other], reborn));
    }

    #[test]
    fn versions_never_go_backwards() {
        let versions = Versions::default();
        versions.bump(1, 10);
        versions.bump(1, 5);
        assert_eq!(versions.current(1), 10);
        assert_eq!(versions.watermark(), 10);
    }
}
