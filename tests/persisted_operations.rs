//! Persisted operations over real HTTP: Apollo's APQ two-request flow (POST and GET), a hash
//! registered through one gateway instance answered by a second one sharing a test Redis, and
//! trusted documents from a manifest in safelist mode.

use std::time::{Duration, Instant};

use e2e::Stack;
use e2e::redis_server::RedisServer;
use gateway::edge::persisted::{Mode, PersistedDocumentsConfig};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const QUERY: &str = "query TopNames { topProducts(first: 2) { name } }";
const ANSWER: &str = r#"{"data":{"topProducts":[{"name":"Ergonomic Office Chair"},{"name":"Mechanical Keyboard"}]}}"#;

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted_query(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(stack: &Stack, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = stack
        .client()
        .post(&stack.gateway_url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn apq_misses_then_registers_then_runs_by_hash_over_post_and_get() {
    let stack = Stack::demo().await;
    let hash = sha256(QUERY);

    let (status, headers, body) =
        post(&stack, json!({ "extensions": persisted_query(&hash) })).await;
    assert_eq!(
        status, 200,
        "Apollo's clients expect the miss as a 200: {body}"
    );
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        headers["cache-control"],
        "private, no-cache, must-revalidate"
    );

    // A registration whose text is not the hash's is refused, and registers nothing.
    let (status, _, body) = post(
        &stack,
        json!({ "query": "{ me { id } }", "extensions": persisted_query(&hash) }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (400, "PERSISTED_QUERY_HASH_MISMATCH")
    );

    let (status, _, body) = post(
        &stack,
        json!({ "query": QUERY, "extensions": persisted_query(&hash) }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body.to_string(), ANSWER);

    let (status, _, body) = post(&stack, json!({ "extensions": persisted_query(&hash) })).await;
    assert_eq!(status, 200);
    assert_eq!(body.to_string(), ANSWER);

    // GET with the hash only: a URL a CDN can cache (with the CSRF preflight header).
    let response = stack
        .client()
        .get(&stack.gateway_url)
        .query(&[
            ("extensions", persisted_query(&hash).to_string()),
            ("operationName", "TopNames".into()),
        ])
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), ANSWER);
}

#[tokio::test]
async fn a_hash_registered_on_one_instance_runs_on_another_sharing_redis() {
    let redis = RedisServer::start();
    let with_redis = |config: &mut gateway::config::Config| {
        config.cache.redis_url = Some(redis.url());
    };
    let first = Stack::demo_with(with_redis).await;
    let second = Stack::demo_with(with_redis).await;
    let hash = sha256(QUERY);

    let (_, _, body) = post(&second, json!({ "extensions": persisted_query(&hash) })).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");

    // The instances connect to Redis in the background: register until the second one
    // answers (each registration writes to Redis again).
    let started = Instant::now();
    loop {
        let (_, _, body) = post(
            &first,
            json!({ "query": QUERY, "extensions": persisted_query(&hash) }),
        )
        .await;
        assert_eq!(body.to_string(), ANSWER);
        let (status, _, body) =
            post(&second, json!({ "extensions": persisted_query(&hash) })).await;
        if code(&body) != "PERSISTED_QUERY_NOT_FOUND" {
            assert_eq!(status, 200);
            assert_eq!(
                body.to_string(),
                ANSWER,
                "the second instance ran the query"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the second instance never saw the registration"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let stored: Option<String> = redis::cmd("GET")
        .arg(format!("gw:apq:{hash}"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(stored.as_deref(), Some(QUERY));
}

#[tokio::test]
async fn a_safelist_runs_the_manifests_operations_only() {
    let manifest = std::env::temp_dir().join(format!("safelist-{}.json", std::process::id()));
    std::fs::write(
        &manifest,
        json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                { "id": "top-names", "body": QUERY, "name": "TopNames", "type": "query" }
            ]
        })
        .to_string(),
    )
    .unwrap();
    let stack = Stack::demo_with(|config| {
        config.apq.enabled = false;
        config.persisted_documents = PersistedDocumentsConfig {
            manifest: Some(manifest.clone()),
            mode: Mode::Safelist,
            require_id: false,
        };
    })
    .await;

    let (status, _, body) = post(&stack, json!({ "documentId": "top-names" })).await;
    assert_eq!(status, 200);
    assert_eq!(body.to_string(), ANSWER);
    let (_, _, body) = post(
        &stack,
        json!({ "extensions": persisted_query("top-names") }),
    )
    .await;
    assert_eq!(body.to_string(), ANSWER);
    // The listed text, spaced differently, runs too.
    let (_, _, body) = post(
        &stack,
        json!({ "query": "query TopNames {\n  topProducts(first: 2) { name }\n}" }),
    )
    .await;
    assert_eq!(body.to_string(), ANSWER);

    let (status, _, body) = post(&stack, json!({ "query": "{ me { id } }" })).await;
    assert_eq!(
        (status, code(&body)),
        (403, "QUERY_NOT_IN_SAFELIST"),
        "{body}"
    );
    let (status, _, body) = post(&stack, json!({ "documentId": "unknown" })).await;
    assert_eq!((status, code(&body)), (404, "PERSISTED_QUERY_NOT_IN_LIST"));
    let (status, _, body) = post(
        &stack,
        json!({ "query": QUERY, "extensions": persisted_query(&sha256(QUERY)) }),
    )
    .await;
    assert_eq!(status, 400, "no APQ registration in safelist mode: {body}");

    let response = stack
        .client()
        .get(&stack.gateway_url)
        .query(&[("documentId", "top-names")])
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), ANSWER);
    let _ = std::fs::remove_file(manifest);
}
