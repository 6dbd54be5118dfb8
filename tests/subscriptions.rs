//! Subscriptions through the gateway, end to end: real demo subgraphs (async-graphql, their
//! subscriptions fed by their mutations), a real gateway, and real clients: tokio-tungstenite
//! over `graphql-transport-ws` and `graphql-ws`, reqwest reading SSE and multipart bodies.
//! The reviews subgraph sits behind a TCP proxy that counts its connections (one per upstream
//! WebSocket subscription) and can be cut.

use std::sync::Arc;
use std::time::Duration;

use e2e::tcp_proxy::TcpProxy;
use e2e::{DEMO_SUPERGRAPH, Subgraphs, listener};
use futures::{SinkExt, StreamExt};
use gateway::config::Config;
use gateway::gateway::Gateway;
use gateway::realtime::UpstreamProtocol;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const WAIT: Duration = Duration::from_secs(10);

/// The demo subgraphs, reviews behind a proxy, and a gateway over them.
struct Env {
    subgraphs: Subgraphs,
    reviews: TcpProxy,
    gateway: Arc<Gateway>,
    url: String,
    task: tokio::task::JoinHandle<()>,
    client: reqwest::Client,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Env {
    async fn start(adjust: impl FnOnce(&mut Config)) -> Env {
        let subgraphs = Subgraphs::start(Arc::new(subgraphs::events::Nowhere)).await;
        let reviews_address = subgraphs.urls["reviews"]
            .trim_start_matches("http://")
            .trim_end_matches("/graphql")
            .parse()
            .unwrap();
        let reviews = TcpProxy::start(reviews_address).await;
        let mut config = subgraphs.config();
        // Only subscriptions go through the proxy (queries and mutations straight to the
        // subgraph), so its connections are the upstream subscriptions.
        config.subscriptions.subgraphs.insert(
            "reviews".into(),
            gateway::realtime::config::UpstreamOverrides {
                url: Some(format!("ws://{}/graphql", reviews.address)),
                ..Default::default()
            },
        );
        adjust(&mut config);
        let supergraph = gateway::supergraph::Supergraph::parse(DEMO_SUPERGRAPH).unwrap();
        let gateway = Arc::new(gateway::startup::build_gateway(supergraph, &config).unwrap());
        let edge = Arc::new(gateway::edge::Edge::new(&config).await.unwrap());
        let router = gateway::server::router(gateway.clone(), edge);
        let (listener, address) = listener().await;
        let server = config.server.clone();
        let task = tokio::spawn(async move {
            let _ = gateway::server::serve(listener, router, &server, std::future::pending()).await;
        });
        Env {
            subgraphs,
            reviews,
            gateway,
            url: format!("http://{address}/graphql"),
            task,
            client: reqwest::Client::new(),
        }
    }

    async fn post(&self, query: &str) -> Value {
        self.client
            .post(&self.url)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn add_review(&self, upc: &str, body: &str) {
        let mutation = format!(
            r#"mutation {{ addReview(productUpc: "{upc}", authorId: "1", body: "{body}", rating: 5) {{ id }} }}"#
        );
        let answer = self.post(&mutation).await;
        assert!(answer["errors"].is_null(), "{answer}");
    }

    async fn set_stock(&self, upc: &str, in_stock: bool) {
        let mutation =
            format!(r#"mutation {{ setStock(upc: "{upc}", inStock: {in_stock}) {{ upc }} }}"#);
        let answer = self.post(&mutation).await;
        assert!(answer["errors"].is_null(), "{answer}");
    }

    /// Waits until `gateway_subscriptions` says `client` and `upstream` open.
    async fn wait_for_counts(&self, client: usize, upstream: usize) {
        let subscriptions = self.gateway.subscriptions();
        wait_until(|| subscriptions.active() == client && subscriptions.upstreams() == upstream)
            .await
            .unwrap_or_else(|()| {
                panic!(
                    "expected {client} client and {upstream} upstream subscriptions, got {} and {}",
                    subscriptions.active(),
                    subscriptions.upstreams()
                )
            });
    }
}

async fn wait_until(mut done: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        if tokio::time::Instant::now() > deadline {
            return Err(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client of the gateway.
struct Ws {
    socket: Socket,
}

impl Ws {
    async fn connect(env: &Env, protocol: &str) -> Ws {
        let url = env.url.replace("http://", "ws://");
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol,
            "the server picks the protocol asked for"
        );
        Ws { socket }
    }

    /// Connects and initialises with `payload`, expecting `connection_ack`.
    async fn ready(env: &Env, protocol: &str, payload: Value) -> Ws {
        let mut ws = Ws::connect(env, protocol).await;
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = ws.next().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        ws
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// The next protocol message, skipping heartbeats.
    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a message in time")
                .expect("the socket is open")
                .expect("no WebSocket error");
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" || value["type"] == "ka" {
                        continue;
                    }
                    return value;
                }
                Message::Close(frame) => {
                    let frame = frame.expect("a close frame with a code");
                    return json!({ "close": u16::from(frame.code), "reason": frame.reason.to_string() });
                }
                _ => continue,
            }
        }
    }

    /// The next message within `within`, if one comes.
    async fn try_next(&mut self, within: Duration) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(within, self.socket.next())
                .await
                .ok()??
                .ok()?;
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "ping" && value["type"] != "ka" {
                    return Some(value);
                }
            }
        }
    }

    /// The next message that is not a warm-up event (see [`warm_up`]).
    async fn next_event(&mut self) -> Value {
        loop {
            let message = self.next().await;
            if message["payload"]["data"]["reviewAdded"]["body"] != WARM_UP {
                return message;
            }
        }
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }))
            .await;
    }
}

