//! Inbound request de-duplication (`deduplication.inbound`): identical queries that arrive
//! while one of them executes share its execution; anything that could change the answer
//! (variables, the operation kind) keeps requests apart.

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
    delay: Duration,
    forwarded: Arc<AtomicUsize>,
    client: reqwest::Client,
}

async fn forward(State(upstream): State<Upstream>, body: Bytes) -> (HeaderMap, Bytes) {
    upstream.forwarded.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(upstream.delay).await;
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
    async fn start(upstream_url: String, delay: Duration) -> Self {
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

/// The demo services and a gateway over them, with `service` behind a counting proxy that
/// holds requests for 300 ms. The servers stop when the returned values drop.
async fn stack_with_proxy(service: &str, deduplicate: bool) -> (Stack, CountingProxy, Subgraphs) {
    let subgraphs = Subgraphs::start(Arc::new(Nowhere)).await;
    let proxy =
        CountingProxy::start(subgraphs.urls[service].clone(), Duration::from_millis(300)).await;
    let mut config = subgraphs.config();
    config.deduplication.inbound = deduplicate;
    config.subgraphs.insert(
        service.into(),
        SubgraphConfig {
            url: Some(proxy.url.clone()),
            ..Default::default()
        },
    );
    let stack = Stack::gateway(DEMO_SUPERGRAPH, &config).await;
    (stack, proxy, subgraphs)
}

async fn concurrently(stack: &Stack, bodies: Vec<Value>) -> Vec<Value> {
    futures::future::join_all(bodies.into_iter().map(|body| stack.request(body))).await
}

const STOCK: &str = r#"query Stock($upc: String!) { product(upc: $upc) { upc name inStock } }"#;

#[tokio::test]
async fn identical_concurrent_queries_share_one_execution() {
    let (stack, inventory, _subgraphs) = stack_with_proxy("inventory", true).await;
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
    let (stack, inventory, _subgraphs) = stack_with_proxy("inventory", true).await;
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
    let (stack, inventory, _subgraphs) = stack_with_proxy("inventory", false).await;
    let body = json!({ "query": STOCK, "variables": { "upc": "1" } });
    let responses = concurrently(&stack, vec![body; 4]).await;
    assert!(responses.iter().all(|r| r["data"]["product"]["upc"] == "1"));
    assert_eq!(inventory.forwarded(), 4);
    let metrics = stack.metrics().await;
    assert!(
        !metrics.contains("gateway_inbound_deduplication_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn mutations_are_never_shared() {
    let (stack, products, _subgraphs) = stack_with_proxy("products", true).await;
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
