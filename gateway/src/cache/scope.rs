//! Whose data a request may see in the cache: the user id from a configured header (set by a
//! trusted proxy) or from a claim of an HS256 JWT whose signature the gateway verifies. With no
//! verified user id, private data is not cached at all.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde::Deserialize;
use sha2::Sha256;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrivateConfig {
    /// A header carrying the user id, set by a proxy the gateway trusts.
    pub header: Option<String>,
    /// A JWT (HS256) whose claim names the user; verified with `secret`.
    pub jwt: Option<JwtConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Header holding `Bearer <token>`.
    #[serde(default = "default_jwt_header")]
    pub header: String,
    /// The claim with the user id.
    #[serde(default = "default_claim")]
    pub claim: String,
    /// The HS256 secret the token must be signed with.
    pub secret: String,
}

fn default_jwt_header() -> String {
    "authorization".into()
}

fn default_claim() -> String {
    "sub".into()
}

/// The user id of a request, if it has a trustworthy one.
pub fn user_id(headers: &HeaderMap, config: &PrivateConfig) -> Option<String> {
    if let Some(name) = &config.header
        && let Some(value) = headers.get(name.as_str()).and_then(|v| v.to_str().ok())
        && !value.is_empty()
    {
        return Some(value.to_string());
    }
    let jwt = config.jwt.as_ref()?;
    let value = headers.get(jwt.header.as_str())?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    verified_claim(token, &jwt.secret, &jwt.claim)
}

/// The claim of an HS256 token, when its signature checks out (and it has not expired).
fn verified_claim(token: &str, secret: &str, claim: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.get("alg")?.as_str()? != "HS256" {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(signed_part(token)?.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
        .ok()?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    if let Some(exp) = claims.get("exp").and_then(|e| e.as_u64())
        && exp < super::tags::now_ms() / 1000
    {
        return None;
    }
    match claims.get(claim)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `header.payload`: what the signature signs.
fn signed_part(token: &str) -> Option<&str> {
    let last_dot = token.rfind('.')?;
    Some(&token[..last_dot])
}

#[cfg(test)]
pub(crate) fn sign(claims: &serde_json::Value, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
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
    fn the_user_comes_from_a_verified_token_only() {
        let config = PrivateConfig {
            header: None,
            jwt: Some(JwtConfig {
                header: "authorization".into(),
                claim: "sub".into(),
                secret: "s3cret".into(),
            }),
        };
        let token = sign(&serde_json::json!({ "sub": "user-1" }), "s3cret");
        assert_eq!(
            user_id(
                &headers("authorization", &format!("Bearer {token}")),
                &config
            ),
            Some("user-1".into())
        );
        let forged = sign(&serde_json::json!({ "sub": "user-1" }), "guess");
        assert_eq!(
            user_id(
                &headers("authorization", &format!("Bearer {forged}")),
                &config
            ),
            None
        );
        let expired = sign(&serde_json::json!({ "sub": "user-1", "exp": 1 }), "s3cret");
        assert_eq!(
            user_id(
                &headers("authorization", &format!("Bearer {expired}")),
                &config
            ),
            None
        );
        assert_eq!(
            user_id(&headers("authorization", "Bearer nonsense"), &config),
            None
        );
        assert_eq!(user_id(&HeaderMap::new(), &config), None);
    }

    #[test]
    fn a_trusted_header_names_the_user() {
        let config = PrivateConfig {
            header: Some("x-user-id".into()),
            jwt: None,
        };
        assert_eq!(
            user_id(&headers("x-user-id", "u7"), &config),
            Some("u7".into())
        );
        assert_eq!(user_id(&headers("x-other", "u7"), &config), None);
    }
}
