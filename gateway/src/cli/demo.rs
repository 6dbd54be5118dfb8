//! `gateway demo`: the four demo services and a gateway over them, in one process, with the
//! entity cache on and kept fresh by the services' change events over an in-process bus.

use std::sync::Arc;

use gateway::cache::{CacheConfig, Invalidation, Mode, PolicyConfig, SubgraphPolicyConfig};
use gateway::config::{Config, SubgraphConfig};
use gateway::edge::cors::CorsConfig;
use gateway::events::InProcessBus;
use gateway::startup::build_gateway;
use gateway::supergraph::Supergraph;
use subgraphs::events::{Callback, ChangeEvent};
use tokio::net::TcpListener;

use super::serve::serve_gateway;

/// The supergraph of the demo services, as `gateway demo` serves it.
const DEMO_SUPERGRAPH: &str = include_str!("../../../schema/supergraph.graphql");

/// The demo's cache: cached until an event says otherwise, except inventory, whose stock
/// levels are kept for 5 seconds at most (bounded staleness). A playground: any client may
/// ask with `x-cache-debug` which fetches the cache answered.
pub fn demo_cache() -> CacheConfig {
    CacheConfig {
        enabled: true,
        debug_header: Some("x-cache-debug".into()),
        defaults: PolicyConfig {
            mode: Some(Mode::Events),
            ..Default::default()
        },
        subgraphs: [(
            "inventory".to_string(),
            SubgraphPolicyConfig {
                policy: PolicyConfig {
                    mode: Some(Mode::Ttl),
                    ttl_seconds: Some(5),
                    ..Default::default()
                },
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    }
}

/// A service's change event, as the gateway reads it.
pub fn invalidation(event: ChangeEvent) -> Invalidation {
    Invalidation {
        subgraph: event.subgraph.to_string(),
        type_name: Some(event.type_name.to_string()),
        keys: event.keys.into_iter().map(Into::into).collect(),
    }
}

pub async fn demo(listen: String) -> Result<(), String> {
    let shutdown = gateway::edge::on_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    let mut config = Config {
        listen,
        cache: demo_cache(),
        // A playground: pages on any origin may try it.
        cors: CorsConfig::any_origin(),
        ..Config::default()
    };
    let mut listeners = Vec::new();
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
                ..Default::default()
            },
        );
        listeners.push((service, listener));
    }
    let supergraph = Supergraph::parse(DEMO_SUPERGRAPH).map_err(|e| e.to_string())?;
    let gateway = Arc::new(build_gateway(supergraph, &config).map_err(|e| e.to_string())?);
    let hooks = gateway
        .hooks()
        .cloned()
        .ok_or("the demo gateway has a cache")?;
    let bus = InProcessBus::start(hooks);
    for (service, listener) in listeners {
        let bus = bus.clone();
        let publisher = Arc::new(Callback(move |events: Vec<ChangeEvent>| {
            bus.publish(events.into_iter().map(invalidation).collect())
        }));
        tokio::spawn(async move {
            if let Err(e) = subgraphs::serve_with(service, listener, publisher).await {
                tracing::error!("{} subgraph stopped: {e}", service.name());
            }
        });
    }
    serve_gateway(gateway, &config, shutdown).await
}
