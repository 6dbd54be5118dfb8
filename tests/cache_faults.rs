//! The hybrid path under faults: an `events` entry is never served staler than the documented
//! bound (docs/cache.md, "When Redis goes away"), whatever happens to Redis or the link to it.
//! Each test is one way stale data was once served far past the bound:
//!
//! - a silent partition (the link to Redis open but passing nothing, through a TCP proxy the
//!   test black-holes) was never noticed;
//! - events lost across a Redis restart went undetected by an instance that had seen none;
//! - after the stream was trimmed past an instance's last event, a fresh instance served the
//!   old value from Redis (L2);
//! - forwarded headers were not part of the cache key.
//!
//! Plus the bounds on what Redis holds: answers that found nothing are not cached unless
//! configured, entries per subgraph are capped, and the debug header is off unless configured;
//! and the stale windows over a subgraph made slow, then failing: stale-while-revalidate answers
//! at once while the refresh hangs, stale-if-error stands in for a subgraph that stopped
//! answering (and nothing stale is served without the windows).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use e2e::redis_server::RedisServer;
use e2e::tcp_proxy::TcpProxy;
use e2e::{DEMO_SUPERGRAPH, Stack, Subgraphs, listener};
use gateway::cache::{CacheConfig, Mode, PolicyConfig, SubgraphPolicyConfig};
use gateway::config::{Config, SubgraphConfig};
use serde_json::{Value, json};
use subgraphs::events::{Publisher, RedisPublisher};

const DEBUG: (&str, &str) = ("x-cache-debug", "1");
const STREAM: &str = "gateway:invalidations";
const PRODUCT: &str = r#"{ product(upc: "2") { name price } }"#;
const LIVENESS_MS: u64 = 600;
const DISCONNECTED_MAX_AGE_MS: u64 = 1_000;

