//! Publishes this gateway's own invalidations (mutation answers, subgraph extensions, the HTTP
//! endpoint) to the event stream, so every instance applies them. Never blocks a request:
//! events are queued and sent by a background task; with Redis down they are dropped (each
//! instance already applied its own) and the state change is logged once.

use std::time::Duration;

use redis::aio::ConnectionManagerConfig;
use tokio::sync::mpsc;

use super::EVENT_FIELD;
use crate::cache::Invalidation;

#[derive(Clone)]
pub struct Publisher {
    queue: mpsc::UnboundedSender<Vec<Invalidation>>,
}

impl Publisher {
    /// Starts the background sender for `stream` on `redis_url`.
    pub fn start(
        redis_url: &str,
        stream: String,
        max_len: usize,
    ) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(redis_url)?;
        let (queue, mut receiver) = mpsc::unbounded_channel::<Vec<Invalidation>>();
        tokio::spawn(async move {
            let config = ConnectionManagerConfig::new()
                .set_response_timeout(Some(Duration::from_millis(500)))
                .set_connection_timeout(Some(Duration::from_millis(500)));
            let mut connection = None;
            let mut healthy = true;
            while let Some(invalidations) = receiver.recv().await {
                if connection.is_none() {
                    connection = client
                        .get_connection_manager_with_config(config.clone())
                        .await
                        .ok();
                }
                let Some(manager) = connection.as_mut() else {
                    if healthy {
                        tracing::warn!(
                            "events: cannot publish invalidations, Redis is unavailable"
                        );
                        healthy = false;
                    }
                    continue;
                };
                let payload = serde_json::to_string(&invalidations).unwrap_or_default();
                let sent: Result<String, _> = redis::cmd("XADD")
                    .arg(&stream)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(max_len)
                    .arg("*")
                    .arg(EVENT_FIELD)
                    .arg(payload)
                    .query_async(manager)
                    .await;
                match sent {
                    Ok(_) if !healthy => {
                        tracing::info!("events: publishing invalidations again");
                        healthy = true;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        if healthy {
                            tracing::warn!("events: cannot publish invalidations: {error}");
                            healthy = false;
                        }
                    }
                }
            }
        });
        Ok(Self { queue })
    }

    pub fn publish(&self, invalidations: Vec<Invalidation>) {
        let _ = self.queue.send(invalidations);
    }
}
