//! Cheap subgraphs for the load benchmark: accounts, products, reviews and inventory over a
//! catalogue built once at start ([`data::Catalog`]), so that a request costs them parsing,
//! resolving from memory and serialising, and the gateway's own cost dominates a run. Their
//! shape follows the field's public benchmark (graphql-hive/graphql-gateways-benchmark):
//! nullable fields, `@requires` on `shippingEstimate`, `@provides` on `Review.author`, and one
//! query from the two root fields `users` and `topProducts` (the `cheap` scenario of
//! `benches/load/run.py`; schemas and supergraph in `benches/load/scenarios/cheap/`).
//!
//! One process serves the four, each on its own path (`POST /accounts`, ...), counts the
//! requests each received (`GET /requests`: the benchmark's check reads how many subgraph
//! requests a gateway sent for one query) and answers `GET /health`. Unlike the demo services
//! they have no mutations, subscriptions or change events.

pub mod accounts;
pub mod data;
pub mod inventory;
pub mod products;
pub mod reviews;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::{Executor, SDLExportOptions};
use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};

/// The four cheap subgraphs' names, which are also their paths.
pub const NAMES: [&str; 4] = ["accounts", "products", "reviews", "inventory"];

/// The federation SDL of the cheap subgraph `name` (as `{ _service { sdl } }` returns it).
pub fn sdl(name: &str) -> Option<String> {
    let options = SDLExportOptions::new().federation().compose_directive();
    Some(match name {
        "accounts" => accounts::schema().sdl_with_options(options),
        "products" => products::schema().sdl_with_options(options),
        "reviews" => reviews::schema().sdl_with_options(options),
        "inventory" => inventory::schema().sdl_with_options(options),
        _ => return None,
    })
}

/// Requests received, per subgraph, in [`NAMES`] order.
#[derive(Default)]
struct Counts([AtomicU64; 4]);

/// The router: `POST /<name>` per subgraph, `GET /requests`, `GET /health`.
pub fn router() -> Router {
    let counts = Arc::new(Counts::default());
    Router::new()
        .route("/accounts", post(graphql::<accounts::AccountsSchema>))
        .with_state((accounts::schema(), counts.clone(), 0))
        .route("/products", post(graphql::<products::ProductsSchema>))
        .with_state((products::schema(), counts.clone(), 1))
        .route("/reviews", post(graphql::<reviews::ReviewsSchema>))
        .with_state((reviews::schema(), counts.clone(), 2))
        .route("/inventory", post(graphql::<inventory::InventorySchema>))
        .with_state((inventory::schema(), counts.clone(), 3))
        .route("/requests", get(requests))
        .with_state(counts)
        .route("/health", get(|| async { "ok" }))
}

/// Serves the four on `listener` until `shutdown` resolves.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    data::Catalog::get();
    axum::serve(listener, router())
        .with_graceful_shutdown(shutdown)
        .await
}

async fn requests(State(counts): State<Arc<Counts>>) -> Json<serde_json::Value> {
    let map = NAMES
        .iter()
        .zip(&counts.0)
        .map(|(name, count)| ((*name).to_owned(), count.load(Ordering::Relaxed).into()))
        .collect();
    Json(serde_json::Value::Object(map))
}

/// One GraphQL request (no batches): JSON in, JSON out; a body that is not a GraphQL request
/// is a 400 with a GraphQL error.
async fn graphql<E: Executor>(
    State((executor, counts, index)): State<(E, Arc<Counts>, usize)>,
    body: Bytes,
) -> Response {
    counts.0[index].fetch_add(1, Ordering::Relaxed);
    let response = match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => executor.execute(request).await,
        Err(err) => {
            let message = format!("request body is not a GraphQL request in JSON: {err}");
            let response =
                async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                    message, None,
                )]);
            return (StatusCode::BAD_REQUEST, json(&response)).into_response();
        }
    };
    json(&response).into_response()
}

