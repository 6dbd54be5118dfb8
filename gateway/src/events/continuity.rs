//! Proving that an instance missed no event: on every (re)connect, what the stream says of
//! itself is compared with what the instance last knew of it. Not from the instance's history
//! alone (an instance that saw no event since it started has none), but from the stream:
//!
//! - its epoch, a random value the first gateway to find the stream without one writes next to
//!   it (`<stream>:epoch`, `SET NX`): Redis restarted empty, or the keys flushed, and the epoch
//!   changes, so whatever was published meanwhile is unknown;
//! - its `entries-added` counter (Redis 7): lower than the instance's position, the stream was
//!   deleted and created again;
//! - the entries trimmed away (`entries-added` minus `length`): more than the instance's
//!   position, entries it never read are gone. Without `entries-added` (Redis 6), the first
//!   entry's id is compared with the last id read instead.

use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};

use crate::cache::tags::version_from_stream_id;

/// What the stream says of itself now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StreamState {
    pub epoch: String,
    /// Entries ever added (Redis 7); `None` on older servers.
    pub entries_added: Option<u64>,
    pub length: u64,
    pub first_id: Option<String>,
}

/// What the instance knows of the stream it reads.
#[derive(Debug, Default)]
pub(super) struct Continuity {
    epoch: Option<String>,
    /// How many of the stream's entries (by `entries-added`) lie at or before the last id
    /// read: trimmed before this instance could read them, or read.
    position: Option<u64>,
}

/// Why an instance cannot prove it saw every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gap {
    /// The epoch changed: Redis lost its data, or the stream's keys were deleted.
    NewEpoch,
    /// The stream counts fewer entries than the instance had seen: it was recreated.
    Recreated,
    /// Entries after the last one read were trimmed away.
    Trimmed,
}

impl Gap {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Gap::NewEpoch => {
                "the stream's epoch changed (Redis lost its data, or the stream was recreated)"
            }
            Gap::Recreated => "the stream was deleted and created again",
            Gap::Trimmed => "the stream was trimmed past the last event read",
        }
    }
}

impl Continuity {
    /// Judges the stream as found on a (re)connect, with the last id the instance read, and
    /// takes `state` as what it knows from now on. On a gap the caller reads again from the
    /// start of what is left (`last_id` "0").
    pub(super) fn judge(&mut self, state: &StreamState, last_id: &str) -> Result<(), Gap> {
        let known_epoch = self.epoch.replace(state.epoch.clone());
        let trimmed = state
            .entries_added
            .map(|added| added.saturating_sub(state.length));
        let verdict = match (known_epoch, self.position, state.entries_added) {
            // First contact: whatever was trimmed before, this instance never held.
            (None, _, _) => Ok(()),
            (Some(epoch), _, _) if epoch != state.epoch => Err(Gap::NewEpoch),
            (_, Some(position), Some(added)) if added < position => Err(Gap::Recreated),
            (_, Some(position), Some(_)) if trimmed.is_some_and(|t| t > position) => {
                Err(Gap::Trimmed)
            }
            // Redis 6: ids instead of counts.
            (_, _, None) if last_id != "0" && first_after(state, last_id) => Err(Gap::Trimmed),
            _ => Ok(()),
        };
        // On first contact, and after a gap (the caller then reads what is left from the
        // start), the position is what was trimmed before.
        if self.position.is_none() || verdict.is_err() {
            self.position = trimmed;
        }
        verdict
    }

    /// One more entry read.
    pub(super) fn read(&mut self) {
        if let Some(position) = &mut self.position {
            *position += 1;
        }
    }
}

/// Whether the stream's first entry lies after `last_id` (entries after it were trimmed).
fn first_after(state: &StreamState, last_id: &str) -> bool {
    let last = version_from_stream_id(last_id).unwrap_or(0);
    match &state.first_id {
        Some(first) => version_from_stream_id(first).unwrap_or(0) > last,
        None => true,
    }
}

