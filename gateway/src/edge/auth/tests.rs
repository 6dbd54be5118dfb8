use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jwt-keys");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

/// A token signed with the fixture key `kid` (its PEM file), with `claims`.
fn sign(algorithm: Algorithm, kid: &str, claims: Value) -> String {
    let key = match algorithm {
        Algorithm::HS256 => EncodingKey::from_secret(&fixture("hs256.secret")).unwrap(),
        Algorithm::ES256 | Algorithm::ES384 => {
            EncodingKey::from_ec_pem(&fixture(&format!("{kid}.pem"))).unwrap()
        }
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&fixture(&format!("{kid}.pem"))).unwrap(),
        _ => EncodingKey::from_rsa_pem(&fixture(&format!("{kid}.pem"))).unwrap(),
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_string());
    encode(&header, &claims, &key).unwrap()
}

fn in_an_hour() -> u64 {
    unix_now() + 3600
}

fn config() -> JwtConfig {
    JwtConfig {
        jwks: vec![JwksConfig {
            url: None,
            file: Some(format!("{FIXTURES}/keys.jwks.json").into()),
            poll_interval_seconds: 60,
            headers: BTreeMap::new(),
        }],
        ..Default::default()
    }
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

async fn check(authenticator: &Authenticator, token: &str) -> Result<Arc<Identity>, String> {
    authenticator
        .authenticate(&bearer(token))
        .await
        .map(|identity| identity.expect("a token means an identity"))
        .map_err(|e| e.message)
}

#[tokio::test]
async fn every_supported_algorithm_verifies() {
    let authenticator = Authenticator::new(&config()).unwrap();
    for (algorithm, kid) in [
        (Algorithm::RS256, "rsa"),
        (Algorithm::RS512, "rsa"),
        (Algorithm::PS256, "rsa"),
        (Algorithm::ES256, "ec256"),
        (Algorithm::ES384, "ec384"),
        (Algorithm::EdDSA, "ed25519"),
        (Algorithm::HS256, "hs256"),
    ] {
        let token = sign(algorithm, kid, json!({ "sub": kid, "exp": in_an_hour() }));
        let identity = check(&authenticator, &token)
            .await
            .unwrap_or_else(|e| panic!("{algorithm:?}: {e}"));
        assert_eq!(identity.claim_text("sub").as_deref(), Some(kid));
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_with_the_reason() {
    let authenticator = Authenticator::new(&JwtConfig {
        issuers: vec!["https://issuer.example".into()],
        audiences: vec!["gateway".into()],
        ..config()
    })
    .unwrap();
    let good = json!({ "iss": "https://issuer.example", "aud": "gateway", "exp": in_an_hour() });
    let with = |changes: Value| {
        let mut claims = good.clone();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        sign(Algorithm::RS256, "rsa", claims)
    };
    assert!(check(&authenticator, &with(json!({}))).await.is_ok());
    let now = unix_now();
    let cases = [
        (with(json!({ "exp": now - 3600 })), "expired"),
        (with(json!({ "exp": null })), "no `exp`"),
        (with(json!({ "nbf": now + 3600 })), "not valid yet"),
        (with(json!({ "aud": "someone-else" })), "audience"),
        (with(json!({ "aud": null })), "no `aud`"),
        (with(json!({ "iss": "https://evil.example" })), "issuer"),
        // Signed by a key no JWKS lists, under its own id.
        (
            sign(Algorithm::RS256, "rsa-other", good.clone()),
            "no key with id \"rsa-other\"",
        ),
        ("not.a.token".to_string(), "malformed"),
    ];
    for (token, reason) in cases {
        let error = check(&authenticator, &token).await.unwrap_err();
        assert!(error.contains(reason), "{reason}: {error}");
    }
}

#[tokio::test]
async fn a_forged_kid_or_alg_none_never_verifies() {
    let authenticator = Authenticator::new(&config()).unwrap();
    // Another key's token relabelled with a listed kid.
    let forged = {
        let key = EncodingKey::from_rsa_pem(&fixture("rsa-other.pem")).unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa".into());
        encode(&header, &json!({ "exp": in_an_hour() }), &key).unwrap()
    };
    let error = check(&authenticator, &forged).await.unwrap_err();
    assert!(error.contains("signature does not verify"), "{error}");
    // `alg: none`, with and without a signature.
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(json!({ "alg": "none", "typ": "JWT" })),
        b64(json!({ "sub": "admin", "exp": in_an_hour() }))
    );
    assert!(check(&authenticator, &none).await.is_err());
    // An HS256 token signed with the RSA key's public JWKS text as the secret (the classic
    // algorithm confusion): the RSA key only verifies RS/PS.
    let confused = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa".into());
        encode(
            &header,
            &json!({ "exp": in_an_hour() }),
            &EncodingKey::from_secret(&fixture("rsa.jwks.json")).unwrap(),
        )
        .unwrap()
    };
    assert!(check(&authenticator, &confused).await.is_err());
    // A wrong shared secret.
    let wrong_secret = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("hs256".into());
        encode(
            &header,
            &json!({ "exp": in_an_hour() }),
            &EncodingKey::from_secret(b"guess").unwrap(),
        )
        .unwrap()
    };
    assert!(check(&authenticator, &wrong_secret).await.is_err());
}

