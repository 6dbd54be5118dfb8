//! Trusted documents: a manifest of the operations the gateway's clients were built with,
//! loaded at start, in Apollo's persisted query list format
//! (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "body",
//! "name", "type"}]}`) or as a plain `{"<id>": "<document>"}` map (Relay's, Hive's, GraphQL
//! Code Generator's).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use apollo_parser::{Lexer, TokenKind};
use serde::Deserialize;
use serde_json::Value;

/// The operations of a manifest, by id, and their bodies as token sequences (for freeform
/// requests in safelist mode: the same operation written with other spacing or comments is
/// still the listed one).
#[derive(Debug, Default)]
pub(crate) struct Manifest {
    by_id: HashMap<String, Arc<str>>,
    normalized_bodies: HashSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApolloManifest {
    format: String,
    version: u32,
    operations: Vec<ApolloOperation>,
}

#[derive(Deserialize)]
struct ApolloOperation {
    id: String,
    body: String,
}

impl Manifest {
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let operations: Vec<(String, String)> = if value.get("format").is_some() {
            let manifest: ApolloManifest = serde_json::from_value(value)
                .map_err(|e| format!("not an Apollo persisted query manifest: {e}"))?;
            if manifest.format != "apollo-persisted-query-manifest" || manifest.version != 1 {
                return Err(format!(
                    "unknown manifest format {:?} version {}: expected \
                     apollo-persisted-query-manifest version 1",
                    manifest.format, manifest.version
                ));
            }
            manifest
                .operations
                .into_iter()
                .map(|op| (op.id, op.body))
                .collect()
        } else {
            let map: HashMap<String, String> = serde_json::from_value(value).map_err(|e| {
                format!(
                    "expected an Apollo persisted query manifest or an object of id → \
                     document strings: {e}"
                )
            })?;
            map.into_iter().collect()
        };
        let mut manifest = Manifest::default();
        for (id, body) in operations {
            manifest.normalized_bodies.insert(normalize(&body, 0));
            manifest.by_id.insert(id, body.into());
        }
        Ok(manifest)
    }

    /// The document listed under `id`. A `documentId` may carry its hash algorithm as a
    /// prefix (`sha256:<hex>`, as the GraphQL-over-HTTP persisted documents proposal writes
    /// it); manifests list the bare hash.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<str>> {
        self.by_id
            .get(id)
            .or_else(|| self.by_id.get(id.strip_prefix("sha256:")?))
            .cloned()
    }

    /// Whether `document` is one of the listed bodies, token for token.
    pub(crate) fn lists(&self, document: &str, max_tokens: usize) -> bool {
        self.normalized_bodies
            .contains(&normalize(document, max_tokens))
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// The document's tokens joined by single spaces: spacing, commas and comments are not part
/// of what an operation means. `max_tokens` (0: no limit) bounds the work for a hostile text;
/// past it, or when the text does not lex, the text stands for itself.
fn normalize(document: &str, max_tokens: usize) -> String {
    let mut lexer = Lexer::new(document);
    if max_tokens > 0 {
        lexer = lexer.with_limit(max_tokens);
    }
    let mut out = String::with_capacity(document.len());
    for token in lexer {
        let Ok(token) = token else {
            return document.to_string();
        };
        if matches!(
            token.kind(),
            TokenKind::Whitespace | TokenKind::Comment | TokenKind::Comma | TokenKind::Eof
        ) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(token.data());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const APOLLO: &str = r#"{
      "format": "apollo-persisted-query-manifest",
      "version": 1,
      "operations": [
        { "id": "abc", "body": "query Me { me { id } }", "name": "Me", "type": "query" }
      ]
    }"#;

    #[test]
    fn both_formats_load() {
        let apollo = Manifest::parse(APOLLO).unwrap();
        assert_eq!(apollo.get("abc").as_deref(), Some("query Me { me { id } }"));
        assert_eq!(
            apollo.get("sha256:abc").as_deref(),
            Some("query Me { me { id } }")
        );
        assert_eq!(apollo.get("other"), None);
        let map = Manifest::parse(r#"{ "x1": "{ me { id } }" }"#).unwrap();
        assert_eq!(map.get("x1").as_deref(), Some("{ me { id } }"));
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn a_malformed_manifest_says_why() {
        for (text, needle) in [
            ("[1, 2]", "expected an Apollo persisted query manifest"),
            (
                r#"{"format": "other", "version": 1, "operations": []}"#,
                "unknown manifest format",
            ),
            ("{not json", "not valid JSON"),
            (r#"{"a": 1}"#, "id → document"),
        ] {
            let error = Manifest::parse(text).unwrap_err();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }

    #[test]
    fn a_listed_body_is_recognised_whatever_its_spacing_and_comments() {
        let manifest = Manifest::parse(APOLLO).unwrap();
        assert!(manifest.lists("query Me { me { id } }", 0));
        assert!(manifest.lists("query Me{me{id}}", 100));
        assert!(manifest.lists("# mine\nquery   Me {\n  me { id, }\n}\n", 100));
        assert!(!manifest.lists("query Me { me { id name } }", 100));
        assert!(
            !manifest.lists("query Me{me{id}}", 3),
            "over the token limit: as written"
        );
    }
}