/// The body of the reviews [`warm_up`] adds.
const WARM_UP: &str = "warm-up";

/// Adds warm-up reviews of product 1 with `add` until every client got one. The gateway
/// counts a subscription once it asked for it, but the subgraph starts listening a little
/// later; events published before then are not for it.
async fn warm_up<F, Fut>(clients: &mut [&mut Ws], add: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut warm = vec![false; clients.len()];
    let deadline = tokio::time::Instant::now() + WAIT;
    while warm.contains(&false) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no warm-up event arrived"
        );
        add().await;
        for (client, warm) in clients.iter_mut().zip(&mut warm) {
            if *warm {
                continue;
            }
            if let Some(message) = client.try_next(Duration::from_millis(300)).await {
                assert_eq!(
                    message["payload"]["data"]["reviewAdded"]["body"], WARM_UP,
                    "{message}"
                );
                *warm = true;
            }
        }
    }
}

const REVIEW_ADDED: &str = r#"subscription { reviewAdded(upc: "1") { body author { username } product { upc name inStock shippingEstimate } } }"#;

#[tokio::test]
async fn federated_subscription_over_websocket_runs_entity_fetches_per_event() {
    let env = Env::start(|_| {}).await;
    let expected = env
        .post(r#"{ product(upc: "1") { upc name inStock shippingEstimate } }"#)
        .await;
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.subscribe("r1", REVIEW_ADDED).await;
    env.wait_for_counts(1, 1).await;
    warm_up(&mut [&mut ws], || env.add_review("1", WARM_UP)).await;
    // Upc 2 is filtered out at the subgraph; upc 1's events arrive in order.
    env.add_review("2", "not this one").await;
    env.add_review("1", "first").await;
    env.add_review("1", "second").await;
    for body in ["first", "second"] {
        let next = ws.next_event().await;
        assert_eq!(next["type"], "next", "{next}");
        assert_eq!(next["id"], "r1");
        assert!(next["payload"]["errors"].is_null(), "{next}");
        let review = &next["payload"]["data"]["reviewAdded"];
        assert_eq!(review["body"], body);
        assert_eq!(review["author"]["username"], "@ada");
        // name from products, inStock and shippingEstimate (which @requires price and
        // weight from products) from inventory: entity fetches per event.
        assert_eq!(review["product"], expected["data"]["product"], "{next}");
    }
    ws.send(json!({ "id": "r1", "type": "complete" })).await;
    env.wait_for_counts(0, 0).await;
    wait_until(|| env.reviews.open_connections() == 0)
        .await
        .expect("the upstream connection is closed once its last subscriber leaves");
}

#[tokio::test]
async fn identical_subscriptions_share_one_upstream_until_the_last_leaves() {
    let env = Env::start(|_| {}).await;
    let mut first = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    let mut second = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    first.subscribe("a", REVIEW_ADDED).await;
    second.subscribe("b", REVIEW_ADDED).await;
    env.wait_for_counts(2, 1).await;
    warm_up(&mut [&mut first, &mut second], || {
        env.add_review("1", WARM_UP)
    })
    .await;
    assert_eq!(
        env.reviews.open_connections(),
        1,
        "one WebSocket to the reviews subgraph for both clients"
    );
    let metrics = env
        .client
        .get(env.url.replace("/graphql", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gateway_subscriptions{side=\"client\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gateway_subscriptions{side=\"upstream\"} 1"),
        "{metrics}"
    );
    warm_up(&mut [&mut first, &mut second], || {
        env.add_review("1", WARM_UP)
    })
    .await;
    env.add_review("1", "shared").await;
    for (ws, id) in [(&mut first, "a"), (&mut second, "b")] {
        let next = ws.next_event().await;
        assert_eq!(next["id"], id);
        assert_eq!(next["payload"]["data"]["reviewAdded"]["body"], "shared");
    }
    // A client that goes away (no `complete`) releases its share; the other keeps it.
    drop(first);
    env.wait_for_counts(1, 1).await;
    assert_eq!(env.reviews.open_connections(), 1);
    env.add_review("1", "still here").await;
    let next = second.next_event().await;
    assert_eq!(next["payload"]["data"]["reviewAdded"]["body"], "still here");
    drop(second);
    env.wait_for_counts(0, 0).await;
    wait_until(|| env.reviews.open_connections() == 0)
        .await
        .expect("the upstream connection is closed after the last client left");
}

#[tokio::test]
async fn a_subgraph_closing_the_stream_ends_the_subscription_with_an_error() {
    let mut env = Env::start(|_| {}).await;
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.subscribe("s", REVIEW_ADDED).await;
    env.wait_for_counts(1, 1).await;
    // Cut every connection to the reviews subgraph.
    env.reviews = TcpProxy::start("127.0.0.1:9".parse().unwrap()).await;
    let next = ws.next().await;
    assert_eq!(next["type"], "next", "{next}");
    let error = &next["payload"]["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "SUBSCRIPTION_UPSTREAM_CLOSED",
        "{next}"
    );
    assert_eq!(error["extensions"]["serviceName"], "reviews");
    let complete = ws.next().await;
    assert_eq!(complete, json!({ "id": "s", "type": "complete" }));
    env.wait_for_counts(0, 0).await;
}

#[tokio::test]
async fn sse_and_multipart_clients_get_each_event() {
    let env = Env::start(|config| {
        config.subscriptions.heartbeat_ms = 200;
    })
    .await;
    let query = r#"subscription { stockChanged(upc: "3") { upc inStock name } }"#;
    let sse = env
        .client
        .post(&env.url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    assert!(
        sse.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let multipart = env
        .client
        .post(&env.url)
        .header(
            "accept",
            r#"multipart/mixed;subscriptionSpec="1.0", application/json"#,
        )
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(multipart.status(), 200);
    assert_eq!(
        multipart.headers()["content-type"],
        r#"multipart/mixed;boundary="graphql";subscriptionSpec="1.0""#
    );
    env.wait_for_counts(2, 1).await;
    let product_name =
        env.post(r#"{ product(upc: "3") { name } }"#).await["data"]["product"]["name"].clone();
    let expected = |in_stock: bool| json!({ "data": { "stockChanged": { "upc": "3", "inStock": in_stock, "name": product_name } } });

    // SSE: `next` events; warmed up with inStock: true until the upstream listens.
    let mut sse_body = sse.bytes_stream();
    let mut text = String::new();
    let sse_events = |text: &str| -> Vec<Value> {
        text.split("\n\n")
            .filter_map(|block| {
                let event = block.lines().find_map(|l| l.strip_prefix("event: "))?;
                let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
                (event == "next").then(|| serde_json::from_str(data).unwrap())
            })
            .collect()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while sse_events(&text).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no warm-up event");
        env.set_stock("3", true).await;
        if let Ok(Some(chunk)) =
            tokio::time::timeout(Duration::from_millis(300), sse_body.next()).await
        {
            text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        }
    }
    env.set_stock("3", false).await;
    env.set_stock("3", true).await;
    // The events after the warm-up ones: false, then true, in order, and a heartbeat.
    loop {
        let events = sse_events(&text);
        let changed = events.iter().position(|e| *e == expected(false));
        let heartbeat = text.starts_with(':') || text.contains("\n:");
        if let Some(at) = changed
            && events.len() > at + 1
            && heartbeat
        {
            assert_eq!(events[at + 1], expected(true));
            assert!(events[..at].iter().all(|e| *e == expected(true)));
            break;
        }
        let chunk = tokio::time::timeout(WAIT, sse_body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }

    // Multipart: `{"payload": ...}` parts and `{}` heartbeats, the same events.
    let mut multipart_body = multipart.bytes_stream();
    let mut text = String::new();
    loop {
        let parts: Vec<Value> = text
            .split("\r\n--graphql")
            .filter_map(|part| part.split_once("\r\n\r\n"))
            .filter_map(|(_, json)| serde_json::from_str(json).ok())
            .collect();
        let payloads: Vec<Value> = parts
            .iter()
            .filter(|p| !p["payload"].is_null())
            .map(|p| p["payload"].clone())
            .collect();
        let heartbeats = parts.iter().filter(|p| **p == json!({})).count();
        let changed = payloads.iter().position(|e| *e == expected(false));
        if let Some(at) = changed
            && payloads.len() > at + 1
            && heartbeats >= 1
        {
            assert_eq!(payloads[at + 1], expected(true));
            break;
        }
        let chunk = tokio::time::timeout(WAIT, multipart_body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }

    // Closing the responses releases both subscriptions and the shared upstream.
    drop(sse_body);
    drop(multipart_body);
    env.wait_for_counts(0, 0).await;
}

#[tokio::test]
async fn queries_over_sse_get_one_event_and_refused_requests_plain_json() {
    let env = Env::start(|_| {}).await;
    let sse = |body: Value| {
        env.client
            .post(&env.url)
            .header("accept", "text/event-stream")
            .json(&body)
            .send()
    };
    let answer = sse(json!({ "query": r#"{ product(upc: "1") { upc } }"# }))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.unwrap();
    assert_eq!(
        text,
        "event: next\ndata: {\"data\":{\"product\":{\"upc\":\"1\"}}}\n\nevent: complete\ndata:\n\n"
    );
    let refused = sse(json!({ "query": "subscription { nope }" }))
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
}

#[tokio::test]
async fn sse_upstream_is_chosen_per_subgraph() {
    let env = Env::start(|config| {
        config.subscriptions.subgraphs.insert(
            "reviews".into(),
            gateway::realtime::config::UpstreamOverrides {
                protocol: Some(UpstreamProtocol::Sse),
                ..Default::default()
            },
        );
    })
    .await;
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.subscribe("r", REVIEW_ADDED).await;
    env.wait_for_counts(1, 1).await;
    warm_up(&mut [&mut ws], || env.add_review("1", WARM_UP)).await;
    env.add_review("1", "over sse").await;
    let next = ws.next_event().await;
    assert_eq!(
        next["payload"]["data"]["reviewAdded"]["body"], "over sse",
        "{next}"
    );
    assert_eq!(
        next["payload"]["data"]["reviewAdded"]["product"]["upc"],
        "1"
    );
}

#[tokio::test]
async fn legacy_graphql_ws_protocol_and_queries_over_a_socket() {
    let env = Env::start(|_| {}).await;
    let mut ws = Ws::ready(&env, "graphql-ws", json!({})).await;
    ws.send(json!({ "id": "q", "type": "start", "payload": { "query": r#"{ product(upc: "1") { upc } }"# } }))
        .await;
    let data = ws.next().await;
    assert_eq!(
        data,
        json!({ "id": "q", "type": "data", "payload": { "data": { "product": { "upc": "1" } } } })
    );
    assert_eq!(ws.next().await, json!({ "id": "q", "type": "complete" }));
    ws.send(json!({ "id": "s", "type": "start", "payload": { "query": REVIEW_ADDED } }))
        .await;
    env.wait_for_counts(1, 1).await;
    warm_up(&mut [&mut ws], || env.add_review("1", WARM_UP)).await;
    env.add_review("1", "legacy").await;
    let data = ws.next_event().await;
    assert_eq!(data["type"], "data");
    assert_eq!(data["payload"]["data"]["reviewAdded"]["body"], "legacy");
    ws.send(json!({ "id": "s", "type": "stop" })).await;
    env.wait_for_counts(0, 0).await;
}

#[tokio::test]
async fn protocol_errors_close_the_socket_with_their_codes() {
    let env = Env::start(|config| {
        config.subscriptions.connection_init_timeout_ms = 300;
    })
    .await;
    // Subscribing before connection_init.
    let mut ws = Ws::connect(&env, "graphql-transport-ws").await;
    ws.subscribe("x", REVIEW_ADDED).await;
    assert_eq!(ws.next().await["close"], 4401);
    // No connection_init in time.
    let mut ws = Ws::connect(&env, "graphql-transport-ws").await;
    assert_eq!(ws.next().await["close"], 4408);
    // Not JSON.
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.socket.send(Message::text("{nope")).await.unwrap();
    assert_eq!(ws.next().await["close"], 4400);
    // The same id twice.
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.subscribe("dup", REVIEW_ADDED).await;
    ws.subscribe("dup", REVIEW_ADDED).await;
    assert_eq!(ws.next().await["close"], 4409);
    // A second connection_init.
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.next().await["close"], 4429);
    // ping → pong.
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next().await, json!({ "type": "pong" }));
    // Invalid operations are `error` messages, the socket stays open.
    ws.subscribe("bad", "subscription { reviewAdded { nope } }")
        .await;
    let error = ws.next().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["id"], "bad");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    ws.subscribe("meta", "subscription { __typename }").await;
    let error = ws.next().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "meta");
    ws.subscribe(
        "two",
        "subscription { reviewAdded { body } stockChanged { upc } }",
    )
    .await;
    let error = ws.next().await;
    assert_eq!(error["type"], "error", "{error}");
    env.wait_for_counts(0, 0).await;
}

#[tokio::test]
async fn websockets_from_other_sites_are_refused() {
    let env = Env::start(|_| {}).await;
    let url = env.url.replace("http://", "ws://");
    let upgrade = |origin: &str| {
        let mut request = url.as_str().into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    match upgrade("https://evil.example").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!(
            "a cross-site upgrade must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    let own = env.url.trim_end_matches("/graphql").to_string();
    assert!(
        upgrade(&own).await.is_ok(),
        "the gateway's own origin (the playground) may"
    );
}

#[tokio::test]
async fn websockets_past_max_websockets_are_refused() {
    let env = Env::start(|config| config.subscriptions.max_websockets = 1).await;
    let first = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    let url = env.url.replace("http://", "ws://");
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!(
            "a second WebSocket must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    drop(first);
    wait_until(|| env.gateway.subscriptions().websockets() == 0)
        .await
        .expect("the closed socket gives its place back");
    Ws::ready(&env, "graphql-transport-ws", json!({})).await;
}

#[tokio::test]
async fn subscriptions_over_plain_http_are_refused_with_a_clear_error() {
    let env = Env::start(|_| {}).await;
    let answer = env.post(REVIEW_ADDED).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"],
        "SUBSCRIPTION_UNSUPPORTED"
    );
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("text/event-stream")
    );
}

#[tokio::test]
async fn limits_per_connection_in_all_and_per_operation() {
    let env = Env::start(|config| {
        config.subscriptions.max_per_connection = 1;
        config.subscriptions.max_total = 2;
        config.limits.max_depth = 3;
    })
    .await;
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.subscribe("1", r#"subscription { reviewAdded { body } }"#)
        .await;
    env.wait_for_counts(1, 1).await;
    ws.subscribe("2", r#"subscription { reviewAdded { body } }"#)
        .await;
    let error = ws.next().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["id"], "2");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "SUBSCRIPTION_LIMIT"
    );
    let mut other = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    other
        .subscribe("1", r#"subscription { stockChanged { upc } }"#)
        .await;
    env.wait_for_counts(2, 2).await;
    let mut third = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    third
        .subscribe("1", r#"subscription { stockChanged { upc } }"#)
        .await;
    let error = third.next().await;
    assert_eq!(
        error["payload"][0]["extensions"]["code"], "SUBSCRIPTION_LIMIT",
        "{error}"
    );
    // The operation limits of the edge apply to subscriptions too.
    drop(other);
    env.wait_for_counts(1, 1).await;
    third
        .subscribe("deep", r#"subscription { reviewAdded { product { reviews { author { reviews { body } } } } } }"#)
        .await;
    let error = third.next().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "deep");
}

#[tokio::test]
async fn shutdown_completes_every_subscription_with_a_reason() {
    let env = Env::start(|_| {}).await;
    let mut ws = Ws::ready(&env, "graphql-transport-ws", json!({})).await;
    ws.subscribe("s", REVIEW_ADDED).await;
    env.wait_for_counts(1, 1).await;
    env.gateway
        .subscriptions()
        .close("the gateway is shutting down");
    let next = ws.next().await;
    assert_eq!(
        next["payload"]["errors"][0]["extensions"]["code"], "SUBSCRIPTION_SHUTDOWN",
        "{next}"
    );
    assert_eq!(ws.next().await, json!({ "id": "s", "type": "complete" }));
    assert_eq!(ws.next().await["close"], 1001);
    env.wait_for_counts(0, 0).await;
}

mod auth {
    use super::*;
    use gateway::edge::auth::{JwksConfig, JwtConfig};
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/jwt-keys");

    fn token() -> String {
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa".into());
        let key =
            EncodingKey::from_rsa_pem(&std::fs::read(format!("{KEYS}/rsa.pem")).unwrap()).unwrap();
        encode(&header, &json!({ "sub": "1", "exp": exp }), &key).unwrap()
    }

    #[tokio::test]
    async fn the_token_is_checked_at_connection_init() {
        let env = Env::start(|config| {
            config.authentication.jwt = Some(JwtConfig {
                jwks: vec![JwksConfig {
                    url: None,
                    file: Some(format!("{KEYS}/rsa.jwks.json").into()),
                    poll_interval_seconds: 3600,
                    headers: Default::default(),
                }],
                require_authentication: true,
                ..Default::default()
            });
        })
        .await;
        // No token: refused at connection_init.
        let mut ws = Ws::connect(&env, "graphql-transport-ws").await;
        ws.send(json!({ "type": "connection_init", "payload": {} }))
            .await;
        let closed = ws.next().await;
        assert_eq!(closed["close"], 4403, "{closed}");
        // A bad token: refused.
        let mut ws = Ws::connect(&env, "graphql-transport-ws").await;
        ws.send(
            json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nope" } }),
        )
        .await;
        assert_eq!(ws.next().await["close"], 4403);
        // A good one, either place clients put it.
        for payload in [
            json!({ "Authorization": format!("Bearer {}", token()) }),
            json!({ "headers": { "authorization": format!("Bearer {}", token()) } }),
        ] {
            let mut ws = Ws::ready(&env, "graphql-transport-ws", payload).await;
            ws.subscribe("s", REVIEW_ADDED).await;
            env.wait_for_counts(1, 1).await;
            // Straight to the subgraph: the gateway would want a token for it too.
            let add = |body: &'static str| {
                let subgraphs = &env.subgraphs;
                async move {
                    let mutation = format!(
                        r#"mutation {{ addReview(productUpc: "1", authorId: "1", body: "{body}", rating: 5) {{ id }} }}"#
                    );
                    let added = subgraphs.request("reviews", &mutation).await;
                    assert!(added["errors"].is_null(), "{added}");
                }
            };
            warm_up(&mut [&mut ws], || add(WARM_UP)).await;
            add("authenticated").await;
            let next = ws.next_event().await;
            assert_eq!(
                next["payload"]["data"]["reviewAdded"]["body"], "authenticated",
                "{next}"
            );
            drop(ws);
            env.wait_for_counts(0, 0).await;
        }
        // SSE is checked like any POST.
        let refused = env
            .client
            .post(&env.url)
            .header("accept", "text/event-stream")
            .json(&json!({ "query": REVIEW_ADDED }))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
}
