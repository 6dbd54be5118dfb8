//! Cache keys: a stable 128-bit hash (xxh3, identical across processes and builds, so gateway
//! instances share Redis entries) of everything an answer depends on.

use crate::json::{Str, Value};
use xxhash_rust::xxh3::Xxh3;

use super::entry::CacheKey;

/// Builds a key from parts, each length-prefixed so parts cannot run into each other.
pub struct KeyBuilder(Xxh3);

impl KeyBuilder {
    pub fn new(kind: &str) -> Self {
        let mut builder = Self(Xxh3::new());
        builder.part(kind.as_bytes());
        builder
    }

    pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// A JSON value, fed structurally (a tag per kind, lengths, object keys in sorted order):
    /// equal values give equal keys whatever their field order, without writing JSON text.
    pub fn json(&mut self, value: &Value) -> &mut Self {
        match value {
            Value::Null => self.tag(b'n'),
            Value::Bool(b) => self.tag(if *b { b't' } else { b'f' }),
            Value::Number(n) => self.tag(b'#').part(n.to_string().as_bytes()),
            Value::String(s) => self.tag(b's').part(s.as_bytes()),
            Value::Array(items) => {
                self.tag(b'[').count(items.len());
                for item in items {
                    self.json(item);
                }
                self
            }
            Value::Object(map) => {
                self.tag(b'{').count(map.len());
                // Objects keep the subgraph's field order: keys are fed sorted, so equal
                // objects give equal keys (usually they already are, and need no sorting).
                if map.keys().is_sorted() {
                    for (key, value) in map {
                        self.part(key.as_bytes()).json(value);
                    }
                } else {
                    let mut entries: Vec<(&Str, &Value)> = map.iter().collect();
                    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                    for (key, value) in entries {
                        self.part(key.as_bytes()).json(value);
                    }
                }
                self
            }
        }
    }

    fn tag(&mut self, tag: u8) -> &mut Self {
        self.0.update(&[tag]);
        self
    }

    fn count(&mut self, count: usize) -> &mut Self {
        self.0.update(&(count as u64).to_le_bytes());
        self
    }

    pub fn finish(&self) -> CacheKey {
        CacheKey(self.0.digest128())
    }
}

/// The key of a root-field fetch: subgraph, what it selects, its variables, and whose data it
/// is (`None`: shared by everyone).
pub fn root_key(
    subgraph: &str,
    selection_hash: u64,
    variables: &str,
    scope: Option<&str>,
) -> CacheKey {
    KeyBuilder::new("root")
        .part(subgraph.as_bytes())
        .part(&selection_hash.to_le_bytes())
        .part(variables.as_bytes())
        .part(scope_part(scope).as_bytes())
        .finish()
}

/// The key of one entity: subgraph, its representation (typename, key and required fields),
/// what the fetch selects on it, the variables the selection uses, and the scope.
pub fn entity_key(
    subgraph: &str,
    representation: &Value,
    selection_hash: u64,
    variables: &str,
    scope: Option<&str>,
) -> CacheKey {
    KeyBuilder::new("entity")
        .part(subgraph.as_bytes())
        .json(representation)
        .part(&selection_hash.to_le_bytes())
        .part(variables.as_bytes())
        .part(scope_part(scope).as_bytes())
        .finish()
}

/// `public`, or the user's id: private entries never share a key with shared ones.
fn scope_part(scope: Option<&str>) -> String {
    match scope {
        None => "public".to_string(),
        Some(user) => format!("user:{user}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_json_gives_equal_keys_and_any_difference_another() {
        let key = |value: Value| KeyBuilder::new("t").json(&value).finish();
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        assert_eq!(
            key(parse(r#"{"a": 1, "b": [true, null, {"y": 1, "x": 2}]}"#)),
            key(parse(r#"{"b": [true, null, {"x": 2, "y": 1}], "a": 1}"#)),
            "field order does not matter"
        );
        let distinct = [
            json!(null),
            json!(false),
            json!(true),
            json!(0),
            json!("0"),
            json!([]),
            json!({}),
            json!([[]]),
            json!(["a", "b"]),
            json!(["ab"]),
            json!({"a": "b"}),
            json!({"ab": ""}),
            json!({"a": {"b": 1}}),
            json!({"a": 1, "b": 1}),
        ];
        let keys: std::collections::HashSet<CacheKey> =
            distinct.iter().map(|value| key(value.into())).collect();
        assert_eq!(keys.len(), distinct.len(), "no two of them collide");
    }

    /// Root keys of instances sharing Redis agree only if equal variables give equal text
    /// whatever order they were built in (serde_json maps sort their keys; should a dependency
    /// ever turn on its `preserve_order`, this fails).
    #[test]
    fn variables_text_is_canonical() {
        let mut forward = serde_json::Map::new();
        let mut backward = serde_json::Map::new();
        for key in ["a", "b", "c"] {
            forward.insert(key.into(), json!({"y": 1, "x": [key]}));
        }
        for key in ["c", "b", "a"] {
            backward.insert(key.into(), json!({"x": [key], "y": 1}));
        }
        let text = crate::cache::canonical_variables(&forward);
        assert_eq!(text, crate::cache::canonical_variables(&backward));
        assert_eq!(
            text,
            r#"{"a":{"x":["a"],"y":1},"b":{"x":["b"],"y":1},"c":{"x":["c"],"y":1}}"#
        );
    }

    #[test]
    fn keys_differ_by_every_part_and_are_stable() {
        let key = |subgraph: &str, upc: &str, selection: u64, scope: Option<&str>| {
            let representation = Value::from(json!({"__typename": "Product", "upc": upc}));
            entity_key(subgraph, &representation, selection, "{}", scope)
        };
        let base = key("products", "1", 7, None);
        assert_eq!(base, key("products", "1", 7, None));
        assert_ne!(base, key("reviews", "1", 7, None));
        assert_ne!(base, key("products", "2", 7, None));
        assert_ne!(base, key("products", "1", 8, None));
        assert_ne!(base, key("products", "1", 7, Some("u1")));
        assert_ne!(
            root_key("a", 1, "", None),
            root_key("a", 1, "", Some("")),
            "scopes never collide with shared"
        );
    }
}
