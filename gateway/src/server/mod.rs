//! The HTTP server (axum): GraphQL over HTTP on `/graphql` (POST and GET), the playground for
//! browsers, `/health` and `/ready`, `/metrics` and `/invalidate`. It knows the [`Gateway`]
//! facade (through the [`LiveGateway`] that hot reload swaps) and the [`Edge`] only:
//! connections, CORS, compression, request limits and CSRF are the edge's ([`crate::edge`]).

mod body;
mod graphql_http;
mod health;
pub(crate) mod media_type;
mod metrics;
pub mod playground;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::edge::{Edge, ServerConfig};
use crate::gateway::Gateway;
use crate::reload::LiveGateway;

pub use health::Readiness;

/// What every handler reads. One `Arc`: axum clones the state for every request.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Handlers>);

pub(crate) struct Handlers {
    live: Arc<LiveGateway>,
    edge: Arc<Edge>,
    readiness: Arc<Readiness>,
    playground: bool,
}

impl std::ops::Deref for AppState {
    type Target = Handlers;

    fn deref(&self) -> &Handlers {
        &self.0
    }
}

/// The routes of a gateway that is never reloaded, behind the edge's HTTP layers.
pub fn router(gateway: Arc<Gateway>, edge: Arc<Edge>) -> Router {
    let playground = gateway.playground();
    live_router(
        LiveGateway::fixed(gateway),
        Arc::new(Readiness::default()),
        edge,
        playground,
    )
}

/// The routes of a gateway whose supergraph may be swapped (or not loaded yet), behind the
/// edge's HTTP layers. `playground`: whether browsers get the playground (`playground:`).
pub fn live_router(
    live: Arc<LiveGateway>,
    readiness: Arc<Readiness>,
    edge: Arc<Edge>,
    playground: bool,
) -> Router {
    let mut routes = Router::new();
    if playground {
        routes = routes.merge(playground::routes());
    }
    let routes = routes
        .route(
            "/graphql",
            get(graphql_http::get_graphql).post(graphql_http::post_graphql),
        )
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics::public_metrics))
        .route("/invalidate", post(metrics::invalidate))
        .with_state(AppState(Arc::new(Handlers {
            live,
            edge: edge.clone(),
            readiness,
            playground,
        })));
    edge.wrap(routes)
}

/// The routes of `telemetry.metrics.listen`: `/metrics`, `/health` and `/ready`, for scrapers
/// and probes on an address that need not be public.
pub fn metrics_router(
    live: Arc<LiveGateway>,
    readiness: Arc<Readiness>,
    edge: Arc<Edge>,
) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .with_state(AppState(Arc::new(Handlers {
            live,
            edge,
            readiness,
            playground: false,
        })))
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
