//! Authentication and authorization over real HTTP: the demo subgraphs behind a gateway
//! serving their supergraph as @apollo/composition writes it with security directives
//! (gateway/tests/rover-supergraphs/demo-secured: `User.email @signedIn`, an `@authenticated`
//! imported under another name; `Review.rating @requiresScopes`; `Mutation.updateProductPrice
//! @policy`; `Query.users @private`, an `@inaccessible` imported under another name), and
//! JWTs verified with keys from a JWKS the test serves on loopback (and rotates).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::recording_proxy::RecordingProxy;
use e2e::{Stack, listener};
use gateway::authorization::{OneOrMany, PolicyRule};
use gateway::config::{Config, SubgraphConfig};
use gateway::edge::auth::{JwksConfig, JwtConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const SUPERGRAPH: &str =
    include_str!("../gateway/tests/rover-supergraphs/demo-secured/supergraph.graphql");
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/jwt-keys");
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "gateway";

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with the key `kid` (a PEM under jwt-keys), with `claims` over good defaults
/// (a `null` claim is left out).
fn token(kid: &str, claims: Value) -> String {
    let mut all = json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "1", "exp": now() + 600 });
    for (name, value) in claims.as_object().unwrap() {
        if value.is_null() {
            all.as_object_mut().unwrap().remove(name);
        } else {
            all[name] = value.clone();
        }
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    let key = EncodingKey::from_rsa_pem(&key_file(&format!("{kid}.pem"))).unwrap();
    encode(&header, &all, &key).unwrap()
}

/// A JWKS endpoint on loopback whose document the test can replace, counting fetches.
struct Jwks {
    url: String,
    document: Arc<Mutex<String>>,
    fetches: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Jwks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Jwks {
    async fn serve(file: &str) -> Jwks {
        let document = Arc::new(Mutex::new(String::from_utf8(key_file(file)).unwrap()));
        let fetches = Arc::new(Mutex::new(0));
        let (served, counted) = (document.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                *counted.lock().unwrap() += 1;
                let body = served.lock().unwrap().clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        let (listener, address) = listener().await;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Jwks {
            url: format!("http://{address}/jwks.json"),
            document,
            fetches,
            task,
        }
    }

    /// Serves the keys of both files from now on (a rotation: new key added).
    fn rotate_in(&self, first: &str, second: &str) {
        let keys = |file: &str| -> Vec<Value> {
            let document: Value = serde_json::from_slice(&key_file(file)).unwrap();
            document["keys"].as_array().unwrap().clone()
        };
        let mut all = keys(first);
        all.extend(keys(second));
        *self.document.lock().unwrap() = json!({ "keys": all }).to_string();
    }

    fn fetches(&self) -> usize {
        *self.fetches.lock().unwrap()
    }
}

fn secured(config: &mut Config, jwks: &Jwks) {
    config.authentication.jwt = Some(JwtConfig {
        jwks: vec![JwksConfig {
            url: Some(jwks.url.clone()),
            file: None,
            poll_interval_seconds: 3600,
            headers: Default::default(),
        }],
        issuers: vec![ISSUER.into()],
        audiences: vec![AUDIENCE.into()],
        forward_claims: [("sub".to_string(), "x-user-id".to_string())].into(),
        min_refresh_interval_ms: 100,
        ..Default::default()
    });
    config.authorization.policies.insert(
        "catalogue_admin".into(),
        PolicyRule {
            claims: [("role".to_string(), OneOrMany::One("admin".into()))].into(),
        },
    );
    config.headers.propagate = vec!["x-user-id".into()];
}

async fn post(
    stack: &Stack,
    query: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = stack
        .client()
        .post(&stack.gateway_url)
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

fn codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

/// The demo stack over the secured supergraph, accounts behind a recording proxy.
async fn stack_with_accounts_recorded(
    jwks: &Jwks,
    adjust: impl FnOnce(&mut Config),
) -> (Stack, RecordingProxy) {
    let proxy = RecordingProxy::start().await;
    let stack = Stack::demo_over(SUPERGRAPH, |config| {
        secured(config, jwks);
        let accounts = config.subgraphs["accounts"].url.clone().unwrap();
        proxy.forward_to(&accounts);
        config.subgraphs.insert(
            "accounts".into(),
            SubgraphConfig {
                url: Some(proxy.url.clone()),
                ..Default::default()
            },
        );
        adjust(config);
    })
    .await;
    (stack, proxy)
}

#[tokio::test]
async fn protected_fields_are_null_for_anonymous_requests_and_never_fetched() {
    let jwks = Jwks::serve("rsa.jwks.json").await;
    let (stack, accounts) = stack_with_accounts_recorded(&jwks, |_| {}).await;

    // `email: String!` is protected: the null propagates to `me`, one error says why.
    let (status, _, body) = post(&stack, "{ me { name email } }", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!({ "me": null }), "{body}");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["errors"][0]["message"], "Unauthorized field or type");
    assert_eq!(body["errors"][0]["path"], json!(["me", "email"]));
    assert_eq!(codes(&body), ["UNAUTHORIZED_FIELD_OR_TYPE"]);
    let asked = accounts.recorded();
    assert!(!asked.is_empty(), "me was fetched");
    assert!(
        asked.iter().all(|r| !r.body.contains("email")),
        "accounts was asked for email: {asked:?}"
    );

    // Under a list, each item's field is null at its own path.
    let (_, _, body) = post(
        &stack,
        r#"{ product(upc: "1") { name reviews { body rating } } }"#,
        None,
    )
    .await;
    assert_eq!(body["data"], json!({ "product": null }), "{body}");
    let paths: Vec<&Value> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["path"])
        .collect();
    assert!(!paths.is_empty());
    for (i, path) in paths.iter().enumerate() {
        assert_eq!(**path, json!(["product", "reviews", i, "rating"]), "{body}");
    }

    // With a token, the same fields are fetched and answered.
    let (status, _, body) = post(
        &stack,
        "{ me { name email } }",
        Some(&token("rsa", json!({}))),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "data": { "me": { "name": "Ada Lovelace", "email": "ada@example.com" } } })
    );
    let (_, _, body) = post(
        &stack,
        r#"{ product(upc: "1") { reviews { rating } } }"#,
        Some(&token("rsa", json!({ "scope": "profile reviews:read" }))),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(
        body["data"]["product"]["reviews"][0]["rating"].is_number(),
        "{body}"
    );
}

