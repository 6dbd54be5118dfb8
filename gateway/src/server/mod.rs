//! The HTTP server (axum): GraphQL over HTTP on `/graphql` (POST and GET), the playground for
//! browsers, and `/health`. It knows the [`Gateway`] facade and the [`Edge`] only:
//! connections, CORS, compression, request limits and CSRF are the edge's ([`crate::edge`]).

mod body;
mod graphql_http;
pub(crate) mod media_type;
mod metrics;
pub mod playground;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::edge::{Edge, ServerConfig};
use crate::gateway::Gateway;

/// What every handler reads.
#[derive(Clone)]
pub(crate) struct AppState {
    gateway: Arc<Gateway>,
    edge: Arc<Edge>,
}

/// The routes of a gateway, behind the edge's HTTP layers.
pub fn router(gateway: Arc<Gateway>, edge: Arc<Edge>) -> Router {
    let mut routes = Router::new();
    if gateway.playground() {
        routes = routes.merge(playground::routes());
    }
    let routes = routes
        .route(
            "/graphql",
            get(graphql_http::get_graphql).post(graphql_http::post_graphql),
        )
        .route("/health", get(health))
        .route("/invalidate", post(metrics::invalidate));
    let routes = if gateway.telemetry().separate_metrics {
        routes
    } else {
        routes.route("/metrics", get(metrics::metrics))
    };
    let routes = routes.with_state(AppState {
        gateway,
        edge: edge.clone(),
    });
    edge.wrap(routes)
}

/// The routes of `telemetry.metrics.listen`: `/metrics` and `/health`, for scrapers and
/// probes on an address that need not be public.
pub fn metrics_router(gateway: Arc<Gateway>, edge: Arc<Edge>) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .route("/health", get(health))
        .with_state(AppState { gateway, edge })
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "UP" }))
}

/// Serves `router` on `listener` behind the edge's connection limits until `shutdown`
/// resolves, then lets requests in flight finish (`server.shutdown_timeout_ms`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::edge::serve(listener, router, config, shutdown).await
}
