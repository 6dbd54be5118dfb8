//! `gateway demo`: the four demo services and a gateway over them, in one process.

use std::net::SocketAddr;

use gateway::config::{Config, SubgraphConfig};
use gateway::supergraph::Supergraph;
use tokio::net::TcpListener;

use super::serve::run_gateway;

/// The supergraph of the demo services, as `gateway demo` serves it.
const DEMO_SUPERGRAPH: &str = include_str!("../../../schema/supergraph.graphql");

pub async fn demo(listen: SocketAddr) -> Result<(), String> {
    let mut config = Config {
        listen,
        ..Config::default()
    };
    for service in subgraphs::Service::ALL {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!("{} subgraph on http://{address}/graphql", service.name());
        config.subgraphs.insert(
            service.name().to_string(),
            SubgraphConfig {
                url: Some(format!("http://{address}/graphql")),
                timeout_ms: None,
            },
        );
        tokio::spawn(async move {
            if let Err(e) = subgraphs::serve(service, listener).await {
                tracing::error!("{} subgraph stopped: {e}", service.name());
            }
        });
    }
    let supergraph = Supergraph::parse(DEMO_SUPERGRAPH).map_err(|e| e.to_string())?;
    tracing::info!("playground: http://{listen}/graphql");
    run_gateway(supergraph, &config).await
}
