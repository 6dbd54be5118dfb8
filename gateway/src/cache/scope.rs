//! Whose data a request may see in the cache: the user id from a claim of the request's
//! verified token (`authentication.jwt`) or from a configured header (set by a trusted proxy).
//! With no user id, private data is not cached at all.

use http::HeaderMap;
use serde::Deserialize;

use crate::identity::Identity;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrivateConfig {
    /// The claim of the verified token that names the user (a nested claim with dots).
    pub claim: String,
    /// A header carrying the user id, set by a proxy the gateway trusts; read when the
    /// request has no verified token.
    pub header: Option<String>,
}

impl Default for PrivateConfig {
    fn default() -> Self {
        Self {
            claim: "sub".into(),
            header: None,
        }
    }
}

/// The user id of a request, if it has a trustworthy one.
pub fn user_id(
    headers: &HeaderMap,
    identity: Option<&Identity>,
    config: &PrivateConfig,
) -> Option<String> {
    if let Some(identity) = identity {
        return identity.claim_text(&config.claim);
    }
    let name = config.header.as_ref()?;
    let value = headers.get(name.as_str())?.to_str().ok()?;
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        headers
    }

    #[test]
    fn the_user_comes_from_the_verified_token_first() {
        let config = PrivateConfig {
            claim: "sub".into(),
            header: Some("x-user-id".into()),
        };
        let identity = Identity {
            claims: serde_json::json!({ "sub": "user-1" })
                .as_object()
                .unwrap()
                .clone(),
            ..Default::default()
        };
        let spoofed = headers("x-user-id", "someone-else");
        assert_eq!(
            user_id(&spoofed, Some(&identity), &config),
            Some("user-1".into())
        );
        let no_claim = Identity::default();
        assert_eq!(user_id(&spoofed, Some(&no_claim), &config), None);
    }

    #[test]
    fn without_a_token_a_trusted_header_names_the_user() {
        let config = PrivateConfig {
            header: Some("x-user-id".into()),
            ..Default::default()
        };
        assert_eq!(
            user_id(&headers("x-user-id", "u7"), None, &config),
            Some("u7".into())
        );
        assert_eq!(user_id(&headers("x-other", "u7"), None, &config), None);
        assert_eq!(
            user_id(&headers("x-user-id", "u7"), None, &PrivateConfig::default()),
            None
        );
    }
}
