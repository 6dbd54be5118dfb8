//! `gateway serve`: load a supergraph and a config, serve GraphQL over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use gateway::config::Config;
use gateway::gateway::Gateway;
use gateway::startup::{build_gateway, load_supergraph};
use gateway::supergraph::Supergraph;
use tokio::net::TcpListener;

pub async fn serve(
    supergraph: Option<PathBuf>,
    listen: Option<SocketAddr>,
    config: Option<PathBuf>,
) -> Result<(), String> {
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
    let path = supergraph
        .or_else(|| config.supergraph.clone())
        .ok_or("no supergraph: pass --supergraph FILE or set `supergraph:` in the config")?;
    let supergraph = load_supergraph(&path).map_err(|e| e.to_string())?;
    run_gateway(supergraph, &config).await
}

pub async fn run_gateway(supergraph: Supergraph, config: &Config) -> Result<(), String> {
    let gateway = Arc::new(build_gateway(supergraph, config).map_err(|e| e.to_string())?);
    serve_gateway(gateway, config).await
}

/// Serves an already built gateway until Ctrl-C.
pub async fn serve_gateway(gateway: Arc<Gateway>, config: &Config) -> Result<(), String> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("gateway listening on http://{address}/graphql");
    gateway::server::serve(
        listener,
        gateway::server::router(gateway),
        shutdown_signal(),
    )
    .await
    .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
