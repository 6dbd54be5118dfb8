//! Live queries end to end: the demo subgraphs (whose own change events go nowhere, so that
//! every event here is one the test or a gateway publishes), a real Redis (a `redis-server`
//! on a free port) whose change-event stream two gateway instances tail, live queries on
//! instance B over SSE and over WebSocket (`graphql-transport-ws`), and the events that must
//! (and must not) push a new result to them: an event XADDed to the stream by hand, a
//! mutation through instance A, an unrelated entity changing, a burst.

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::recording_proxy::RecordingProxy;
use e2e::redis_server::RedisServer;
use e2e::{DEMO_SUPERGRAPH, Stack, Subgraphs};
use futures::{SinkExt, StreamExt};
use gateway::cache::{CacheConfig, Mode, PolicyConfig};
use gateway::config::{Config, SubgraphConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const STREAM: &str = "gateway:invalidations";
const WAIT: Duration = Duration::from_secs(10);
/// How long a live query is given to (wrongly) push a result.
const QUIET: Duration = Duration::from_millis(800);

fn config(subgraphs: &Subgraphs, redis: &RedisServer, throttle_ms: u64) -> Config {
    let mut config = Config {
        cache: CacheConfig {
            enabled: true,
            redis_url: Some(redis.url()),
            defaults: PolicyConfig {
                mode: Some(Mode::Events),
                ..Default::default()
            },
            ..Default::default()
        },
        ..subgraphs.config()
    };
    config.subscriptions.live_throttle_ms = throttle_ms;
    config
}

/// Waits until `stack` tails the event stream (an event published before would be missed).
async fn connected(stack: &Stack) {
    let deadline = Instant::now() + WAIT;
    while !stack
        .metrics()
        .await
        .contains("gateway_cache_stream_connected 1")
    {
        assert!(Instant::now() < deadline, "the stream never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes a change event as any service would: one XADD.
fn xadd(redis: &RedisServer, event: Value) {
    let mut connection = redis.connection();
    let _: String = redis::cmd("XADD")
        .arg(STREAM)
        .arg("*")
        .arg("event")
        .arg(event.to_string())
        .query(&mut connection)
        .unwrap();
}

fn product_event(upc: &str) -> Value {
    json!({ "subgraph": "products", "type": "Product", "keys": [{ "upc": upc }] })
}

/// Changes a price in the products service only: no event is published.
async fn set_price_quietly(subgraphs: &Subgraphs, upc: &str, price: i64) {
    let answer = subgraphs
        .request(
            "products",
            &format!(
                r#"mutation {{ updateProductPrice(upc: "{upc}", price: {price}) {{ price }} }}"#
            ),
        )
        .await;
    assert_eq!(
        answer["data"]["updateProductPrice"]["price"], price,
        "{answer}"
    );
}

/// A live query over GraphQL over SSE: its `next` events.
struct Sse {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Sse {
    async fn open(stack: &Stack, query: &str) -> Sse {
        Sse::open_with(stack, query, &[]).await
    }

    /// Opened with these request headers besides `Accept`.
    async fn open_with(stack: &Stack, query: &str, headers: &[(&str, &str)]) -> Sse {
        let mut request = stack
            .client()
            .post(&stack.gateway_url)
            .header("accept", "text/event-stream")
            .json(&json!({ "query": query }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Sse {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next result within `within`, if one comes (heartbeats skipped).
    async fn try_next(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let event = block.lines().find_map(|l| l.strip_prefix("event: "));
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                match (event, data) {
                    (Some("next"), Some(data)) => return Some(serde_json::from_str(data).unwrap()),
                    (Some("complete"), _) => panic!("the live query completed"),
                    _ => continue,
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .ok()?
                .expect("the stream stays open")
                .unwrap();
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn next(&mut self) -> Value {
        self.try_next(WAIT).await.expect("a result in time")
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A live query over `graphql-transport-ws`: its `next` payloads.
struct Ws {
    socket: Socket,
}

impl Ws {
    async fn open(stack: &Stack, query: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = stack
            .gateway_url
            .replace("http://", "ws://")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut ws = Ws { socket };
        ws.send(json!({ "type": "connection_init" })).await;
        let ack = ws.try_next_message(WAIT).await.unwrap();
        assert_eq!(ack["type"], "connection_ack");
        ws.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }))
            .await;
        ws
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    async fn try_next_message(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?
                .expect("the socket stays open")
                .unwrap();
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "ping" {
                    return Some(value);
                }
            }
        }
    }

    /// The next result within `within`, if one comes.
    async fn try_next(&mut self, within: Duration) -> Option<Value> {
        let message = self.try_next_message(within).await?;
        assert_eq!(message["type"], "next", "{message}");
        Some(message["payload"].clone())
    }

    async fn next(&mut self) -> Value {
        self.try_next(WAIT).await.expect("a result in time")
    }
}

fn price_of(result: &Value, upc: &str) -> Value {
    result["data"]["topProducts"]
        .as_array()
        .expect("topProducts")
        .iter()
        .find(|p| p["upc"] == upc)
        .map(|p| p["price"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_queries_on_one_instance_follow_events_and_mutations_from_anywhere() {
    let redis = RedisServer::start();
    let subgraphs = Subgraphs::start(Arc::new(subgraphs::events::Nowhere)).await;
    let a = Stack::gateway(DEMO_SUPERGRAPH, &config(&subgraphs, &redis, 100)).await;
    let b = Stack::gateway(DEMO_SUPERGRAPH, &config(&subgraphs, &redis, 100)).await;
    connected(&a).await;
    connected(&b).await;

    let mut one = Sse::open(
        &b,
        r#"query @live { product(upc: "1") { upc name price } }"#,
    )
    .await;
    let first = one.next().await;
    assert_eq!(first["data"]["product"]["upc"], "1", "{first}");
    let mut top = Ws::open(&b, "query @live { topProducts { upc name price } }").await;
    let first_top = top.next().await;
    assert_eq!(
        first_top["data"]["topProducts"].as_array().unwrap().len(),
        5
    );
    assert_eq!(price_of(&first_top, "1"), first["data"]["product"]["price"]);

    // The products service changes a price without telling anyone: the live queries hold on
    // to what they had (the cache still answers it), until an event names the product.
    set_price_quietly(&subgraphs, "1", 1111).await;
    assert_eq!(one.try_next(QUIET).await, None, "no event, no push");
    xadd(&redis, product_event("1"));
    let pushed = one.next().await;
    assert_eq!(pushed["data"]["product"]["price"], 1111, "{pushed}");
    assert_eq!(price_of(&top.next().await, "1"), 1111);

    // An entity neither answer holds changes: nothing is pushed.
    set_price_quietly(&subgraphs, "7", 7777).await;
    xadd(&redis, product_event("7"));
    assert_eq!(one.try_next(QUIET).await, None, "product 7 is not in it");
    assert_eq!(top.try_next(Duration::from_millis(1)).await, None);
    // One that only the list holds: the list is pushed, the single product is not.
    set_price_quietly(&subgraphs, "2", 2222).await;
    xadd(&redis, product_event("2"));
    assert_eq!(price_of(&top.next().await, "2"), 2222);
    assert_eq!(one.try_next(QUIET).await, None, "product 2 is not in it");

    // A mutation through instance A: A publishes what it invalidated, B re-runs.
    let mutated = a
        .query(r#"mutation { updateProductPrice(upc: "1", price: 3333) { upc price } }"#)
        .await;
    assert_eq!(mutated["data"]["updateProductPrice"]["price"], 3333);
    assert_eq!(one.next().await["data"]["product"]["price"], 3333);
    assert_eq!(price_of(&top.next().await, "1"), 3333);

    // An event for the product whose data did not change: re-run, but nothing new to push.
    xadd(&redis, product_event("1"));
    assert_eq!(
        one.try_next(QUIET).await,
        None,
        "identical results are not pushed"
    );
    assert_eq!(top.try_next(Duration::from_millis(1)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_is_answered_by_one_execution_per_throttle_interval() {
    let redis = RedisServer::start();
    let subgraphs = Subgraphs::start(Arc::new(subgraphs::events::Nowhere)).await;
    let b = Stack::gateway(DEMO_SUPERGRAPH, &config(&subgraphs, &redis, 100)).await;
    connected(&b).await;
    // The query asks for a longer interval than the configured one: it wins.
    let mut live = Sse::open(
        &b,
        r#"query @live(throttle: 1500) { product(upc: "1") { upc price } }"#,
    )
    .await;
    live.next().await;
    // Ten changes, each with its event, well within one interval.
    let started = Instant::now();
    for price in 1..=10 {
        set_price_quietly(&subgraphs, "1", 500 + price).await;
        xadd(&redis, product_event("1"));
    }
    let burst = started.elapsed();
    assert!(
        burst < Duration::from_millis(1500),
        "the burst took {burst:?}"
    );
    let mut pushed = Vec::new();
    while let Some(result) = live.try_next(Duration::from_millis(2500)).await {
        pushed.push(result["data"]["product"]["price"].clone());
    }
    // The first event runs it at once (the last run is long past); the rest wait for the
    // interval and are answered together.
    assert!(
        (1..=2).contains(&pushed.len()),
        "ten events, {} pushes: {pushed:?}",
        pushed.len()
    );
    assert_eq!(pushed.last(), Some(&json!(510)), "the last state arrives");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_queries_need_the_cache_and_count_against_subscription_limits() {
    let redis = RedisServer::start();
    let subgraphs = Subgraphs::start(Arc::new(subgraphs::events::Nowhere)).await;
    let mut limited = config(&subgraphs, &redis, 100);
    limited.subscriptions.max_total = 1;
    let b = Stack::gateway(DEMO_SUPERGRAPH, &limited).await;
    let query = r#"query @live { product(upc: "1") { upc } }"#;
    let mut held = Sse::open(&b, query).await;
    held.next().await;
    let refused = b
        .client()
        .post(&b.gateway_url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "SUBSCRIPTION_LIMIT",
        "{refused}"
    );

    // Without a cache there are no invalidations to re-run on: refused, saying why.
    let uncached = Stack::gateway(DEMO_SUPERGRAPH, &subgraphs.config()).await;
    let refused = uncached
        .client()
        .post(&uncached.gateway_url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "LIVE_QUERY_UNAVAILABLE",
        "{refused}"
    );
    // Over plain HTTP a live query is an ordinary query: answered once.
    let once = uncached.query(query).await;
    assert_eq!(once["data"]["product"]["upc"], "1", "{once}");
    // On anything but a query the directive does not validate.
    let mutation = uncached
        .query(r#"mutation @live { updateProductPrice(upc: "1", price: 1) { upc } }"#)
        .await;
    assert!(
        mutation["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("live"),
        "{mutation}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_part_running_out_of_ttl_re_runs_it_never_served_stale() {
    let subgraphs = Subgraphs::start(Arc::new(subgraphs::events::Nowhere)).await;
    // No Redis, no events: entries live one second, and would be served stale for a minute
    // more (stale-while-revalidate) to anyone but a live query.
    let config = Config {
        cache: CacheConfig {
            enabled: true,
            defaults: PolicyConfig {
                mode: Some(Mode::Ttl),
                ttl_seconds: Some(1),
                stale_while_revalidate_seconds: Some(60),
                ..Default::default()
            },
            ..Default::default()
        },
        ..subgraphs.config()
    };
    let stack = Stack::gateway(DEMO_SUPERGRAPH, &config).await;
    let mut live = Sse::open(&stack, r#"query @live { product(upc: "4") { upc price } }"#).await;
    let first = live.next().await;
    assert_ne!(first["data"]["product"]["price"], 5555, "{first}");
    // Nothing announces this change: only the entry's TTL can make the query run again, and
    // the re-run must not take the entry kept for stale-while-revalidate.
    set_price_quietly(&subgraphs, "4", 5555).await;
    let pushed = live.next().await;
    assert_eq!(pushed["data"]["product"]["price"], 5555, "{pushed}");
}

/// A counter or gauge of the gateway's `/metrics` (without labels).
async fn metric(stack: &Stack, name: &str) -> u64 {
    let text = stack.metrics().await;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Requests the products service was sent through `proxy` that ask for `product`.
fn product_fetches(proxy: &RecordingProxy) -> usize {
    proxy
        .recorded()
        .iter()
        .filter(|r| r.body.contains("product"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_live_queries_share_one_execution_per_change() {
    let redis = RedisServer::start();
    let subgraphs = Subgraphs::start(Arc::new(subgraphs::events::Nowhere)).await;
    // Products behind a proxy that counts what the gateway asks of it.
    let products = RecordingProxy::start().await;
    products.forward_to(&subgraphs.urls["products"]);
    let mut config = config(&subgraphs, &redis, 100);
    config.subgraphs.insert(
        "products".into(),
        SubgraphConfig {
            url: Some(products.url.clone()),
            ..Default::default()
        },
    );
    let b = Stack::gateway(DEMO_SUPERGRAPH, &config).await;
    connected(&b).await;

    let query = r#"query @live { product(upc: "1") { upc price } }"#;
    let mut sse = Sse::open(&b, query).await;
    let first = sse.next().await;
    // The same live query over another transport joins the one running: it gets its last
    // answer at once, without another execution.
    let executions = metric(&b, "gateway_live_query_executions_total").await;
    let mut ws = Ws::open(&b, query).await;
    assert_eq!(ws.next().await, first);
    assert_eq!(metric(&b, "gateway_live_queries").await, 1);
    assert_eq!(
        metric(&b, "gateway_live_query_executions_total").await,
        executions,
        "joining ran nothing"
    );
    assert_eq!(
        metric(&b, "gateway_subscriptions{side=\"client\"}").await,
        2
    );

    // Each change: one execution, one request to the subgraph, the same answer to both.
    for price in [4101, 4102, 4103] {
        let fetched = product_fetches(&products);
        let executions = metric(&b, "gateway_live_query_executions_total").await;
        set_price_quietly(&subgraphs, "1", price).await;
        xadd(&redis, product_event("1"));
        let pushed = sse.next().await;
        assert_eq!(pushed["data"]["product"]["price"], price, "{pushed}");
        assert_eq!(ws.next().await, pushed);
        assert_eq!(
            metric(&b, "gateway_live_query_executions_total").await,
            executions + 1,
            "one execution for both clients"
        );
        assert_eq!(
            product_fetches(&products),
            fetched + 1,
            "one subgraph request"
        );
    }

    // The first client leaves: the other keeps the execution going.
    drop(sse);
    set_price_quietly(&subgraphs, "1", 4200).await;
    xadd(&redis, product_event("1"));
    assert_eq!(ws.next().await["data"]["product"]["price"], 4200);
    // The last leaves: the execution stops.
    drop(ws);
    let deadline = Instant::now() + WAIT;
    while metric(&b, "gateway_live_queries").await != 0 {
        assert!(
            Instant::now() < deadline,
            "the shared execution never stopped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A new client starts a new one.
    let mut again = Sse::open(&b, query).await;
    assert_eq!(again.next().await["data"]["product"]["price"], 4200);
    assert_eq!(metric(&b, "gateway_live_queries").await, 1);
}

const SECURED: &str =
    include_str!("../gateway/tests/rover-supergraphs/demo-secured/supergraph.graphql");
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/jwt-keys");

/// A token for user 1, signed with the key the gateway trusts, with these scopes.
fn token(scope: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({ "iss": "https://issuer.test", "aud": "gateway", "sub": "1", "exp": exp,
        "scope": scope });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa".into());
    let key = EncodingKey::from_rsa_pem(&std::fs::read(format!("{KEYS}/rsa.pem")).unwrap());
    encode(&header, &claims, &key.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_queries_that_may_see_different_things_do_not_share() {
    use gateway::edge::auth::{JwksConfig, JwtConfig};
    let redis = RedisServer::start();
    let subgraphs = Subgraphs::start(Arc::new(subgraphs::events::Nowhere)).await;
    let mut config = config(&subgraphs, &redis, 100);
    config.authentication.jwt = Some(JwtConfig {
        jwks: vec![JwksConfig {
            url: None,
            file: Some(format!("{KEYS}/rsa.jwks.json").into()),
            poll_interval_seconds: 3600,
            headers: Default::default(),
        }],
        issuers: vec!["https://issuer.test".into()],
        audiences: vec!["gateway".into()],
        ..Default::default()
    });
    let b = Stack::gateway(SECURED, &config).await;
    connected(&b).await;

    // The same user, the same query, the same headers to the subgraphs: only the scopes
    // differ, and with them what the authorization pass lets through (`Review.rating`).
    let query = r#"query @live { product(upc: "1") { upc price reviews { rating } } }"#;
    let reader = format!("Bearer {}", token("reviews:read"));
    let other = format!("Bearer {}", token("profile"));
    let mut allowed = Sse::open_with(&b, query, &[("authorization", &reader)]).await;
    let mut denied = Sse::open_with(&b, query, &[("authorization", &other)]).await;
    let seen = allowed.next().await;
    assert!(
        seen["data"]["product"]["reviews"][0]["rating"].is_number(),
        "{seen}"
    );
    let hidden = denied.next().await;
    assert_eq!(
        hidden["errors"][0]["extensions"]["code"], "UNAUTHORIZED_FIELD_OR_TYPE",
        "{hidden}"
    );
    assert_eq!(metric(&b, "gateway_live_queries").await, 2, "not shared");
    // A second client with the same grants joins the first.
    let mut also = Sse::open_with(&b, query, &[("authorization", &reader)]).await;
    assert_eq!(also.next().await, seen);
    assert_eq!(metric(&b, "gateway_live_queries").await, 2);

    // A change: one execution per distinct live query, each client its own kind of answer.
    let executions = metric(&b, "gateway_live_query_executions_total").await;
    set_price_quietly(&subgraphs, "1", 4300).await;
    xadd(&redis, product_event("1"));
    let seen = allowed.next().await;
    assert_eq!(seen["data"]["product"]["price"], 4300, "{seen}");
    assert!(seen["data"]["product"]["reviews"][0]["rating"].is_number());
    assert_eq!(also.next().await, seen);
    let deadline = Instant::now() + WAIT;
    while metric(&b, "gateway_live_query_executions_total").await < executions + 2 {
        assert!(
            Instant::now() < deadline,
            "the other live query never re-ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        metric(&b, "gateway_live_query_executions_total").await,
        executions + 2
    );
    // What the other may see (the product, nulled by the rating it may not read) did not
    // change: nothing is pushed to it.
    assert_eq!(denied.try_next(QUIET).await, None);
}