fn json(response: &async_graphql::Response) -> Response {
    let body = serde_json::to_vec(response).unwrap_or_else(|_| b"{}".to_vec());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use std::{fs, path::PathBuf};

    use super::*;

    fn scenario_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/load/scenarios/cheap")
    }

    /// `benches/load/scenarios/cheap/<name>.graphql` must be what the subgraphs export; run
    /// with `UPDATE_SDL=1` to rewrite them (then recompose the supergraph, see its README).
    #[test]
    fn checked_in_sdl_files_match_the_subgraphs() {
        let update = std::env::var_os("UPDATE_SDL").is_some_and(|v| v != "0");
        for name in NAMES {
            let path = scenario_dir().join(format!("{name}.graphql"));
            let sdl = sdl(name).expect("a cheap subgraph");
            if update {
                fs::write(&path, &sdl).expect("write the SDL");
                continue;
            }
            let on_disk = fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == sdl,
                "{} is stale; run UPDATE_SDL=1 cargo test -p subgraphs --lib cheap",
                path.display()
            );
        }
    }

    #[test]
    fn the_catalogue_is_consistent() {
        let catalog = data::Catalog::build();
        assert_eq!(catalog.users.len(), 6);
        assert!(catalog.reviews_by_author.iter().all(|r| r.len() == 2));
        assert_eq!(
            catalog
                .reviews_by_product
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>(),
            [3, 3, 3, 3, 0, 0, 0, 0, 0]
        );
        let lengths = catalog.reviews.iter().map(|r| r.body.len());
        assert!(lengths.clone().all(|n| (250..=720).contains(&n)));
        assert_eq!(catalog.user("6"), Some(5));
        assert_eq!(catalog.user("7"), None);
        assert_eq!(catalog.product("0"), None);
    }

    /// Through the real router: entities resolve, `@requires` fields are used, each request is
    /// counted on its subgraph.
    #[tokio::test]
    async fn serves_entities_and_counts_requests() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router()).await });
        let client = reqwest::Client::new();
        let post = |path: &str, body: serde_json::Value| {
            let request = client.post(format!("{base}/{path}")).json(&body);
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.json::<serde_json::Value>().await.unwrap()
            }
        };
        let inventory = post(
            "inventory",
            serde_json::json!({
                "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc inStock shippingEstimate } } }",
                "variables": {"r": [
                    {"__typename": "Product", "upc": "1", "price": 45, "weight": 1200},
                    {"__typename": "Product", "upc": "5", "price": 1450, "weight": 14000},
                    {"__typename": "Product", "upc": "2"},
                ]},
            }),
        )
        .await;
        assert_eq!(
            inventory["data"]["_entities"],
            serde_json::json!([
                {"upc": "1", "inStock": true, "shippingEstimate": 600},
                {"upc": "5", "inStock": true, "shippingEstimate": 0},
                {"upc": "2", "inStock": false, "shippingEstimate": null},
            ])
        );
        let reviews = post(
            "reviews",
            serde_json::json!({"query": "{ _entities(representations: [{__typename: \"User\", id: \"2\"}]) { ... on User { reviews { id author { id username } product { upc } } } } }"}),
        )
        .await;
        assert_eq!(
            reviews["data"]["_entities"][0]["reviews"],
            serde_json::json!([
                {"id": "2", "author": {"id": "2", "username": "ilya"}, "product": {"upc": "2"}},
                {"id": "8", "author": {"id": "2", "username": "ilya"}, "product": {"upc": "4"}},
            ])
        );
        let users = post(
            "accounts",
            serde_json::json!({"query": "{ users { id name } }"}),
        )
        .await;
        assert_eq!(users["data"]["users"].as_array().map(Vec::len), Some(6));
        let counts: serde_json::Value = client
            .get(format!("{base}/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            counts,
            serde_json::json!({"accounts": 1, "products": 0, "reviews": 1, "inventory": 1})
        );
    }
}
