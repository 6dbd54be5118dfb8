//! Test support: the demo subgraphs and a gateway over them, each a real HTTP server on a
//! free loopback port, stopped when the [`Stack`] is dropped; and a real Redis.

pub mod browser;
pub mod memory;
pub mod recording_proxy;
pub mod redis_server;
pub mod tcp_proxy;

use std::net::SocketAddr;
use std::sync::Arc;

use gateway::config::{Config, SubgraphConfig};
use gateway::supergraph::Supergraph;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The checked-in supergraph of the demo services.
pub const DEMO_SUPERGRAPH: &str = include_str!("../../schema/supergraph.graphql");

/// Servers running for one test.
pub struct Stack {
    pub gateway_url: String,
    tasks: Vec<JoinHandle<()>>,
    client: reqwest::Client,
}

impl Drop for Stack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A free loopback listener.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    (listener, address)
}

/// The four demo subgraphs on free ports, each publishing a change event per mutation through
/// `publisher`; stopped when dropped.
pub struct Subgraphs {
    pub urls: std::collections::BTreeMap<String, String>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Subgraphs {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Subgraphs {
    pub async fn start(publisher: subgraphs::events::Publisher) -> Self {
        let mut urls = std::collections::BTreeMap::new();
        let mut tasks = Vec::new();
        for service in subgraphs::Service::ALL {
            let (listener, address) = listener().await;
            let publisher = publisher.clone();
            tasks.push(tokio::spawn(async move {
                let _ = subgraphs::serve_with(service, listener, publisher).await;
            }));
            urls.insert(
                service.name().to_string(),
                format!("http://{address}/graphql"),
            );
        }
        Self { urls, tasks }
    }

    /// A gateway config that routes to these subgraphs.
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        for (name, url) in &self.urls {
            config.subgraphs.insert(
                name.clone(),
                SubgraphConfig {
                    url: Some(url.clone()),
                    ..Default::default()
                },
            );
        }
        config
    }

    /// Sends a request straight to one subgraph (as another service would), bypassing every
    /// gateway.
    pub async fn request(&self, subgraph: &str, query: &str) -> Value {
        reqwest::Client::new()
            .post(&self.urls[subgraph])
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await
            .expect("subgraph answers")
            .json()
            .await
            .expect("JSON")
    }
}

impl Stack {
    /// The four demo subgraphs and a gateway over them.
    pub async fn demo() -> Stack {
        Self::demo_with(|_| {}).await
    }

    /// Like [`Stack::demo`], with a chance to change the gateway's config (e.g. point a
    /// subgraph elsewhere) after the demo subgraphs' URLs are set.
    pub async fn demo_with(adjust: impl FnOnce(&mut Config)) -> Stack {
        Self::demo_over(DEMO_SUPERGRAPH, adjust).await
    }

    /// The demo subgraphs behind a gateway serving `supergraph` (the demo's, composed another
    /// way or with other directives), with `adjust` applied to its config.
    pub async fn demo_over(supergraph: &str, adjust: impl FnOnce(&mut Config)) -> Stack {
        let mut config = Config::default();
        let mut tasks = Vec::new();
        for service in subgraphs::Service::ALL {
            let (listener, address) = listener().await;
            tasks.push(tokio::spawn(async move {
                let _ = subgraphs::serve(service, listener).await;
            }));
            config.subgraphs.insert(
                service.name().to_string(),
                SubgraphConfig {
                    url: Some(format!("http://{address}/graphql")),
                    ..Default::default()
                },
            );
        }
        adjust(&mut config);
        let mut stack = Self::gateway(supergraph, &config).await;
        stack.tasks.extend(tasks);
        stack
    }

    /// A gateway over `supergraph` with `config` (its `listen` is ignored: a free port).
    pub async fn gateway(supergraph: &str, config: &Config) -> Stack {
        let supergraph = Supergraph::parse(supergraph).expect("supergraph loads");
        let gateway =
            Arc::new(gateway::startup::build_gateway(supergraph, config).expect("gateway builds"));
        let (listener, address) = listener().await;
        let edge = Arc::new(
            gateway::edge::Edge::new(config)
                .await
                .expect("edge config is valid"),
        );
        let router = gateway::server::router(gateway, edge);
        // The connection layer's settings come from the config (`server:`), as in production.
        let server = config.server.clone();
        let task = tokio::spawn(async move {
            let _ = gateway::server::serve(listener, router, &server, std::future::pending()).await;
        });
        Stack {
            gateway_url: format!("http://{address}/graphql"),
            tasks: vec![task],
            client: reqwest::Client::new(),
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// POSTs a query and returns the JSON response (any status).
    pub async fn query(&self, query: &str) -> Value {
        self.request(serde_json::json!({ "query": query })).await
    }

    /// POSTs a GraphQL request body and returns the JSON response (any status).
    pub async fn request(&self, body: Value) -> Value {
        self.request_with(body, &[]).await
    }

    /// POSTs a GraphQL request body with extra headers.
    pub async fn request_with(&self, body: Value, headers: &[(&str, &str)]) -> Value {
        let mut request = self.client.post(&self.gateway_url).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .send()
            .await
            .expect("gateway answers")
            .json()
            .await
            .expect("JSON response")
    }

    /// The gateway's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.gateway_url.replace("/graphql", "/metrics"))
            .send()
            .await
            .expect("gateway answers")
            .text()
            .await
            .expect("text")
    }
}
