//! Invalidation sources: the change-event stream services publish to (Redis Streams), the
//! publisher that shares this gateway's own invalidations with the other instances, and the
//! hooks behind `/invalidate` and `/metrics`.
//!
//! The change event (docs/cache.md) is one JSON object in the `event` field of a stream entry,
//! publishable from any language with one command:
//!
//! ```text
//! XADD gateway:invalidations * event '{"subgraph":"products","type":"Product","keys":[{"upc":"1"}]}'
//! ```
//!
//! Keys name entities; no keys name the whole type (an entity was created, a list changed); a
//! subgraph alone names everything from it.

mod bus;
mod changes;
mod continuity;
mod hooks;
mod publisher;
mod stream;

pub use bus::InProcessBus;
pub use changes::{Change, Changes};
pub use hooks::CacheHooks;
pub use publisher::Publisher;
pub use stream::StreamListener;

use crate::cache::Invalidation;

/// The stream entry field that carries the event.
pub const EVENT_FIELD: &str = "event";

/// Reads an event: one invalidation object, or a list of them.
pub fn parse_event(text: &str) -> Result<Vec<Invalidation>, serde_json::Error> {
    match serde_json::from_str::<serde_json::Value>(text)? {
        serde_json::Value::Array(items) => items.into_iter().map(serde_json::from_value).collect(),
        other => Ok(vec![serde_json::from_value(other)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_a_subgraph_a_type_or_entities() {
        let events = parse_event(
            r#"[{"subgraph":"products"},{"subgraph":"products","type":"Product"},{"subgraph":"products","type":"Product","keys":[{"upc":"1"}]}]"#,
        )
        .unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].type_name, None);
        assert_eq!(events[1].type_name.as_deref(), Some("Product"));
        assert_eq!(events[2].keys, vec![serde_json::json!({ "upc": "1" })]);
        assert!(
            parse_event(r#"{"type":"Product"}"#).is_err(),
            "the subgraph is required"
        );
        assert!(
            parse_event(r#"{"subgraph":"a","typ":"X"}"#).is_err(),
            "unknown fields are refused"
        );
    }
}
