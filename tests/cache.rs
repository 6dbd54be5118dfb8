//! The hybrid path end to end: the demo services publish a change event per mutation to a real
//! Redis Stream (a `redis-server` this test starts on a free port), two gateway instances share
//! that Redis, and their caches stay fresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::redis_server::RedisServer;
use e2e::{DEMO_SUPERGRAPH, Stack, Subgraphs};
use gateway::cache::{CacheConfig, Mode, PolicyConfig, PrivateConfig, SubgraphPolicyConfig};
use gateway::config::Config;
use serde_json::{Value, json};
use subgraphs::events::{Nowhere, Publisher, RedisPublisher};

const DEBUG: (&str, &str) = ("x-cache-debug", "1");

fn cached(redis: Option<&RedisServer>) -> CacheConfig {
    CacheConfig {
        enabled: true,
        redis_url: redis.map(|r| r.url()),
        disconnected_max_age_ms: 1_000,
        defaults: PolicyConfig {
            mode: Some(Mode::Events),
            ..Default::default()
        },
        private: PrivateConfig {
            header: Some("x-user-id".into()),
            ..Default::default()
        },
        debug_header: Some(DEBUG.0.into()),
        ..Default::default()
    }
}

async fn gateway(subgraphs: &Subgraphs, cache: CacheConfig) -> Stack {
    let config = Config {
        cache,
        ..subgraphs.config()
    };
    Stack::gateway(DEMO_SUPERGRAPH, &config).await
}

fn redis_publisher(redis: &RedisServer) -> Publisher {
    Arc::new(RedisPublisher::start(&redis.url(), "gateway:invalidations".into()).unwrap())
}

