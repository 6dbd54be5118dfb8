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

/// What besides the query an answer depends on: whose data it is (`user`: `None` for data
/// shared by everyone) and the client headers forwarded to the subgraph with the fetch (as
/// [`forwarded_headers`] writes them), which the subgraph may answer differently for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    pub user: Option<&'a str>,
    pub headers: &'a [u8],
}

/// The key of a root-field fetch: subgraph, what it selects, its variables, and its scope.
pub fn root_key(
    subgraph: &str,
    selection_hash: u64,
    variables: &str,
    scope: Scope<'_>,
) -> CacheKey {
    KeyBuilder::new("root")
        .part(subgraph.as_bytes())
        .part(&selection_hash.to_le_bytes())
        .part(variables.as_bytes())
        .scope(scope)
        .finish()
}

/// The key of one entity: subgraph, its representation (typename, key and required fields),
/// what the fetch selects on it, the variables the selection uses, and the scope.
pub fn entity_key(
    subgraph: &str,
    representation: &Value,
    selection_hash: u64,
    variables: &str,
    scope: Scope<'_>,
) -> CacheKey {
    KeyBuilder::new("entity")
        .part(subgraph.as_bytes())
        .json(representation)
        .part(&selection_hash.to_le_bytes())
        .part(variables.as_bytes())
        .scope(scope)
        .finish()
}

/// Forwarded headers in one canonical form: sorted by name, each value in the order sent,
/// length-prefixed. Empty when none is forwarded (the common case costs nothing).
pub fn forwarded_headers(headers: &http::HeaderMap) -> Vec<u8> {
    if headers.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<&http::HeaderName> = headers.keys().collect();
    names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut out = Vec::new();
    for name in names {
        for value in headers.get_all(name) {
            for bytes in [name.as_str().as_bytes(), value.as_bytes()] {
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }
    out
}

impl KeyBuilder {
    /// `public` or the user's id (private entries never share a key with shared ones), then
    /// the forwarded headers.
    fn scope(&mut self, scope: Scope<'_>) -> &mut Self {
        match scope.user {
            None => self.part(b"public"),
            Some(user) => self.part(format!("user:{user}").as_bytes()),
        };
        self.part(scope.headers)
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

    fn user(user: &str) -> Scope<'_> {
        Scope {
            user: Some(user),
            headers: &[],
        }
    }

    #[test]
    fn keys_differ_by_every_part_and_are_stable() {
        let key = |subgraph: &str, upc: &str, selection: u64, scope: Scope<'_>| {
            let representation = Value::from(json!({"__typename": "Product", "upc": upc}));
            entity_key(subgraph, &representation, selection, "{}", scope)
        };
        let public = Scope::default();
        let base = key("products", "1", 7, public);
        assert_eq!(base, key("products", "1", 7, public));
        assert_ne!(base, key("reviews", "1", 7, public));
        assert_ne!(base, key("products", "2", 7, public));
        assert_ne!(base, key("products", "1", 8, public));
        assert_ne!(base, key("products", "1", 7, user("u1")));
        assert_ne!(
            root_key("a", 1, "", public),
            root_key("a", 1, "", user("")),
            "scopes never collide with shared"
        );
    }

    #[test]
    fn forwarded_headers_are_part_of_the_key_by_name_and_value() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = http::HeaderMap::new();
            for (name, value) in pairs {
                map.append(
                    http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            forwarded_headers(&map)
        };
        let key = |vary: &[u8]| {
            root_key(
                "a",
                1,
                "",
                Scope {
                    user: None,
                    headers: vary,
                },
            )
        };
        let none = headers(&[]);
        let fr = headers(&[("accept-language", "fr")]);
        let en = headers(&[("accept-language", "en")]);
        assert!(none.is_empty());
        assert_ne!(key(&fr), key(&en));
        assert_ne!(key(&fr), key(&none));
        assert_eq!(
            headers(&[("a", "1"), ("b", "2")]),
            headers(&[("b", "2"), ("a", "1")]),
            "the order headers came in does not matter"
        );
        assert_ne!(
            headers(&[("a", "1"), ("a", "2")]),
            headers(&[("a", "2"), ("a", "1")]),
            "the order of one header's values does"
        );
    }
}
