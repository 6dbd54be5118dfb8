//! The HTTP server (axum): GraphQL over HTTP on `/graphql` (POST and GET), GraphiQL for
//! browsers, and `/health`. It knows the [`Gateway`] facade only.

mod body;
mod graphiql;
mod graphql_http;
mod media_type;
mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::gateway::Gateway;

/// The routes of a gateway.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route(
            "/graphql",
            get(graphql_http::get_graphql).post(graphql_http::post_graphql),
        )
        .route("/health", get(health))
        .route("/metrics", get(metrics::metrics))
        .route("/invalidate", post(metrics::invalidate))
        .with_state(gateway)
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "UP" }))
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