fn events_cache(redis_url: String) -> CacheConfig {
    CacheConfig {
        enabled: true,
        redis_url: Some(redis_url),
        disconnected_max_age_ms: DISCONNECTED_MAX_AGE_MS,
        stream_liveness_ms: LIVENESS_MS,
        defaults: PolicyConfig {
            mode: Some(Mode::Events),
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

/// Services publishing their change events straight to `redis`, not through any proxy.
async fn services(redis: &RedisServer) -> Subgraphs {
    let publisher: Publisher =
        Arc::new(RedisPublisher::start(&redis.url(), STREAM.into()).unwrap());
    Subgraphs::start(publisher).await
}

/// The price `stack` answers, and how many answers came from a cache.
async fn price(stack: &Stack) -> (Value, u64) {
    let response = stack
        .request_with(json!({ "query": PRODUCT }), &[DEBUG])
        .await;
    let hits = response["extensions"]["cache"]
        .as_array()
        .map(|reports| {
            reports
                .iter()
                .map(|r| r["l1"].as_u64().unwrap_or(0) + r["l2"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    (response["data"]["product"]["price"].clone(), hits)
}

async fn set_price(subgraphs: &Subgraphs, price: u64) {
    let changed = subgraphs
        .request(
            "products",
            &format!(r#"mutation {{ updateProductPrice(upc: "2", price: {price}) {{ price }} }}"#),
        )
        .await;
    assert_eq!(changed["data"]["updateProductPrice"]["price"], price);
}

/// Polls `stack` until it answers `expected`; the time it took, or a panic past `limit`.
async fn fresh_within(stack: &Stack, expected: u64, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (price, _) = price(stack).await;
        if price == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still served {price} (stale) after {:?}; expected {expected} within {limit:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn connected(stack: &Stack) -> bool {
    stack
        .metrics()
        .await
        .contains("gateway_cache_stream_connected 1")
}

async fn until(what: &str, check: impl AsyncFn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A warm `events` cache: the second read is answered from it.
async fn warm(stack: &Stack) -> Value {
    let (first, _) = price(stack).await;
    let (again, hits) = price(stack).await;
    assert_eq!(again, first);
    assert!(hits > 0, "cached");
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_partition_is_noticed_and_bounds_staleness() {
    let redis = RedisServer::start();
    let proxy = TcpProxy::start(redis.address()).await;
    let subgraphs = services(&redis).await;
    let a = gateway(&subgraphs, events_cache(proxy.redis_url())).await;
    until("the stream is connected", async || connected(&a).await).await;
    warm(&a).await;

    // The link to Redis stays open but passes nothing; the service's event goes straight to
    // Redis, so the gateway cannot hear of it.
    proxy.blackhole();
    let partitioned = Instant::now();
    set_price(&subgraphs, 777).await;
    // The bound: the partition is noticed within the liveness interval, and entries older
    // than disconnected_max_age_ms (from when Redis was last heard) are not served.
    let bound = Duration::from_millis(LIVENESS_MS + DISCONNECTED_MAX_AGE_MS + 700);
    fresh_within(&a, 777, bound).await;
    assert!(
        partitioned.elapsed() < bound + Duration::from_millis(300),
        "{:?}",
        partitioned.elapsed()
    );
    assert!(!connected(&a).await, "the partition shows on /metrics");

    proxy.heal();
    until("the stream is connected again", async || {
        connected(&a).await
    })
    .await;
    set_price(&subgraphs, 778).await;
    fresh_within(&a, 778, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_lost_across_a_redis_restart_are_a_gap_even_for_an_instance_that_saw_none() {
    let mut redis = RedisServer::start();
    let subgraphs = services(&redis).await;
    let a = gateway(&subgraphs, events_cache(redis.url())).await;
    until("the stream is connected", async || connected(&a).await).await;
    warm(&a).await;

    // Redis dies; the price changes meanwhile and its event cannot be published; Redis comes
    // back empty (no stream, no epoch).
    redis.stop();
    set_price(&subgraphs, 555).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    redis.restart();
    until("the stream is connected again", async || {
        connected(&a).await
    })
    .await;
    // Reconnected, the instance finds a new epoch: nothing it holds can be proven fresh.
    fresh_within(&a, 555, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_stream_is_trimmed_past_an_instance_no_instance_serves_the_old_redis_entry() {
    let redis = RedisServer::start();
    let proxy = TcpProxy::start(redis.address()).await;
    let subgraphs = services(&redis).await;
    let a = gateway(&subgraphs, events_cache(proxy.redis_url())).await;
    until("the stream is connected", async || connected(&a).await).await;
    let old = warm(&a).await;
    let mut direct = redis.connection();
    let stored: Vec<String> = redis::cmd("KEYS").arg("gw:e:*").query(&mut direct).unwrap();
    assert!(!stored.is_empty(), "the answer is in Redis too");

    let generation = || {
        redis::cmd("GET")
            .arg(format!("{STREAM}:generation"))
            .query::<Option<u64>>(&mut redis.connection())
            .unwrap()
            .unwrap_or(0)
    };
    // (The evictors' consumer group, created when A started, fenced once already.)
    let before = generation();

    // A is cut off (and notices); the price changes; the stream is trimmed before anyone read
    // the event (A was the only reader, and its evictor could not delete the Redis entry).
    proxy.blackhole();
    until("A notices", async || !connected(&a).await).await;
    set_price(&subgraphs, 999).await;
    until("the event is in the stream", async || {
        redis::cmd("XLEN")
            .arg(STREAM)
            .query::<u64>(&mut redis.connection())
            .unwrap()
            > 0
    })
    .await;
    let _: u64 = redis::cmd("XTRIM")
        .arg(STREAM)
        .arg("MAXLEN")
        .arg(0)
        .query(&mut direct)
        .unwrap();
    proxy.heal();
    // A reconnects, finds entries it never read trimmed away, and fences the Redis entries.
    until("the shared entries are fenced", async || {
        generation() > before
    })
    .await;
    // A fresh instance, reading the same Redis directly, must not serve them.
    let b = gateway(&subgraphs, events_cache(redis.url())).await;
    let (from_b, _) = price(&b).await;
    assert_eq!(
        from_b, 999,
        "B served the fenced entry ({old} before the change)"
    );
    fresh_within(&a, 999, Duration::from_secs(2)).await;
}

/// A stand-in for accounts whose answer depends on a forwarded header.
async fn greeting_accounts() -> String {
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(|headers: HeaderMap| async move {
            let language = headers
                .get("accept-language")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_else(|| "none".into());
            axum::Json(json!({ "data": { "me": { "name": format!("name-{language}") } } }))
        }),
    );
    let (listener, address) = listener().await;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/graphql")
}

#[tokio::test]
async fn forwarded_headers_are_part_of_the_cache_key() {
    let accounts = greeting_accounts().await;
    let stack = Stack::demo_with(|config| {
        config.headers.propagate = vec!["accept-language".into()];
        config.subgraphs.insert(
            "accounts".into(),
            SubgraphConfig {
                url: Some(accounts),
                ..Default::default()
            },
        );
        config.cache = CacheConfig {
            enabled: true,
            defaults: PolicyConfig {
                mode: Some(Mode::Ttl),
                ttl_seconds: Some(60),
                ..Default::default()
            },
            debug_header: Some(DEBUG.0.into()),
            ..Default::default()
        };
    })
    .await;
    let name = |language: Option<&'static str>| {
        let stack = &stack;
        async move {
            let mut headers = vec![DEBUG];
            if let Some(language) = language {
                headers.push(("accept-language", language));
            }
            let response = stack
                .request_with(json!({ "query": "{ me { name } }" }), &headers)
                .await;
            response["data"]["me"]["name"].as_str().unwrap().to_string()
        }
    };
    for _ in 0..2 {
        assert_eq!(name(Some("fr")).await, "name-fr");
        assert_eq!(name(Some("en")).await, "name-en");
        assert_eq!(name(None).await, "name-none");
    }
}

#[tokio::test]
async fn answers_that_found_nothing_are_not_cached_unless_configured() {
    let missing = r#"{ product(upc: "no-such-upc") { name } }"#;
    for (cache_nulls, expected_hits) in [(false, 0), (true, 1)] {
        let stack = Stack::demo_with(|config| {
            config.cache = CacheConfig {
                enabled: true,
                defaults: PolicyConfig {
                    mode: Some(Mode::Ttl),
                    cache_nulls: Some(cache_nulls),
                    ..Default::default()
                },
                debug_header: Some(DEBUG.0.into()),
                ..Default::default()
            };
        })
        .await;
        let mut hits = 0;
        for _ in 0..2 {
            let response = stack
                .request_with(json!({ "query": missing }), &[DEBUG])
                .await;
            assert_eq!(response["data"], json!({ "product": null }));
            hits = response["extensions"]["cache"][0]["l1"]
                .as_u64()
                .unwrap_or(0);
        }
        assert_eq!(hits, expected_hits, "cache_nulls: {cache_nulls}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_holds_at_most_the_cap_of_entries_per_subgraph() {
    let redis = RedisServer::start();
    let subgraphs = services(&redis).await;
    let mut cache = events_cache(redis.url());
    cache.l2_max_entries_per_subgraph = 3;
    cache.subgraphs.insert(
        "products".into(),
        SubgraphPolicyConfig {
            policy: PolicyConfig {
                mode: Some(Mode::Ttl),
                ttl_seconds: Some(600),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let a = gateway(&subgraphs, cache).await;
    for upc in 1..=5 {
        let response = a
            .query(&format!(r#"{{ product(upc: "{upc}") {{ name }} }}"#))
            .await;
        assert!(
            response["data"]["product"]["name"].is_string(),
            "{response}"
        );
    }
    let mut direct = redis.connection();
    let indexed: u64 = redis::cmd("ZCARD")
        .arg("gw:i:products")
        .query(&mut direct)
        .unwrap();
    assert_eq!(indexed, 3);
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg("gw:i:products")
        .arg(0)
        .arg(-1)
        .query(&mut direct)
        .unwrap();
    let stored: Vec<String> = redis::cmd("KEYS").arg("gw:e:*").query(&mut direct).unwrap();
    assert!(
        members.iter().all(|key| stored.contains(key)),
        "{members:?} {stored:?}"
    );
    assert!(stored.len() <= 3, "{} entries in Redis", stored.len());
}

#[tokio::test]
async fn the_debug_header_is_off_unless_configured() {
    let stack = Stack::demo_with(|config| {
        config.cache = CacheConfig {
            enabled: true,
            defaults: PolicyConfig {
                mode: Some(Mode::Ttl),
                ..Default::default()
            },
            ..Default::default()
        };
    })
    .await;
    let response = stack
        .request_with(json!({ "query": PRODUCT }), &[DEBUG])
        .await;
    assert!(response["data"]["product"]["name"].is_string());
    assert!(response.get("extensions").is_none(), "{response}");
}

/// How many stale answers `stack` served (stale-while-revalidate, stale-if-error).
async fn stale_served(stack: &Stack) -> u64 {
    stack
        .metrics()
        .await
        .lines()
        .filter(|line| line.starts_with("gateway_cache_requests_total") && line.contains("stale"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Redis, the services, and a proxy in front of the products service.
async fn products_behind_a_proxy() -> (RedisServer, Subgraphs, TcpProxy) {
    let redis = RedisServer::start();
    let subgraphs = services(&redis).await;
    let products = subgraphs.urls["products"]
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .parse()
        .expect("a products address");
    let proxy = TcpProxy::start(products).await;
    (redis, subgraphs, proxy)
}

/// A gateway reaching the products service through `proxy` (timing out after 300 ms), with
/// `events` entries kept past their freshness as `stale` says.
async fn gateway_through(
    subgraphs: &Subgraphs,
    proxy: &TcpProxy,
    redis: &RedisServer,
    stale: PolicyConfig,
) -> Stack {
    gateway_timing_out(subgraphs, proxy, redis, stale, 300).await
}

async fn gateway_timing_out(
    subgraphs: &Subgraphs,
    proxy: &TcpProxy,
    redis: &RedisServer,
    stale: PolicyConfig,
    timeout_ms: u64,
) -> Stack {
    let mut config = subgraphs.config();
    config.subgraphs.insert(
        "products".into(),
        SubgraphConfig {
            url: Some(format!("http://{}/graphql", proxy.address)),
            timeout_ms: Some(timeout_ms),
            ..Default::default()
        },
    );
    config.cache = CacheConfig {
        defaults: PolicyConfig {
            mode: Some(Mode::Events),
            ..stale
        },
        ..events_cache(redis.url())
    };
    Stack::gateway(DEMO_SUPERGRAPH, &config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subgraph_that_stops_answering_is_answered_for_from_entries_within_stale_if_error() {
    let (redis, subgraphs, proxy) = products_behind_a_proxy().await;
    let stale = PolicyConfig {
        stale_if_error_seconds: Some(60),
        ..Default::default()
    };
    let stack = gateway_through(&subgraphs, &proxy, &redis, stale).await;
    until("the stream is connected", async || connected(&stack).await).await;
    let before = warm(&stack).await;

    // The products service stops answering the gateway; its change event still arrives.
    proxy.blackhole();
    set_price(&subgraphs, 555).await;
    until("the stale entry is served", async || {
        let response = stack
            .request_with(json!({ "query": PRODUCT }), &[DEBUG])
            .await;
        assert_eq!(response["data"]["product"]["price"], before, "{response}");
        assert!(response.get("errors").is_none(), "{response}");
        stale_served(&stack).await > 0
    })
    .await;

    proxy.heal();
    fresh_within(&stack, 555, Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_stale_if_error_a_subgraph_that_stops_answering_is_an_error() {
    let (redis, subgraphs, proxy) = products_behind_a_proxy().await;
    let stack = gateway_through(&subgraphs, &proxy, &redis, PolicyConfig::default()).await;
    until("the stream is connected", async || connected(&stack).await).await;
    warm(&stack).await;
    proxy.blackhole();
    set_price(&subgraphs, 556).await;
    until("the invalidated entry is not served", async || {
        let response = stack.request(json!({ "query": PRODUCT })).await;
        response.get("errors").is_some()
    })
    .await;
    assert_eq!(stale_served(&stack).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidated_root_answer_is_served_while_it_is_refreshed() {
    let (redis, subgraphs, proxy) = products_behind_a_proxy().await;
    let stale = PolicyConfig {
        stale_while_revalidate_seconds: Some(60),
        ..Default::default()
    };
    let stack = gateway_through(&subgraphs, &proxy, &redis, stale).await;
    until("the stream is connected", async || connected(&stack).await).await;
    let before = warm(&stack).await;
    set_price(&subgraphs, 557).await;
    let seen = std::sync::Mutex::new(Vec::new());
    until("the refreshed answer is served", async || {
        let (price, _) = price(&stack).await;
        seen.lock().unwrap().push(price.clone());
        price == 557
    })
    .await;
    let seen = seen.into_inner().unwrap();
    assert!(
        seen.iter().all(|p| *p == before || *p == 557),
        "only the old or the new price: {seen:?}"
    );
    assert!(
        stale_served(&stack).await > 0,
        "the stale answer was served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_answer_is_served_at_once_while_a_hung_subgraph_is_asked_in_the_background() {
    let (redis, subgraphs, proxy) = products_behind_a_proxy().await;
    let stale = PolicyConfig {
        stale_while_revalidate_seconds: Some(60),
        ..Default::default()
    };
    // The subgraph's timeout is far longer than any read may take.
    let stack = gateway_timing_out(&subgraphs, &proxy, &redis, stale, 5_000).await;
    until("the stream is connected", async || connected(&stack).await).await;
    let before = warm(&stack).await;

    // The products service hangs (slow, then failing: every refresh times out after 5 s).
    proxy.blackhole();
    set_price(&subgraphs, 558).await;
    until("the stale answer is served", async || {
        let started = Instant::now();
        let (price, _) = price(&stack).await;
        assert_eq!(price, before, "the stale answer, not an error");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answered without waiting for the hung subgraph: {:?}",
            started.elapsed()
        );
        stale_served(&stack).await > 0
    })
    .await;

    proxy.heal();
    fresh_within(&stack, 558, Duration::from_secs(10)).await;
}
