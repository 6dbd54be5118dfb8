//! Change events: every mutation of a demo service tells the gateways what changed, so their
//! caches stay fresh. The wire shape is the gateway's documented event (docs/cache.md):
//! `{"subgraph": ..., "type": ..., "keys": [...]}` in the `event` field of a Redis Stream entry.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

/// What changed: entities of a type (by key), or the type as a whole (created entities,
/// changed lists).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeEvent {
    pub subgraph: &'static str,
    #[serde(rename = "type")]
    pub type_name: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Value>,
}

impl ChangeEvent {
    /// Entities of `type_name` changed.
    pub fn entity(subgraph: &'static str, type_name: &'static str, key: Value) -> Self {
        Self {
            subgraph,
            type_name,
            keys: vec![key],
        }
    }

    /// Something about `type_name` as a whole changed (e.g. an entity was created).
    pub fn of_type(subgraph: &'static str, type_name: &'static str) -> Self {
        Self {
            subgraph,
            type_name,
            keys: Vec::new(),
        }
    }
}

/// Where a service sends its change events.
pub trait ChangePublisher: Send + Sync {
    fn publish(&self, events: Vec<ChangeEvent>);
}

pub type Publisher = Arc<dyn ChangePublisher>;

/// Publishes nothing (a service on its own, without a cache to keep fresh).
pub struct Nowhere;

impl ChangePublisher for Nowhere {
    fn publish(&self, _events: Vec<ChangeEvent>) {}
}

/// Calls a function, e.g. to hand events to an in-process bus.
pub struct Callback<F>(pub F);

impl<F: Fn(Vec<ChangeEvent>) + Send + Sync> ChangePublisher for Callback<F> {
    fn publish(&self, events: Vec<ChangeEvent>) {
        (self.0)(events)
    }
}

/// `XADD <stream> * event <json>` for each mutation, sent in the background; with Redis down
/// the events are dropped (logged once) and the mutation still succeeds.
pub struct RedisPublisher {
    queue: tokio::sync::mpsc::UnboundedSender<Vec<ChangeEvent>>,
}

impl RedisPublisher {
    pub fn start(redis_url: &str, stream: String) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(redis_url)?;
        let (queue, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<ChangeEvent>>();
        tokio::spawn(async move {
            let mut connection = None;
            let mut healthy = true;
            while let Some(events) = receiver.recv().await {
                if connection.is_none() {
                    connection = client.get_multiplexed_async_connection().await.ok();
                }
                let Some(manager) = connection.as_mut() else {
                    if healthy {
                        tracing::warn!("cannot publish change events: Redis is unavailable");
                        healthy = false;
                    }
                    continue;
                };
                let payload = serde_json::to_string(&events).unwrap_or_default();
                let sent: redis::RedisResult<String> = redis::cmd("XADD")
                    .arg(&stream)
                    .arg("*")
                    .arg("event")
                    .arg(payload)
                    .query_async(manager)
                    .await;
                match sent {
                    Ok(_) => healthy = true,
                    Err(error) => {
                        connection = None;
                        if healthy {
                            tracing::warn!("cannot publish change events: {error}");
                            healthy = false;
                        }
                    }
                }
            }
        });
        Ok(Self { queue })
    }
}

impl ChangePublisher for RedisPublisher {
    fn publish(&self, events: Vec<ChangeEvent>) {
        let _ = self.queue.send(events);
    }
}

/// The publisher a resolver runs with.
pub(crate) fn publisher<'a>(ctx: &async_graphql::Context<'a>) -> Option<&'a Publisher> {
    ctx.data_opt::<Publisher>()
}

/// Publishes from a resolver, if the schema has a publisher.
pub(crate) fn publish(ctx: &async_graphql::Context<'_>, events: Vec<ChangeEvent>) {
    if let Some(publisher) = publisher(ctx) {
        publisher.publish(events);
    }
}
