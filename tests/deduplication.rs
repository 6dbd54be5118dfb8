//! Request de-duplication. Inbound (`deduplication.inbound`, off by default): identical
//! queries that arrive while one of them executes share its execution. Subgraph
//! (`subgraph_defaults.deduplicate`, on by default): byte-identical query requests to one
//! subgraph in flight at once share one HTTP request. Anything that could change the answer
//! (variables, forwarded headers, the operation kind, a write in between) keeps requests
//! apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use e2e::{DEMO_SUPERGRAPH, Stack, Subgraphs, listener};
use gateway::config::SubgraphConfig;
use serde_json::{Value, json};
use subgraphs::events::Nowhere;

/// A proxy in front of a subgraph that counts the requests it forwards and holds each one for
/// `delay`, so that concurrent client requests overlap.
struct CountingProxy {
    url: String,
    forwarded: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Upstream {
    url: String,
    /// How long a request with this body is held.
    delay: fn(&[u8]) -> Duration,
    forwarded: Arc<AtomicUsize>,
    client: reqwest::Client,
}

async fn forward(State(upstream): State<Upstream>, body: Bytes) -> (HeaderMap, Bytes) {
    upstream.forwarded.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep((upstream.delay)(&body)).await;
    let answer = upstream
        .client
        .post(&upstream.url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("the subgraph answers")
        .bytes()
        .await
        .expect("a body");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        "application/json".parse().expect("a header value"),
    );
    (headers, answer)
}

impl CountingProxy {
    async fn start(upstream_url: String, delay: fn(&[u8]) -> Duration) -> Self {
        let forwarded = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .route("/graphql", post(forward))
            .with_state(Upstream {
                url: upstream_url,
                delay,
                forwarded: forwarded.clone(),
                client: reqwest::Client::new(),
            });
        let (listener, address) = listener().await;
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        CountingProxy {
            url: format!("http://{address}/graphql"),
            forwarded,
        }
    }

    fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}

/// Which de-duplication a test's gateway does.
#[derive(Clone, Copy)]
struct Dedup {
    inbound: bool,
    subgraph: bool,
}

const INBOUND_ONLY: Dedup = Dedup {
    inbound: true,
    subgraph: false,
};
const NONE: Dedup = Dedup {
    inbound: false,
    subgraph: false,
};
/// The default.
const SUBGRAPH_ONLY: Dedup = Dedup {
    inbound: false,
    subgraph: true,
};

fn hold_300_ms(_: &[u8]) -> Duration {
    Duration::from_millis(300)
}

/// The demo services and a gateway over them, with `service` behind a counting proxy that
/// holds requests for 300 ms. The servers stop when the returned values drop.
async fn stack_with_proxy(service: &str, dedup: Dedup) -> (Stack, CountingProxy, Subgraphs) {
    stack_with(service, dedup, hold_300_ms, |_| {}).await
}

async fn stack_with(
    service: &str,
    dedup: Dedup,
    delay: fn(&[u8]) -> Duration,
    adjust: impl FnOnce(&mut gateway::config::Config),
) -> (Stack, CountingProxy, Subgraphs) {
    let subgraphs = Subgraphs::start(Arc::new(Nowhere)).await;
    let proxy = CountingProxy::start(subgraphs.urls[service].clone(), delay).await;
    let mut config = subgraphs.config();
    config.deduplication.inbound = dedup.inbound;
    config.subgraph_defaults.deduplicate = dedup.subgraph;
    config.subgraphs.insert(
        service.into(),
        SubgraphConfig {
            url: Some(proxy.url.clone()),
            ..Default::default()
        },
    );
    adjust(&mut config);
    let stack = Stack::gateway(DEMO_SUPERGRAPH, &config).await;
    (stack, proxy, subgraphs)
}

async fn concurrently(stack: &Stack, bodies: Vec<Value>) -> Vec<Value> {
    futures::future::join_all(bodies.into_iter().map(|body| stack.request(body))).await
}

const STOCK: &str = r#"query Stock($upc: String!) { product(upc: $upc) { upc name inStock } }"#;

#[tokio::test]
async fn identical_concurrent_queries_share_one_execution() {
    let (stack, inventory, _subgraphs) = stack_with_proxy("inventory", INBOUND_ONLY).await;
    let body = json!({ "query": STOCK, "variables": { "upc": "1" } });
    let responses = concurrently(&stack, vec![body; 8]).await;
    let first = &responses[0];
    assert_eq!(first["data"]["product"]["upc"], "1", "{first}");
    assert!(first["data"]["product"]["inStock"].is_boolean(), "{first}");
    assert!(responses.iter().all(|r| r == first), "{responses:?}");
    assert_eq!(
        inventory.forwarded(),
        1,
        "eight identical queries, one inventory fetch"
    );
    let metrics = stack.metrics().await;
    assert!(
        metrics.contains("gateway_inbound_deduplication_total{role=\"ran\"} 1\n")
            && metrics.contains("gateway_inbound_deduplication_total{role=\"shared\"} 7\n"),
        "{metrics}"
    );

    // Finished work is not a cache: the next request executes again.
    stack
        .request(json!({ "query": STOCK, "variables": { "upc": "1" } }))
        .await;
    assert_eq!(inventory.forwarded(), 2);
}

#[tokio::test]
async fn different_variables_are_different_executions() {
    let (stack, inventory, _subgraphs) = stack_with_proxy("inventory", INBOUND_ONLY).await;
    let bodies = ["1", "2", "1", "2"]
        .iter()
        .map(|upc| json!({ "query": STOCK, "variables": { "upc": upc } }))
        .collect();
    let responses = concurrently(&stack, bodies).await;
    assert_eq!(responses[0]["data"]["product"]["upc"], "1");
    assert_eq!(responses[1]["data"]["product"]["upc"], "2");
    assert_eq!(responses[0], responses[2]);
    assert_eq!(responses[1], responses[3]);
    assert_eq!(inventory.forwarded(), 2, "one execution per variable set");
}

#[tokio::test]
async fn without_the_option_every_query_executes() {
    let (stack, inventory, _subgraphs) = stack_with_proxy("inventory", NONE).await;
    let body = json!({ "query": STOCK, "variables": { "upc": "1" } });
    let responses = concurrently(&stack, vec![body; 4]).await;
    assert!(responses.iter().all(|r| r["data"]["product"]["upc"] == "1"));
    assert_eq!(inventory.forwarded(), 4);
    let metrics = stack.metrics().await;
    assert!(
        !metrics.contains("gateway_inbound_deduplication_total")
            && !metrics.contains("gateway_subgraph_deduplication_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn mutations_are_never_shared() {
    let dedup = Dedup {
        inbound: true,
        subgraph: true,
    };
    let (stack, products, _subgraphs) = stack_with_proxy("products", dedup).await;
    let body =
        json!({ "query": r#"mutation { updateProductPrice(upc: "2", price: 77) { upc price } }"# });
    let responses = concurrently(&stack, vec![body; 3]).await;
    assert!(
        responses
            .iter()
            .all(|r| r["data"]["updateProductPrice"]["price"] == 77),
        "{responses:?}"
    );
    assert_eq!(
        products.forwarded(),
        3,
        "every mutation reaches the service"
    );
}

#[tokio::test]
async fn identical_concurrent_subgraph_requests_share_one_http_request() {
    let (stack, inventory, _subgraphs) = stack_with_proxy("inventory", SUBGRAPH_ONLY).await;
    let body = json!({ "query": STOCK, "variables": { "upc": "1" } });
    let responses = concurrently(&stack, vec![body; 8]).await;
    let first = &responses[0];
    assert!(first["data"]["product"]["inStock"].is_boolean(), "{first}");
    assert!(responses.iter().all(|r| r == first), "{responses:?}");
    assert_eq!(
        inventory.forwarded(),
        1,
        "eight operations, one inventory request"
    );
    let metrics = stack.metrics().await;
    assert!(
        metrics.contains(
            "gateway_subgraph_deduplication_total{subgraph=\"inventory\",role=\"sent\"} 1\n"
        ) && metrics.contains(
            "gateway_subgraph_deduplication_total{subgraph=\"inventory\",role=\"shared\"} 7\n"
        ),
        "{metrics}"
    );
    // Only what is in flight is shared.
    stack
        .request(json!({ "query": STOCK, "variables": { "upc": "1" } }))
        .await;
    assert_eq!(inventory.forwarded(), 2);
}

#[tokio::test]
async fn subgraph_requests_with_different_forwarded_headers_are_not_shared() {
    let (stack, inventory, _subgraphs) =
        stack_with("inventory", SUBGRAPH_ONLY, hold_300_ms, |config| {
            config.headers.propagate = vec!["x-tenant".into()];
        })
        .await;
    let body = json!({ "query": STOCK, "variables": { "upc": "1" } });
    let requests = ["a", "b", "a", "b"].map(|tenant| {
        let body = body.clone();
        let stack = &stack;
        async move { stack.request_with(body, &[("x-tenant", tenant)]).await }
    });
    let responses = futures::future::join_all(requests).await;
    assert!(responses.iter().all(|r| r["data"]["product"]["upc"] == "1"));
    assert_eq!(inventory.forwarded(), 2, "one request per tenant");
}

#[tokio::test]
async fn subgraph_deduplication_can_be_turned_off_per_subgraph() {
    let (stack, inventory, _subgraphs) =
        stack_with("inventory", SUBGRAPH_ONLY, hold_300_ms, |config| {
            config
                .subgraphs
                .get_mut("inventory")
                .expect("the proxied subgraph")
                .deduplicate = Some(false);
        })
        .await;
    let body = json!({ "query": STOCK, "variables": { "upc": "1" } });
    concurrently(&stack, vec![body; 4]).await;
    assert_eq!(inventory.forwarded(), 4);
}

/// Queries are held 400 ms at the products service, mutations not at all.
fn hold_queries(body: &[u8]) -> Duration {
    match body.windows(8).any(|w| w == b"mutation") {
        true => Duration::ZERO,
        false => Duration::from_millis(400),
    }
}

#[tokio::test]
async fn a_query_after_a_mutation_never_joins_a_request_sent_before_it() {
    let (stack, products, _subgraphs) =
        stack_with("products", SUBGRAPH_ONLY, hold_queries, |_| {}).await;
    const PRICE: &str = r#"{ product(upc: "2") { price } }"#;
    let before = stack.query(PRICE);
    let write_then_read = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let written = stack
            .query(r#"mutation { updateProductPrice(upc: "2", price: 4242) { price } }"#)
            .await;
        assert_eq!(written["data"]["updateProductPrice"]["price"], 4242);
        stack.query(PRICE).await
    };
    let (_, after) = futures::join!(before, write_then_read);
    assert_eq!(after["data"]["product"]["price"], 4242, "{after}");
    assert_eq!(
        products.forwarded(),
        3,
        "the read after the write was sent, not joined"
    );
}
