//! A subgraph that is down, slow, failing or talking nonsense: the gateway answers quickly
//! with the data it could get and errors that name the subgraph, never a panic or a hang.

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use e2e::{Stack, listener};
use gateway::config::SubgraphConfig;
use serde_json::json;

/// Serves `router` on a free port; returns its `/graphql` URL.
async fn misbehaving(router: Router) -> (String, tokio::task::JoinHandle<()>) {
    let (listener, address) = listener().await;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{address}/graphql"), task)
}

/// The demo stack with inventory replaced by `url` (and a short timeout).
async fn stack_with_inventory_at(url: String) -> Stack {
    Stack::demo_with(|config| {
        config.subgraphs.insert(
            "inventory".into(),
            SubgraphConfig {
                url: Some(url),
                timeout_ms: Some(300),
                ..Default::default()
            },
        );
    })
    .await
}

async fn assert_partial(stack: &Stack, code: &str) {
    let started = Instant::now();
    let response = stack
        .query(r#"{ product(upc: "1") { name inStock } }"#)
        .await;
    assert!(started.elapsed() < Duration::from_secs(5), "no hang");
    // `inStock: Boolean!` is lost, so the nullable product goes null; the error says why.
    assert_eq!(response["data"], json!({ "product": null }), "{response}");
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["code"], code, "{response}");
    assert_eq!(error["extensions"]["serviceName"], "inventory");
    assert_eq!(error["path"], json!(["product"]));
    // What the failing subgraph does not own is still served.
    let response = stack.query(r#"{ product(upc: "1") { name } }"#).await;
    assert!(
        response["data"]["product"]["name"].is_string(),
        "{response}"
    );
}

#[tokio::test]
async fn a_subgraph_that_is_down() {
    // Bind then drop a listener: nothing accepts on that port.
    let (listener, address) = listener().await;
    drop(listener);
    let stack = stack_with_inventory_at(format!("http://{address}/graphql")).await;
    assert_partial(&stack, "SUBGRAPH_UNREACHABLE").await;
}

#[tokio::test]
async fn a_subgraph_slower_than_its_timeout() {
    let router = Router::new().route(
        "/graphql",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "{}"
        }),
    );
    let (url, _task) = misbehaving(router).await;
    let stack = stack_with_inventory_at(url).await;
    assert_partial(&stack, "SUBGRAPH_TIMEOUT").await;
}

#[tokio::test]
async fn a_subgraph_answering_500() {
    let router = Router::new().route(
        "/graphql",
        post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
    );
    let (url, _task) = misbehaving(router).await;
    let stack = stack_with_inventory_at(url).await;
    assert_partial(&stack, "SUBGRAPH_HTTP_ERROR").await;
}

#[tokio::test]
async fn a_subgraph_answering_malformed_json() {
    let router = Router::new().route(
        "/graphql",
        post(|| async { "{\"data\": {\"_entities\": [" }),
    );
    let (url, _task) = misbehaving(router).await;
    let stack = stack_with_inventory_at(url).await;
    assert_partial(&stack, "SUBGRAPH_INVALID_RESPONSE").await;
}
