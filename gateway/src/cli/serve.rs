//! `gateway serve`: load a supergraph and a config, serve GraphQL over HTTP.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use gateway::config::Config;
use gateway::edge::Edge;
use gateway::gateway::Gateway;
use gateway::reload::{LiveGateway, Reloader};
use gateway::server::Readiness;
use gateway::startup::SharedParts;
use tokio::net::TcpListener;

pub async fn serve(
    supergraph: Option<PathBuf>,
    listen: Option<String>,
    config_file: Option<PathBuf>,
    hot_reload: bool,
) -> Result<(), String> {
    // First: a SIGTERM while the supergraph loads must still stop the process (even as PID 1).
    let shutdown = gateway::edge::on_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    let mut config = match &config_file {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => {
            let mut config = Config::default();
            config.apply_env().map_err(|e| e.to_string())?;
            config
        }
    };
    if let Some(listen) = listen {
        config.listen = listen;
    }
    let telemetry =
        gateway::telemetry::init(&config.log, &config.telemetry).map_err(|e| e.to_string())?;
    if let Some(path) = supergraph {
        // The command line's file wins over the config's file or URL.
        config.supergraph.path = Some(path);
        config.supergraph.url = None;
    }
    if hot_reload {
        if config.supergraph.url.is_some() {
            tracing::info!("--hot-reload: supergraph.url is polled already");
        } else {
            config.supergraph.watch = true;
        }
    }
    config
        .supergraph
        .check()
        .map_err(|e| format!("supergraph: {e}"))?;
    let config = Arc::new(config);
    let shared = SharedParts::start(&config).map_err(|e| e.to_string())?;
    let live = LiveGateway::empty();
    let reloader = Reloader::new(config.clone(), shared, live.clone());
    // With hot reload on, the config file's reloadable parts follow the file too.
    let watch_config = (hot_reload || config.supergraph.watch)
        .then_some(config_file)
        .flatten();
    let sources = match gateway::reload::start(&reloader, watch_config).await {
        Ok(sources) => sources,
        Err(error) => {
            telemetry.shutdown().await;
            return Err(error.to_string());
        }
    };
    let result = serve_live(live, &config, shutdown).await;
    drop(sources);
    // While the gateway is alive: the last OTLP metrics are read from its counters.
    telemetry.shutdown().await;
    result
}

/// Serves an already built gateway until `shutdown` (SIGTERM or SIGINT: [`gateway::edge::on_signal`])
/// resolves, then finishes the requests in flight and returns.
pub async fn serve_gateway(
    gateway: Arc<Gateway>,
    config: &Config,
    shutdown: impl Future<Output = &'static str> + Send + 'static,
) -> Result<(), String> {
    let supergraph = gateway.supergraph();
    tracing::info!(
        schema_hash = %gateway::telemetry::schema_hash(supergraph),
        subgraphs = supergraph.subgraphs().len(),
        "supergraph loaded"
    );
    serve_live(LiveGateway::fixed(gateway), config, shutdown).await
}

/// Serves whatever gateway `live` holds (none yet: 503 on `/graphql` and `/ready`) until
/// `shutdown`, then finishes the requests in flight and returns.
pub async fn serve_live(
    live: Arc<LiveGateway>,
    config: &Config,
    shutdown: impl Future<Output = &'static str> + Send + 'static,
) -> Result<(), String> {
    let readiness = Readiness::new(config).map_err(|e| format!("cache.redis_url: {e}"))?;
    let edge = Arc::new(Edge::new(config).await.map_err(|e| e.to_string())?);
    let listener = TcpListener::bind(config.listen.as_str())
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    if let Some(generation) = live.current() {
        // "supergraph loaded" is the reloader's line (at every load), or serve_gateway's.
        log_supergraph(&generation.gateway, config);
    }
    let metrics_server = match &config.telemetry.metrics.listen {
        Some(listen) => {
            Some(serve_metrics(listen, live.clone(), readiness.clone(), edge.clone()).await?)
        }
        None => None,
    };
    tracing::info!("gateway listening on http://{address}/graphql");
    if config.playground {
        tracing::info!("playground: http://{address}/graphql (open it in a browser)");
    }
    let serving = live.clone();
    let shutdown = async move {
        let signal = shutdown.await;
        tracing::info!("{signal} received");
        // Upgraded WebSockets and event streams are not requests the server can drain: each
        // subscription ends now with a last error naming the reason, then `complete`. (Those of
        // earlier generations were closed when a reload replaced them.)
        if let Some(generation) = serving.current() {
            generation
                .gateway
                .subscriptions()
                .close("the gateway is shutting down");
        }
    };
    gateway::server::serve(
        listener,
        gateway::server::live_router(live, readiness, edge, config.playground),
        &config.server,
        shutdown,
    )
    .await
    .map_err(|e| e.to_string())?;
    if let Some(task) = metrics_server {
        task.abort();
    }
    tracing::info!("gateway stopped");
    Ok(())
}

/// The startup lines that say where each subgraph is reached.
fn log_supergraph(gateway: &Gateway, config: &Config) {
    let supergraph = gateway.supergraph();
    for subgraph in supergraph.subgraphs() {
        let url = config
            .subgraphs
            .get(&*subgraph.name)
            .and_then(|own| own.url.as_deref())
            .unwrap_or(&subgraph.url);
        tracing::info!(subgraph = %subgraph.name, url, "subgraph {} at {url}", subgraph.name);
    }
}

/// `/metrics` and `/health` on their own listener (`telemetry.metrics.listen`).
async fn serve_metrics(
    listen: &str,
    live: Arc<LiveGateway>,
    readiness: Arc<Readiness>,
    edge: Arc<Edge>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} (telemetry.metrics.listen): {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("metrics on http://{address}/metrics");
    let router = gateway::server::metrics_router(live, readiness, edge);
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!("the metrics listener failed: {error}");
        }
    }))
}
