//! Cache keys: a stable 128-bit hash (xxh3, identical across processes and builds, so gateway
//! instances share Redis entries) of everything an answer depends on.

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
    representation: &str,
    selection_hash: u64,
    variables: &str,
    scope: Option<&str>,
) -> CacheKey {
    KeyBuilder::new("entity")
        .part(subgraph.as_bytes())
        .part(representation.as_bytes())
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
    use super::*;

    #[test]
    fn keys_differ_by_every_part_and_are_stable() {
        let base = entity_key(
            "products",
            r#"{"__typename":"Product","upc":"1"}"#,
            7,
            "{}",
            None,
        );
        assert_eq!(
            base,
            entity_key(
                "products",
                r#"{"__typename":"Product","upc":"1"}"#,
                7,
                "{}",
                None
            )
        );
        assert_ne!(
            base,
            entity_key(
                "reviews",
                r#"{"__typename":"Product","upc":"1"}"#,
                7,
                "{}",
                None
            )
        );
        assert_ne!(
            base,
            entity_key(
                "products",
                r#"{"__typename":"Product","upc":"2"}"#,
                7,
                "{}",
                None
            )
        );
        assert_ne!(
            base,
            entity_key(
                "products",
                r#"{"__typename":"Product","upc":"1"}"#,
                8,
                "{}",
                None
            )
        );
        assert_ne!(
            base,
            entity_key(
                "products",
                r#"{"__typename":"Product","upc":"1"}"#,
                7,
                "{}",
                Some("u1")
            )
        );
        assert_ne!(
            root_key("a", 1, "", None),
            root_key("a", 1, "", Some("")),
            "scopes never collide with shared"
        );
    }
}
