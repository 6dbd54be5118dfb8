//! The `subscriptions:` section of the config (docs/config.md, docs/realtime.md).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubscriptionsConfig {
    /// Whether subscription operations and live queries are served at all (WebSocket, SSE,
    /// multipart).
    pub enabled: bool,
    /// Subscriptions one WebSocket connection may have open at once.
    pub max_per_connection: usize,
    /// Client subscriptions open at once on this instance, over every transport.
    pub max_total: usize,
    /// WebSocket connections open at once (an upgraded socket leaves the edge's connection
    /// count, and one may idle with no operation).
    pub max_websockets: usize,
    /// How often an idle stream shows it is alive: a WebSocket `ping` (`ka` for the legacy
    /// protocol), an SSE comment, a multipart `{}` part.
    pub heartbeat_ms: u64,
    /// How long a WebSocket client has to send `connection_init` after connecting.
    pub connection_init_timeout_ms: u64,
    /// Events of one shared upstream held for its slowest subscriber; one that falls
    /// further behind gets an error and its subscription ends.
    pub buffer: usize,
    /// The least time between two executions of one live query, in milliseconds: the
    /// invalidations that arrive meanwhile are answered by one execution after it.
    /// `@live(throttle:)` may ask for longer, never for shorter.
    pub live_throttle_ms: u64,
    /// How the gateway opens subscriptions on every subgraph unless overridden below.
    pub subgraph_defaults: UpstreamConfig,
    /// Per subgraph, by its name in the supergraph.
    pub subgraphs: BTreeMap<String, UpstreamOverrides>,
}

impl Default for SubscriptionsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_per_connection: 100,
            max_total: 10_000,
            max_websockets: 10_000,
            heartbeat_ms: 10_000,
            connection_init_timeout_ms: 10_000,
            buffer: 128,
            live_throttle_ms: 200,
            subgraph_defaults: UpstreamConfig::default(),
            subgraphs: BTreeMap::new(),
        }
    }
}

impl SubscriptionsConfig {
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms.max(1))
    }

    /// The least time between two executions of a live query that asked for `throttle_ms`.
    pub fn live_throttle(&self, throttle_ms: Option<u64>) -> Duration {
        Duration::from_millis(throttle_ms.unwrap_or(0).max(self.live_throttle_ms))
    }

    pub fn connection_init_timeout(&self) -> Duration {
        Duration::from_millis(self.connection_init_timeout_ms)
    }

    /// A setting that cannot work, naming its key.
    pub fn check(&self) -> Result<(), String> {
        for (key, value) in [
            ("max_per_connection", self.max_per_connection),
            ("max_total", self.max_total),
            ("max_websockets", self.max_websockets),
            ("buffer", self.buffer),
        ] {
            if value == 0 {
                return Err(format!("subscriptions.{key} must be at least 1"));
            }
        }
        if self.heartbeat_ms == 0 {
            return Err("subscriptions.heartbeat_ms must be at least 1".into());
        }
        Ok(())
    }

    /// How subscriptions are opened on `subgraph`.
    pub fn upstream(&self, subgraph: &str) -> UpstreamConfig {
        let own = self.subgraphs.get(subgraph);
        UpstreamConfig {
            protocol: own
                .and_then(|o| o.protocol)
                .unwrap_or(self.subgraph_defaults.protocol),
            url: own
                .and_then(|o| o.url.clone())
                .or_else(|| self.subgraph_defaults.url.clone()),
            connect_timeout_ms: own
                .and_then(|o| o.connect_timeout_ms)
                .unwrap_or(self.subgraph_defaults.connect_timeout_ms),
        }
    }
}

/// The protocol a subgraph's subscriptions are opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamProtocol {
    /// `graphql-transport-ws` over a WebSocket per upstream subscription.
    Websocket,
    /// GraphQL over SSE, distinct connections mode (a POST answered with text/event-stream).
    Sse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    pub protocol: UpstreamProtocol,
    /// Where subscriptions go when not where queries go (`subgraphs.<name>.url`, else the
    /// routing URL); `ws://`/`wss://` or `http://`/`https://` (either is turned into the
    /// other as the protocol needs).
    pub url: Option<String>,
    /// How long opening a subscription may take (connection, handshake, acknowledgement).
    pub connect_timeout_ms: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            protocol: UpstreamProtocol::Websocket,
            url: None,
            connect_timeout_ms: 5_000,
        }
    }
}

/// `subscriptions.subgraphs.<name>`: each unset key keeps `subgraph_defaults`' value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamOverrides {
    pub protocol: Option<UpstreamProtocol>,
    pub url: Option<String>,
    pub connect_timeout_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_subgraph_keys_override_the_defaults_and_unknown_keys_are_refused() {
        let config: SubscriptionsConfig = serde_yaml::from_str(
            "subgraph_defaults: { connect_timeout_ms: 100 }\n\
             subgraphs: { inventory: { protocol: sse } }",
        )
        .unwrap();
        let inventory = config.upstream("inventory");
        assert_eq!(inventory.protocol, UpstreamProtocol::Sse);
        assert_eq!(inventory.connect_timeout_ms, 100);
        assert_eq!(
            config.upstream("reviews").protocol,
            UpstreamProtocol::Websocket
        );
        for bad in [
            "max_subscriptions: 3",
            "subgraphs: { inventory: { protocol: grpc } }",
            "subgraphs: { inventory: { timeout: 3 } }",
        ] {
            assert!(
                serde_yaml::from_str::<SubscriptionsConfig>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