#[tokio::test]
async fn exp_can_be_made_optional_and_algorithms_restricted() {
    let lenient = Authenticator::new(&JwtConfig {
        require_exp: false,
        ..config()
    })
    .unwrap();
    assert!(
        check(&lenient, &sign(Algorithm::RS256, "rsa", json!({})))
            .await
            .is_ok()
    );
    let rsa_only = Authenticator::new(&JwtConfig {
        algorithms: vec!["RS256".into()],
        ..config()
    })
    .unwrap();
    let es = sign(Algorithm::ES256, "ec256", json!({ "exp": in_an_hour() }));
    let error = check(&rsa_only, &es).await.unwrap_err();
    assert!(error.contains("not accepted"), "{error}");
}

#[tokio::test]
async fn the_token_comes_from_a_bearer_header_or_a_cookie() {
    let authenticator = Authenticator::new(&JwtConfig {
        cookie: Some("session".into()),
        ..config()
    })
    .unwrap();
    let token = sign(
        Algorithm::RS256,
        "rsa",
        json!({ "sub": "u1", "exp": in_an_hour() }),
    );
    let mut headers = HeaderMap::new();
    assert_eq!(authenticator.authenticate(&headers).await, Ok(None));
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("bearer   {token}")).unwrap(),
    );
    assert!(
        authenticator
            .authenticate(&headers)
            .await
            .unwrap()
            .is_some()
    );
    for value in [token.clone(), format!("Basic {token}"), "Bearer ".into()] {
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        let error = authenticator.authenticate(&headers).await.unwrap_err();
        assert!(
            error.message.contains("Bearer <token>"),
            "{value}: {error:?}"
        );
    }
    let mut cookies = HeaderMap::new();
    cookies.insert(
        header::COOKIE,
        HeaderValue::from_str(&format!("theme=dark; session={token}")).unwrap(),
    );
    let identity = authenticator.authenticate(&cookies).await.unwrap().unwrap();
    assert_eq!(identity.claim_text("sub").as_deref(), Some("u1"));

    let required = Authenticator::new(&JwtConfig {
        require_authentication: true,
        ..config()
    })
    .unwrap();
    assert!(required.authenticate(&HeaderMap::new()).await.is_err());
}

#[tokio::test]
async fn claims_are_forwarded_as_headers_and_verified_tokens_remembered() {
    let authenticator = Authenticator::new(&JwtConfig {
        forward_claims: [
            ("sub".to_string(), "X-User-Id".to_string()),
            ("org.id".to_string(), "x-org".to_string()),
        ]
        .into(),
        ..config()
    })
    .unwrap();
    let token = sign(
        Algorithm::RS256,
        "rsa",
        json!({ "sub": "u1", "org": { "id": 42 }, "exp": in_an_hour() }),
    );
    let identity = check(&authenticator, &token).await.unwrap();
    assert_eq!(
        identity.forwarded_headers,
        vec![
            (
                HeaderName::from_static("x-org"),
                HeaderValue::from_static("42")
            ),
            (
                HeaderName::from_static("x-user-id"),
                HeaderValue::from_static("u1")
            ),
        ]
    );
    let again = check(&authenticator, &token).await.unwrap();
    assert!(
        Arc::ptr_eq(&identity, &again),
        "the second check is a lookup"
    );
}

#[test]
fn settings_that_cannot_work_are_refused_by_key() {
    for (config, key) in [
        (JwtConfig::default(), "jwks"),
        (
            JwtConfig {
                algorithms: vec!["RS257".into()],
                ..config()
            },
            "algorithms",
        ),
        (
            JwtConfig {
                jwks: vec![JwksConfig {
                    url: Some("ftp://keys".into()),
                    file: None,
                    poll_interval_seconds: 60,
                    headers: BTreeMap::new(),
                }],
                ..Default::default()
            },
            "not an http(s) URL",
        ),
    ] {
        let error = Authenticator::new(&config).err().expect("refused");
        assert!(error.contains(key), "{error}");
    }
}
