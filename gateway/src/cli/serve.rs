//! `gateway serve`: load a supergraph and a config, serve GraphQL over HTTP.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use gateway::config::Config;
use gateway::edge::Edge;
use gateway::gateway::Gateway;
use gateway::startup::{build_gateway, load_supergraph};
use tokio::net::TcpListener;

pub async fn serve(
    supergraph: Option<PathBuf>,
    listen: Option<String>,
    config: Option<PathBuf>,
) -> Result<(), String> {
    // First: a SIGTERM while the supergraph loads must still stop the process (even as PID 1).
    let shutdown = gateway::edge::on_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    let mut config = match config {
        Some(path) => Config::load(&path).map_err(|e| e.to_string())?,
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
    let path = supergraph
        .or_else(|| config.supergraph.clone())
        .ok_or("no supergraph: pass --supergraph FILE or set `supergraph:` in the config")?;
    let supergraph = load_supergraph(&path).map_err(|e| e.to_string())?;
    let gateway = match build_gateway(supergraph, &config) {
        Ok(gateway) => Arc::new(gateway),
        Err(error) => {
            telemetry.shutdown().await;
            return Err(error.to_string());
        }
    };
    let result = serve_gateway(gateway.clone(), &config, shutdown).await;
    // While the gateway is alive: the last OTLP metrics are read from its counters.
    telemetry.shutdown().await;
    drop(gateway);
    result
}

/// Serves an already built gateway until `shutdown` (SIGTERM or SIGINT: [`gateway::edge::on_signal`])
/// resolves, then finishes the requests in flight and returns.
pub async fn serve_gateway(
    gateway: Arc<Gateway>,
    config: &Config,
    shutdown: impl Future<Output = &'static str> + Send + 'static,
) -> Result<(), String> {
    let edge = Arc::new(Edge::new(config).await.map_err(|e| e.to_string())?);
    let listener = TcpListener::bind(config.listen.as_str())
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    log_supergraph(&gateway, config);
    let metrics_server = match &config.telemetry.metrics.listen {
        Some(listen) => Some(serve_metrics(listen, gateway.clone(), edge.clone()).await?),
        None => None,
    };
    tracing::info!("gateway listening on http://{address}/graphql");
    if config.playground {
        tracing::info!("playground: http://{address}/graphql (open it in a browser)");
    }
    let shutdown = async move {
        let signal = shutdown.await;
        tracing::info!("{signal} received");
    };
    gateway::server::serve(
        listener,
        gateway::server::router(gateway, edge),
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

/// The startup lines that say what is served: the supergraph's hash and its subgraphs.
fn log_supergraph(gateway: &Gateway, config: &Config) {
    let supergraph = gateway.supergraph();
    tracing::info!(
        schema_hash = %gateway::telemetry::schema_hash(supergraph),
        subgraphs = supergraph.subgraphs().len(),
        "supergraph loaded"
    );
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
    gateway: Arc<Gateway>,
    edge: Arc<Edge>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} (telemetry.metrics.listen): {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("metrics on http://{address}/metrics");
    let router = gateway::server::metrics_router(gateway, edge);
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!("the metrics listener failed: {error}");
        }
    }))
}