/// Runs `query` with the debug header: the data and how many answers came from a cache.
async fn read(stack: &Stack, query: &str) -> (Value, u64, u64) {
    let response = stack
        .request_with(json!({ "query": query }), &[DEBUG])
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let reports = response["extensions"]["cache"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let hits: u64 = reports
        .iter()
        .map(|r| r["l1"].as_u64().unwrap_or(0) + r["l2"].as_u64().unwrap_or(0))
        .sum();
    let fetched: u64 = reports
        .iter()
        .map(|r| r["fetched"].as_u64().unwrap_or(0))
        .sum();
    (response["data"].clone(), hits, fetched)
}

/// Polls until `check` holds on what `query` returns; panics after a few seconds.
async fn eventually(stack: &Stack, query: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (data, _, _) = read(stack, query).await;
        if check(&data) {
            return data;
        }
        assert!(Instant::now() < deadline, "never became true: {data}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const PRODUCT: &str = r#"{ product(upc: "2") { name price shippingEstimate } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_from_a_service_refreshes_both_instances() {
    let redis = RedisServer::start();
    let subgraphs = Subgraphs::start(redis_publisher(&redis)).await;
    let a = gateway(&subgraphs, cached(Some(&redis))).await;
    let b = gateway(&subgraphs, cached(Some(&redis))).await;

    let (first, _, fetched) = read(&a, PRODUCT).await;
    assert!(fetched > 0, "a cold cache fetches");
    let (again, hits, fetched) = read(&a, PRODUCT).await;
    assert_eq!(
        (again.clone(), fetched),
        (first.clone(), 0),
        "warm: nothing fetched"
    );
    assert!(hits > 0);
    let (from_b, hits, _) = read(&b, PRODUCT).await;
    assert_eq!(from_b, first);
    assert!(
        hits > 0,
        "the other instance reads what the first stored in Redis"
    );

    // The products service changes the price (no gateway involved) and publishes an event.
    let changed = subgraphs
        .request(
            "products",
            r#"mutation { updateProductPrice(upc: "2", price: 1234) { price } }"#,
        )
        .await;
    assert_eq!(changed["data"]["updateProductPrice"]["price"], 1234);
    for stack in [&a, &b] {
        let fresh = eventually(stack, PRODUCT, |d| d["product"]["price"] == 1234).await;
        // shippingEstimate is recomputed from the new price (inventory keys on it).
        assert_eq!(fresh["product"]["shippingEstimate"], 0, "free above 1000");
    }
    let (_, hits, fetched) = read(&a, PRODUCT).await;
    assert_eq!(fetched, 0, "cached again after the refresh");
    assert!(hits > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_through_the_gateway_is_read_back_at_once() {
    // No Redis and no events: only the mutation's own answer can refresh the cache.
    let subgraphs = Subgraphs::start(Arc::new(Nowhere)).await;
    let a = gateway(&subgraphs, cached(None)).await;
    let query = r#"{ user(id: "3") { name } }"#;
    let (before, _, _) = read(&a, query).await;
    let (_, hits, _) = read(&a, query).await;
    assert!(hits > 0, "cached");
    let renamed = a
        .query(r#"mutation { updateUserName(id: "3", name: "Rear Admiral Hopper") { name } }"#)
        .await;
    assert_eq!(
        renamed["data"]["updateUserName"]["name"],
        "Rear Admiral Hopper"
    );
    let (after, _, fetched) = read(&a, query).await;
    assert_ne!(before, after);
    assert_eq!(after["user"]["name"], "Rear Admiral Hopper");
    assert!(fetched > 0, "the mutation evicted the cached user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_is_fresh_after_an_entity_is_created() {
    let redis = RedisServer::start();
    let subgraphs = Subgraphs::start(redis_publisher(&redis)).await;
    let a = gateway(&subgraphs, cached(Some(&redis))).await;
    let list = "{ topProducts(first: 100) { upc name } }";
    let (before, _, _) = read(&a, list).await;
    let count = before["topProducts"].as_array().unwrap().len();
    let (_, hits, _) = read(&a, list).await;
    assert!(hits > 0, "the list is cached");
    subgraphs
        .request(
            "products",
            r#"mutation { createProduct(upc: "900", name: "Lava Lamp", price: 30, weight: 2) { upc } }"#,
        )
        .await;
    let after = eventually(&a, list, |d| {
        d["topProducts"].as_array().unwrap().len() == count + 1
    })
    .await;
    assert_eq!(after["topProducts"][count]["name"], "Lava Lamp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_entries_are_per_user_and_need_a_user() {
    let subgraphs = Subgraphs::start(Arc::new(Nowhere)).await;
    let mut cache = cached(None);
    cache.subgraphs.insert(
        "accounts".into(),
        SubgraphPolicyConfig {
            types: [(
                "Query".to_string(),
                PolicyConfig {
                    private: Some(true),
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        },
    );
    let a = gateway(&subgraphs, cache).await;
    let query = "{ me { name email } }";
    let as_user = |user: &'static str| {
        let a = &a;
        async move {
            let response = a
                .request_with(json!({ "query": query }), &[DEBUG, ("x-user-id", user)])
                .await;
            let report = response["extensions"]["cache"][0].clone();
            (response["data"].clone(), report)
        }
    };
    let (data, report) = as_user("alice").await;
    assert_eq!(data["me"]["name"], "Ada Lovelace");
    assert_eq!(report["fetched"], 1);
    let (_, report) = as_user("alice").await;
    assert_eq!(report["l1"], 1, "alice's entry serves alice");
    let (_, report) = as_user("bob").await;
    assert_eq!(report["fetched"], 1, "never alice's entry for bob");
    for _ in 0..2 {
        let (data, _, fetched) = read(&a, query).await;
        assert_eq!(data["me"]["name"], "Ada Lovelace");
        assert_eq!(fetched, 1, "without a user id nothing private is cached");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_and_back_keeps_serving_within_the_bound() {
    let mut redis = RedisServer::start();
    let subgraphs = Subgraphs::start(redis_publisher(&redis)).await;
    let a = gateway(&subgraphs, cached(Some(&redis))).await;
    let connected = |metrics: &str| metrics.contains("gateway_cache_stream_connected 1");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !connected(&a.metrics().await) {
        assert!(Instant::now() < deadline, "the stream connects");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    read(&a, PRODUCT).await;
    let (_, hits, _) = read(&a, PRODUCT).await;
    assert!(hits > 0);

    redis.stop();
    // Queries keep succeeding; once the bound (1 s) has passed, the `events` entries stored
    // before the disconnection are no longer served.
    let (data, _, _) = read(&a, PRODUCT).await;
    assert!(data["product"]["name"].is_string());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(!connected(&a.metrics().await));
    let (data, _, fetched) = read(&a, PRODUCT).await;
    assert!(data["product"]["name"].is_string());
    assert!(
        fetched > 0,
        "older than the bound while disconnected: fetched again"
    );

    // Back with an empty stream: the listener resumes (and, having lost the stream, drops
    // what it cannot prove fresh); events are applied again.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !connected(&a.metrics().await) {
        assert!(Instant::now() < deadline, "the stream reconnects");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    read(&a, PRODUCT).await;
    let (_, hits, fetched) = read(&a, PRODUCT).await;
    assert!(hits > 0 && fetched == 0, "cached again");
    // The subgraph's publisher reconnects too; its next event refreshes the gateway.
    subgraphs
        .request(
            "products",
            r#"mutation { updateProductPrice(upc: "2", price: 77) { price } }"#,
        )
        .await;
    eventually(&a, PRODUCT, |d| d["product"]["price"] == 77).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invalidation_endpoint_needs_the_secret() {
    let subgraphs = Subgraphs::start(Arc::new(Nowhere)).await;
    let mut cache = cached(None);
    cache.invalidation_endpoint = Some(gateway::cache::EndpointConfig {
        secret: "letmein".into(),
    });
    let a = gateway(&subgraphs, cache).await;
    read(&a, PRODUCT).await;
    let (_, hits, _) = read(&a, PRODUCT).await;
    assert!(hits > 0);
    let url = a.gateway_url.replace("/graphql", "/invalidate");
    let body = r#"{"subgraph":"products","type":"Product","keys":[{"upc":"2"}]}"#;
    let refused = a.client().post(&url).body(body).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let wrong = a
        .client()
        .post(&url)
        .bearer_auth("guess")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bad = a
        .client()
        .post(&url)
        .bearer_auth("letmein")
        .body("{\"type\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // Names the supergraph does not have are refused, not silently "invalidated".
    for unknown in [
        r#"{"subgraph":"prodcts"}"#,
        r#"{"subgraph":"products","type":"Prodct"}"#,
        r#"{"subgraph":"accounts","type":"Product"}"#,
    ] {
        let response = a
            .client()
            .post(&url)
            .bearer_auth("letmein")
            .body(unknown)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{unknown}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("has no"),
            "{error}"
        );
    }
    let accepted = a
        .client()
        .post(&url)
        .bearer_auth("letmein")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let (_, _, fetched) = read(&a, PRODUCT).await;
    assert!(fetched > 0, "the product was invalidated");
    let metrics = a.metrics().await;
    assert!(
        metrics
            .contains(r#"gateway_cache_invalidations_total{subgraph="products",type="Product"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"result="hit_l1""#), "{metrics}");
}

/// A merged entity fetch (the reviews of `users` and of `topProducts` go to reviews as one
/// request) is cached entity by entity like any other: warm, nothing is fetched; a review the
/// service adds (an event for its author and its product) shows up under both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_entity_fetch_is_cached_and_refreshed_per_entity() {
    let redis = RedisServer::start();
    let subgraphs = Subgraphs::start(redis_publisher(&redis)).await;
    let a = gateway(&subgraphs, cached(Some(&redis))).await;
    let query = "{ users(first: 2) { id reviews { body } } \
                 topProducts(first: 2) { upc reviews { body } } }";
    let (first, _, fetched) = read(&a, query).await;
    assert!(fetched > 0, "a cold cache fetches");
    let (again, hits, fetched) = read(&a, query).await;
    assert_eq!(
        (again.clone(), fetched),
        (first.clone(), 0),
        "warm: nothing fetched"
    );
    assert!(hits > 0);
    let author = first["users"][0]["id"].as_str().unwrap().to_string();
    let upc = first["topProducts"][0]["upc"].as_str().unwrap().to_string();
    subgraphs
        .request(
            "reviews",
            &format!(
                r#"mutation {{ addReview(productUpc: "{upc}", authorId: "{author}", body: "Merged and fresh.", rating: 5) {{ id }} }}"#
            ),
        )
        .await;
    let fresh = eventually(&a, query, |d| {
        d.to_string().matches("Merged and fresh.").count() == 2
    })
    .await;
    let last = |v: &Value| v["reviews"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!(last(&fresh["users"][0])["body"], "Merged and fresh.");
    assert_eq!(last(&fresh["topProducts"][0])["body"], "Merged and fresh.");
    // The other user and product were not touched: still the cached answers.
    assert_eq!(fresh["users"][1], first["users"][1]);
    assert_eq!(fresh["topProducts"][1], first["topProducts"][1]);
}