#[tokio::test]
async fn a_mutation_under_a_policy_runs_only_for_those_who_meet_it() {
    let jwks = Jwks::serve("rsa.jwks.json").await;
    let (stack, _accounts) = stack_with_accounts_recorded(&jwks, |_| {}).await;
    let price = || async {
        let (_, _, body) = post(&stack, r#"{ product(upc: "2") { price } }"#, None).await;
        body["data"]["product"]["price"].clone()
    };
    let before = price().await;
    let mutation = r#"mutation { updateProductPrice(upc: "2", price: 4242) { price } }"#;
    for token in [None, Some(token("rsa", json!({ "role": "viewer" })))] {
        let (_, _, body) = post(&stack, mutation, token.as_deref()).await;
        assert_eq!(
            body["data"],
            json!({ "updateProductPrice": null }),
            "{body}"
        );
        assert_eq!(codes(&body), ["UNAUTHORIZED_FIELD_OR_TYPE"]);
        assert_eq!(price().await, before, "the mutation never reached products");
    }
    let (_, _, body) = post(
        &stack,
        mutation,
        Some(&token("rsa", json!({ "role": "admin" }))),
    )
    .await;
    assert_eq!(
        body,
        json!({ "data": { "updateProductPrice": { "price": 4242 } } })
    );
    assert_eq!(price().await, json!(4242));
}

#[tokio::test]
async fn reject_unauthorized_refuses_the_whole_request() {
    let jwks = Jwks::serve("rsa.jwks.json").await;
    let (stack, accounts) = stack_with_accounts_recorded(&jwks, |config| {
        config.authorization.reject_unauthorized = true;
    })
    .await;
    let (status, _, body) = post(&stack, "{ me { name email } }", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(codes(&body), ["UNAUTHORIZED_FIELD_OR_TYPE"]);
    assert_eq!(body["errors"][0]["extensions"]["affectedPath"], "me.email");
    assert!(accounts.recorded().is_empty(), "nothing was fetched");
    let (status, _, _) = post(&stack, "{ me { name } }", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_inaccessible_imported_under_another_name_hides_its_elements() {
    let jwks = Jwks::serve("rsa.jwks.json").await;
    let (stack, _accounts) = stack_with_accounts_recorded(&jwks, |_| {}).await;
    let (_, _, body) = post(&stack, "{ users { id } }", None).await;
    assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    let (_, _, body) = post(
        &stack,
        r#"{ __type(name: "Query") { fields { name } } __schema { directives { name } types { name } } }"#,
        None,
    )
    .await;
    let fields: Vec<&str> = body["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"me") && !fields.contains(&"users"),
        "{fields:?}"
    );
    let listed = body["data"]["__schema"].to_string();
    for hidden in [
        "private",
        "signedIn",
        "requiresScopes",
        "policy__Policy",
        "join__",
    ] {
        assert!(
            !listed.contains(hidden),
            "introspection shows {hidden}: {listed}"
        );
    }
}

#[tokio::test]
async fn tokens_that_do_not_verify_get_401() {
    let jwks = Jwks::serve("rsa.jwks.json").await;
    let (stack, accounts) = stack_with_accounts_recorded(&jwks, |_| {}).await;
    let forged_kid = {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa".into());
        let key = EncodingKey::from_rsa_pem(&key_file("rsa-other.pem")).unwrap();
        encode(
            &header,
            &json!({ "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600 }),
            &key,
        )
        .unwrap()
    };
    let alg_none = {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.",
            b64(json!({ "alg": "none", "typ": "JWT", "kid": "rsa" })),
            b64(json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "1", "exp": now() + 600 }))
        )
    };
    for (name, bad) in [
        ("expired", token("rsa", json!({ "exp": now() - 3600 }))),
        ("no exp", token("rsa", json!({ "exp": null }))),
        ("wrong aud", token("rsa", json!({ "aud": "someone-else" }))),
        (
            "wrong iss",
            token("rsa", json!({ "iss": "https://evil.test" })),
        ),
        (
            "not yet valid",
            token("rsa", json!({ "nbf": now() + 3600 })),
        ),
        ("signed by another key", forged_kid),
        ("alg none", alg_none),
        ("garbage", "not-a-jwt".into()),
    ] {
        let (status, headers, body) = post(&stack, "{ me { name } }", Some(&bad)).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{name}");
        assert!(body.get("data").is_none(), "{name}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    // Without the Bearer scheme.
    let response = stack
        .client()
        .post(&stack.gateway_url)
        .header("authorization", token("rsa", json!({})))
        .json(&json!({ "query": "{ me { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        accounts.recorded().is_empty(),
        "no refused request reached a subgraph"
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_when_a_token_names_it() {
    let jwks = Jwks::serve("rsa.jwks.json").await;
    let (stack, _accounts) = stack_with_accounts_recorded(&jwks, |_| {}).await;
    let fetched_at_start = jwks.fetches();
    assert!(fetched_at_start >= 1, "the JWKS was fetched at start");
    let rotated = token("rsa-rotated", json!({}));
    // Not published yet: refused, after one attempt to fetch it.
    let (status, _, _) = post(&stack, "{ me { name } }", Some(&rotated)).await;
    assert_eq!(status, 401);
    // The issuer publishes the new key: the next token naming it makes the gateway fetch it.
    jwks.rotate_in("rsa.jwks.json", "rsa-rotated.jwks.json");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (status, _, body) = post(&stack, "{ me { name } }", Some(&rotated)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["name"], "Ada Lovelace", "{body}");
    // The old key still verifies.
    let (status, _, _) = post(&stack, "{ me { name } }", Some(&token("rsa", json!({})))).await;
    assert_eq!(status, 200);
    // Unknown key ids cannot make the gateway fetch the JWKS on every request: at most once
    // per min_refresh_interval_ms (100 ms here).
    let fetches = jwks.fetches();
    let started = std::time::Instant::now();
    for i in 0..20 {
        let made_up = {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(format!("made-up-{i}"));
            let key = EncodingKey::from_rsa_pem(&key_file("rsa.pem")).unwrap();
            encode(&header, &json!({ "exp": now() + 600 }), &key).unwrap()
        };
        let (status, _, _) = post(&stack, "{ me { name } }", Some(&made_up)).await;
        assert_eq!(status, 401);
    }
    let allowed = started.elapsed().as_millis() as usize / 100 + 1;
    let made = jwks.fetches() - fetches;
    assert!(
        made <= allowed,
        "{made} fetches for 20 requests, {allowed} allowed"
    );
}

#[tokio::test]
async fn the_subject_is_forwarded_to_subgraphs_and_a_client_cannot_forge_it() {
    let jwks = Jwks::serve("rsa.jwks.json").await;
    let (stack, accounts) = stack_with_accounts_recorded(&jwks, |_| {}).await;
    let response = stack
        .client()
        .post(&stack.gateway_url)
        .header(
            "authorization",
            format!("Bearer {}", token("rsa", json!({ "sub": "42" }))),
        )
        .header("x-user-id", "forged")
        .json(&json!({ "query": "{ me { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let anonymous = stack
        .client()
        .post(&stack.gateway_url)
        .header("x-user-id", "forged")
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 200);
    let sent: Vec<Vec<String>> = accounts
        .recorded()
        .iter()
        .map(|r| {
            r.headers
                .get_all("x-user-id")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(sent, [vec!["42".to_string()], vec![]]);
}

#[tokio::test]
async fn a_header_rule_inserts_a_verified_claim_for_one_subgraph() {
    let jwks = Jwks::serve("rsa.jwks.json").await;
    let (stack, accounts) = stack_with_accounts_recorded(&jwks, |config| {
        let rules = Config::parse(
            r#"
headers:
  subgraphs:
    accounts:
      request:
        - propagate: { named: x-org }
        - insert: { name: x-org, claim: org.id }
"#,
        )
        .unwrap();
        config.headers.subgraphs = rules.headers.subgraphs;
    })
    .await;
    let send = |token: Option<String>| {
        let mut request = stack
            .client()
            .post(&stack.gateway_url)
            .header("x-org", "forged")
            .json(&json!({ "query": "{ me { name } }" }));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.send()
    };
    let with_claim = token("rsa", json!({ "sub": "42", "org": { "id": "o7" } }));
    assert_eq!(send(Some(with_claim)).await.unwrap().status(), 200);
    let without_claim = token("rsa", json!({ "sub": "42" }));
    assert_eq!(send(Some(without_claim)).await.unwrap().status(), 200);
    let sent: Vec<Vec<String>> = accounts
        .recorded()
        .iter()
        .map(|r| {
            r.headers
                .get_all("x-org")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect()
        })
        .collect();
    // The claim replaces what the client sent; with no such claim, nothing is sent.
    assert_eq!(sent, [vec!["o7".to_string()], vec![]]);
}
