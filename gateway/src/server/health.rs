//! `/health` and `/ready`, for load balancers and Kubernetes probes (docs/operations.md).
//!
//! `/health` is liveness: 200 as long as the process serves HTTP at all, whatever it has
//! loaded or can reach (restarting the process would not fix either). `/ready` is readiness:
//! 503 until a supergraph is loaded and, with `cache.redis_required_for_readiness`, while
//! Redis does not answer a PING; 200 otherwise. Both answer JSON.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use redis::aio::MultiplexedConnection;
use serde_json::json;

use super::AppState;
use crate::config::Config;

/// How long `/ready` waits for Redis: well inside a probe's default 1 s timeout.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// What `/ready` checks besides the supergraph.
#[derive(Default)]
pub struct Readiness {
    redis: Option<RedisProbe>,
}

struct RedisProbe {
    client: redis::Client,
    /// Kept between probes; dropped after a failure so that the next probe connects again.
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl Readiness {
    /// Readiness as `config` asks: Redis is checked only when the cache uses it and
    /// `cache.redis_required_for_readiness` is set.
    pub fn new(config: &Config) -> Result<Arc<Self>, redis::RedisError> {
        let redis = match &config.cache.redis_url {
            Some(url) if config.cache.enabled && config.cache.redis_required_for_readiness => {
                Some(RedisProbe {
                    client: redis::Client::open(url.as_str())?,
                    connection: tokio::sync::Mutex::new(None),
                })
            }
            _ => None,
        };
        Ok(Arc::new(Self { redis }))
    }

    /// Why Redis is not ready, if it is required and is not.
    async fn redis_problem(&self) -> Option<String> {
        let probe = self.redis.as_ref()?;
        let mut slot = probe.connection.lock().await;
        let result = tokio::time::timeout(REDIS_TIMEOUT, async {
            let connection = match slot.as_mut() {
                Some(connection) => connection,
                None => slot.insert(probe.client.get_multiplexed_async_connection().await?),
            };
            redis::cmd("PING")
                .query_async::<String>(connection)
                .await
                .map(|_| ())
        })
        .await;
        let problem = match result {
            Ok(Ok(())) => return None,
            Ok(Err(error)) => format!("Redis does not answer: {error}"),
            Err(_) => format!(
                "Redis does not answer within {} ms",
                REDIS_TIMEOUT.as_millis()
            ),
        };
        *slot = None;
        Some(problem)
    }
}

pub async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "status": "UP" }))
}

pub async fn ready(State(state): State<AppState>) -> Response {
    let mut problems = Vec::new();
    if !state.live.is_loaded() {
        problems.push("no supergraph is loaded yet".to_string());
    }
    if let Some(problem) = state.readiness.redis_problem().await {
        problems.push(problem);
    }
    if problems.is_empty() {
        (StatusCode::OK, axum::Json(json!({ "status": "READY" }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "NOT_READY", "reasons": problems })),
        )
            .into_response()
    }
}