/// Reads the stream's state, writing its epoch first if it has none.
pub(super) async fn stream_state(
    connection: &mut MultiplexedConnection,
    stream: &str,
) -> redis::RedisResult<StreamState> {
    let epoch_key = format!("{stream}:epoch");
    let fresh_epoch = format!("{:016x}", random());
    let (epoch,): (String,) = redis::pipe()
        .cmd("SET")
        .arg(&epoch_key)
        .arg(&fresh_epoch)
        .arg("NX")
        .ignore()
        .cmd("GET")
        .arg(&epoch_key)
        .query_async(connection)
        .await?;
    let info: redis::RedisResult<Value> = redis::cmd("XINFO")
        .arg("STREAM")
        .arg(stream)
        .query_async(connection)
        .await;
    let info = match info {
        Ok(info) => info,
        // No stream yet (nothing published since Redis started): empty, nothing trimmed.
        Err(error) if error.to_string().contains("no such key") => {
            return Ok(StreamState {
                epoch,
                entries_added: Some(0),
                length: 0,
                first_id: None,
            });
        }
        Err(error) => return Err(error),
    };
    let fields = reply_fields(&info);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| (*value).clone())
    };
    let number = |name: &str| field(name).and_then(|v| u64::from_redis_value_ref(&v).ok());
    let first_id = field("first-entry").and_then(|entry| match entry {
        Value::Array(parts) => parts
            .first()
            .and_then(|id| String::from_redis_value_ref(id).ok()),
        _ => None,
    });
    Ok(StreamState {
        epoch,
        entries_added: number("entries-added"),
        length: number("length").unwrap_or(0),
        first_id,
    })
}

/// The fields of a map reply (RESP3 map, or RESP2 flat array of key, value, ...).
pub(super) fn reply_fields(reply: &Value) -> Vec<(String, &Value)> {
    match reply {
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(key, value)| Some((String::from_redis_value_ref(key).ok()?, value)))
            .collect(),
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|pair| Some((String::from_redis_value_ref(&pair[0]).ok()?, pair.get(1)?)))
            .collect(),
        _ => Vec::new(),
    }
}

/// A value no other gateway will pick: the time and this process, hashed with a random key.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(crate::cache::tags::now_ms());
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(epoch: &str, added: u64, length: u64) -> StreamState {
        StreamState {
            epoch: epoch.into(),
            entries_added: Some(added),
            length,
            first_id: None,
        }
    }

    #[test]
    fn an_instance_that_read_everything_is_continuous() {
        let mut continuity = Continuity::default();
        assert_eq!(continuity.judge(&state("e1", 10, 4), "0"), Ok(()));
        for _ in 0..4 {
            continuity.read();
        }
        // Two more published and read; then reconnect with the stream trimmed to what it read.
        continuity.read();
        continuity.read();
        assert_eq!(continuity.judge(&state("e1", 12, 0), "9-0"), Ok(()));
    }

    #[test]
    fn a_new_epoch_is_a_gap_even_without_any_event_seen() {
        let mut continuity = Continuity::default();
        assert_eq!(continuity.judge(&state("e1", 0, 0), "0"), Ok(()));
        // Redis restarted empty: a new epoch, the stream counts nothing.
        assert_eq!(
            continuity.judge(&state("e2", 0, 0), "0"),
            Err(Gap::NewEpoch)
        );
        assert_eq!(continuity.judge(&state("e2", 0, 0), "0"), Ok(()), "once");
    }

    #[test]
    fn a_recreated_or_trimmed_stream_is_a_gap() {
        let mut continuity = Continuity::default();
        continuity.judge(&state("e1", 5, 5), "0").unwrap();
        for _ in 0..5 {
            continuity.read();
        }
        assert_eq!(
            continuity.judge(&state("e1", 2, 2), "5-0"),
            Err(Gap::Recreated)
        );
        // Now at 0 of a new stream of 2 entries: read them, then 10 published and 8 trimmed.
        continuity.read();
        continuity.read();
        assert_eq!(
            continuity.judge(&state("e1", 12, 2), "6-0"),
            Err(Gap::Trimmed)
        );
        // 10 trimmed of 12: position is 10 again, 2 left to read.
        continuity.read();
        continuity.read();
        assert_eq!(continuity.judge(&state("e1", 12, 0), "9-0"), Ok(()));
    }

    #[test]
    fn without_counts_the_first_id_decides() {
        let old = |first: Option<&str>| StreamState {
            epoch: "e".into(),
            entries_added: None,
            length: 3,
            first_id: first.map(Into::into),
        };
        let mut continuity = Continuity::default();
        continuity.judge(&old(Some("1-0")), "0").unwrap();
        assert_eq!(continuity.judge(&old(Some("2-0")), "3-0"), Ok(()));
        assert_eq!(
            continuity.judge(&old(Some("5-0")), "3-0"),
            Err(Gap::Trimmed)
        );
    }
}
