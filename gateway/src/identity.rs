//! Who sent a request, as the edge verified it (a JWT's claims): what the cache's private scope,
//! header propagation and the authorization directives read. A plain data type shared by those
//! parts, like [`crate::json`].

use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    /// The verified token's claims.
    pub claims: Map<String, Value>,
    /// Headers to send to every subgraph on this identity's behalf (claims forwarded by
    /// config), in place of any the client sent under the same names.
    pub forwarded_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Identity {
    /// A claim as text: a string as it is, a number or a boolean written out; `None` for a
    /// missing claim, `null`, an object or a list. `path` may name a nested claim with dots
    /// (`realm_access.role`).
    pub fn claim_text(&self, path: &str) -> Option<String> {
        match self.claim(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The claim at `path` (dot-separated for nested claims).
    pub fn claim(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut value = self.claims.get(parts.next()?)?;
        for part in parts {
            value = value.as_object()?.get(part)?;
        }
        Some(value)
    }

    /// The OAuth scopes the token grants: its `scope` claim, a space-separated string (RFC
    /// 8693), or a list of strings (as some issuers write `scope` or `scp`).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        let claim = self.claims.get("scope").or_else(|| self.claims.get("scp"));
        let (text, list) = match claim {
            Some(Value::String(s)) => (Some(s.as_str()), None),
            Some(Value::Array(items)) => (None, Some(items)),
            _ => (None, None),
        };
        text.into_iter()
            .flat_map(str::split_whitespace)
            .chain(list.into_iter().flatten().filter_map(Value::as_str))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn identity(claims: Value) -> Identity {
        Identity {
            claims: claims.as_object().unwrap().clone(),
            ..Default::default()
        }
    }

    #[test]
    fn claims_are_read_as_text_and_by_path() {
        let id = identity(json!({ "sub": "u1", "n": 7, "org": { "id": "o9" }, "l": [1] }));
        assert_eq!(id.claim_text("sub").as_deref(), Some("u1"));
        assert_eq!(id.claim_text("n").as_deref(), Some("7"));
        assert_eq!(id.claim_text("org.id").as_deref(), Some("o9"));
        assert_eq!(id.claim_text("l"), None);
        assert_eq!(id.claim_text("missing"), None);
    }

    #[test]
    fn scopes_come_from_a_string_or_a_list() {
        let spaced = identity(json!({ "scope": "read:a  write:b" }));
        assert_eq!(spaced.scopes().collect::<Vec<_>>(), ["read:a", "write:b"]);
        let listed = identity(json!({ "scp": ["read:a", 3, "x"] }));
        assert_eq!(listed.scopes().collect::<Vec<_>>(), ["read:a", "x"]);
        assert_eq!(identity(json!({})).scopes().count(), 0);
    }
}
