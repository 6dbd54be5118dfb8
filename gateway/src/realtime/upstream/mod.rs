//! Subscriptions opened on subgraphs: one stream of GraphQL responses per upstream
//! subscription, over `graphql-transport-ws` ([`ws`]) or GraphQL over SSE ([`sse`]), as the
//! subgraph's `subscriptions.subgraphs.<name>.protocol` says.

mod sse;
mod ws;

use std::time::Duration;

use futures::stream::BoxStream;

use super::config::{UpstreamConfig, UpstreamProtocol};
use crate::executor::SubgraphResponse;
use crate::response::GraphQLError;

/// Where and how one subgraph's subscriptions are opened.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub protocol: UpstreamProtocol,
    /// `ws(s)://` for WebSocket, `http(s)://` for SSE.
    pub url: String,
    pub connect_timeout: Duration,
}

impl Endpoint {
    pub fn new(name: &str, url: &str, config: &UpstreamConfig) -> Self {
        let url = match config.protocol {
            UpstreamProtocol::Websocket => {
                with_scheme(url, &[("http://", "ws://"), ("https://", "wss://")])
            }
            UpstreamProtocol::Sse => {
                with_scheme(url, &[("ws://", "http://"), ("wss://", "https://")])
            }
        };
        Self {
            name: name.to_string(),
            protocol: config.protocol,
            url,
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
        }
    }
}

fn with_scheme(url: &str, swaps: &[(&str, &str)]) -> String {
    for (from, to) in swaps {
        if let Some(rest) = url.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    url.to_string()
}

/// One subscription to open: the GraphQL request body and the headers forwarded with it.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// `{"query", "operationName", "variables"}` as JSON text.
    pub body: String,
    pub headers: http::HeaderMap,
}

/// Why an upstream subscription could not open, or stopped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("could not open the subscription on subgraph \"{subgraph}\": {reason}")]
    Open { subgraph: String, reason: String },
    #[error("subgraph \"{subgraph}\" closed the subscription without completing it: {reason}")]
    Closed { subgraph: String, reason: String },
    /// The subgraph refused the operation (GraphQL errors instead of a stream).
    #[error("subgraph \"{subgraph}\" refused the subscription")]
    Refused {
        subgraph: String,
        errors: Vec<GraphQLError>,
    },
}

impl UpstreamError {
    /// The errors a client sees for it.
    pub fn to_graphql_errors(&self) -> Vec<GraphQLError> {
        let subgraph = match self {
            UpstreamError::Open { subgraph, .. }
            | UpstreamError::Closed { subgraph, .. }
            | UpstreamError::Refused { subgraph, .. } => subgraph,
        };
        match self {
            UpstreamError::Refused { errors, .. } if !errors.is_empty() => errors
                .iter()
                .cloned()
                .map(|mut error| {
                    error
                        .extensions
                        .entry("code")
                        .or_insert_with(|| "DOWNSTREAM_SERVICE_ERROR".into());
                    error.with_extension("serviceName", subgraph.clone())
                })
                .collect(),
            other => vec![
                GraphQLError::new(other.to_string())
                    .with_code(super::UPSTREAM_CODE)
                    .with_extension("serviceName", subgraph.clone()),
            ],
        }
    }
}

/// The events of an open upstream subscription, in order. It ends after its subgraph
/// completes it (cleanly), or after an error (nothing follows one).
pub type UpstreamStream = BoxStream<'static, Result<SubgraphResponse, UpstreamError>>;

/// Opens `request` on `endpoint`.
pub async fn open(
    endpoint: &Endpoint,
    client: &reqwest::Client,
    request: UpstreamRequest,
) -> Result<UpstreamStream, UpstreamError> {
    let opening = async {
        match endpoint.protocol {
            UpstreamProtocol::Websocket => ws::open(endpoint, request).await,
            UpstreamProtocol::Sse => sse::open(endpoint, client, request).await,
        }
    };
    match tokio::time::timeout(endpoint.connect_timeout, opening).await {
        Ok(result) => result,
        Err(_) => Err(UpstreamError::Open {
            subgraph: endpoint.name.clone(),
            reason: format!(
                "no answer within {} ms (connect_timeout_ms)",
                endpoint.connect_timeout.as_millis()
            ),
        }),
    }
}

/// An event's payload (a GraphQL response) as the executor takes it.
fn event(endpoint: &Endpoint, payload: &[u8]) -> Result<SubgraphResponse, UpstreamError> {
    crate::fetch::read_response(200, None, payload).map_err(|e| UpstreamError::Closed {
        subgraph: endpoint.name.clone(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_protocol() {
        let websocket = UpstreamConfig::default();
        let sse = UpstreamConfig {
            protocol: UpstreamProtocol::Sse,
            ..Default::default()
        };
        let url = |config, url| Endpoint::new("reviews", url, config).url;
        assert_eq!(url(&websocket, "http://a:1/graphql"), "ws://a:1/graphql");
        assert_eq!(url(&websocket, "https://a/graphql"), "wss://a/graphql");
        assert_eq!(url(&websocket, "ws://a/graphql"), "ws://a/graphql");
        assert_eq!(url(&sse, "ws://a:1/graphql"), "http://a:1/graphql");
        assert_eq!(url(&sse, "https://a/graphql"), "https://a/graphql");
    }

    #[test]
    fn errors_name_the_subgraph() {
        let closed = UpstreamError::Closed {
            subgraph: "reviews".into(),
            reason: "connection lost".into(),
        };
        let errors = closed.to_graphql_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].extensions.get("code").and_then(|c| c.as_str()),
            Some(crate::realtime::UPSTREAM_CODE)
        );
        assert_eq!(
            errors[0]
                .extensions
                .get("serviceName")
                .and_then(|c| c.as_str()),
            Some("reviews")
        );
        let refused = UpstreamError::Refused {
            subgraph: "reviews".into(),
            errors: vec![GraphQLError::new("unknown field")],
        };
        let errors = refused.to_graphql_errors();
        assert_eq!(errors[0].message, "unknown field");
        assert_eq!(
            errors[0].extensions.get("code").and_then(|c| c.as_str()),
            Some("DOWNSTREAM_SERVICE_ERROR")
        );
    }
}
