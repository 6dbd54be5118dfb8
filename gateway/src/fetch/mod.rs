//! [`Fetcher`](crate::executor::Fetcher) implementations: HTTP to the subgraphs.

mod http;

pub use http::{HttpFetcher, SubgraphEndpoint};
