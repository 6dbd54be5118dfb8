//! The edge: what happens to a client connection and request before any GraphQL work.
//!
//! In the order a request meets them: [`accept`] (the accept loop, graceful shutdown) →
//! [`admission`] (at most `max_connections`; past it the longest idle connection is closed, or
//! the new one refused) → [`connection`] (HTTP/1.1 and HTTP/2 via hyper-util, header and
//! keep-alive timeouts kept by [`activity`]) → [`cors`] (preflights, and which origins get
//! CORS headers) → [`compression`] (responses compressed, request bodies decompressed) →
//! [`request_limits`] (request size, body read timeout, request timeout) → the server's
//! routes, whose GraphQL handlers first ask [`csrf`], then resolve [`persisted`] operations.
//! Settings: [`ServerConfig`] (the `server:` section of the config), `cors:`, `csrf:`,
//! `compression:`, `apq:` and `persisted_documents:`.

mod accept;
mod activity;
mod admission;
pub mod auth;
pub mod compression;
mod config;
mod connection;
pub mod cors;
pub mod csrf;
pub(crate) mod errors;
mod gate;
mod open_files;
pub mod persisted;
mod request_limits;
mod shutdown;

use std::sync::Arc;

use axum::Router;

pub use accept::serve;
pub use config::ServerConfig;
pub use open_files::{default_max_connections, soft_limit as open_files_soft_limit};
pub use shutdown::on_signal;

use crate::config::Config;
use crate::identity::Identity;

/// Everything a request meets before the gateway facade, compiled once from the config.
pub struct Edge {
    server: ServerConfig,
    cors: Option<cors::Cors>,
    csrf: csrf::Csrf,
    compression: compression::CompressionConfig,
    persisted: persisted::PersistedOperations,
    authenticator: Option<Arc<auth::Authenticator>>,
}

/// A setting of the edge that cannot work, naming its key.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct EdgeConfigError(pub String);

impl Edge {
    /// Builds the edge, reading its files (manifest, JWKS) and fetching its JWKS URLs once;
    /// background tasks then keep Redis (persisted queries) and the JWKS URLs current.
    pub async fn new(config: &Config) -> Result<Self, EdgeConfigError> {
        config.server.check().map_err(EdgeConfigError)?;
        let authenticator = match &config.authentication.jwt {
            Some(jwt) => {
                let authenticator =
                    Arc::new(auth::Authenticator::new(jwt).map_err(EdgeConfigError)?);
                authenticator.start().await;
                Some(authenticator)
            }
            None => None,
        };
        Ok(Self {
            server: config.server.clone(),
            cors: cors::Cors::new(&config.cors).map_err(EdgeConfigError)?,
            csrf: csrf::Csrf::new(&config.csrf).map_err(EdgeConfigError)?,
            compression: config.compression.clone(),
            persisted: persisted::PersistedOperations::new(
                &config.apq,
                &config.persisted_documents,
                config.cache.redis_url.as_deref(),
                config.limits.max_tokens,
            )
            .map_err(EdgeConfigError)?,
            authenticator,
        })
    }

    /// `routes` behind the edge's HTTP layers, outermost first: CORS, compression, request
    /// limits.
    pub fn wrap(&self, routes: Router) -> Router {
        let limited = request_limits::layer(routes, &self.server);
        let compressed = compression::wrap(limited, &self.compression);
        match &self.cors {
            Some(cors) => cors.wrap(compressed),
            None => compressed,
        }
    }

    pub(crate) fn csrf(&self) -> &csrf::Csrf {
        &self.csrf
    }

    pub(crate) fn persisted(&self) -> &persisted::PersistedOperations {
        &self.persisted
    }

    /// Whether a WebSocket upgrade may proceed. Browsers open WebSockets to any site with its
    /// cookies and without a preflight, and CORS does not apply to them: a page's upgrade is
    /// let through only from the gateway's own origin or one CORS allows. Clients that are
    /// not browsers send no `Origin`.
    pub(crate) fn websocket_origin_allowed(&self, headers: &axum::http::HeaderMap) -> bool {
        let Some(origin) = headers.get(axum::http::header::ORIGIN) else {
            return true;
        };
        let same_origin = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://").map(|(_, authority)| authority))
            .zip(
                headers
                    .get(axum::http::header::HOST)
                    .and_then(|h| h.to_str().ok()),
            )
            .is_some_and(|(authority, host)| authority.eq_ignore_ascii_case(host));
        same_origin || self.cors.as_ref().is_some_and(|cors| cors.allows(origin))
    }

    /// The request's verified identity, if it has one.
    pub(crate) async fn authenticate(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Option<Arc<Identity>>, auth::AuthError> {
        match &self.authenticator {
            Some(authenticator) => authenticator.authenticate(headers).await,
            None => Ok(None),
        }
    }
}
