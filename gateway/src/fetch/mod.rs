//! [`Fetcher`](crate::executor::Fetcher) implementations: HTTP to the subgraphs, and the
//! caching fetcher in front of it.

mod cached;
mod http;

pub use cached::{CachedFetcher, InvalidationSink};
pub use http::{HttpFetcher, SubgraphEndpoint, read_response};
