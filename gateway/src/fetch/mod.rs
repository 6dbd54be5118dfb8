//! [`Fetcher`](crate::executor::Fetcher) implementations: HTTP to the subgraphs, and the
//! caching fetcher in front of it; and what protects the gateway from a subgraph that is
//! down, stuck or hostile (answer size limit, connection cap, circuit breaker).

mod body;
mod breaker;
mod cached;
mod client;
pub mod config;
mod dedup;
mod http;

pub use cached::{CachedFetcher, InvalidationSink};
pub use config::{CircuitBreakerConfig, CircuitBreakerOverrides};
pub use http::{DataVersion, HttpFetcher, SubgraphEndpoint, read_response};
