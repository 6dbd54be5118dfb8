//! The HTTP client subgraph fetches go through: hyper-util's pooled client, with tower-http
//! decompressing answers, used directly.
//!
//! reqwest was the client before. Per request it converted its `Url` back into an `http::Uri`
//! (parsing it again), cloned the request's `HeaderMap` for its retry policy, and built the
//! request through its builder and its own boxed future: a measured share of every subgraph
//! request (docs/benchmarks.md, "CPU per request, re-measured"). Here the URI is parsed once
//! per subgraph, the headers are moved into the request, and nothing retries (reqwest did not
//! retry a POST to a subgraph either). What reqwest gave us is kept: one keep-alive pool with
//! a cap on idle connections per host and a 90 s idle timeout, `TCP_NODELAY`, a 5 s connect
//! timeout, no redirects followed (hyper never follows them), `Accept-Encoding` and
//! decompression of gzip, brotli, zstd and deflate answers when asked for. Unlike reqwest, it
//! does not send subgraph requests through the `HTTP_PROXY`/`HTTPS_PROXY` of the environment:
//! subgraphs are reached directly.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::ServiceExt;
use tower_http::decompression::{Decompression, DecompressionBody};

/// A subgraph answer's body, decompressed as it is read.
pub(super) type ResponseBody = DecompressionBody<hyper::body::Incoming>;

/// One pool of keep-alive connections for every subgraph.
#[derive(Clone)]
pub(super) struct Client {
    pool: Pool<HttpConnector, Full<Bytes>>,
    accept_compressed: bool,
}

impl Client {
    /// `max_idle_per_host`: idle connections kept per subgraph host; `accept_compressed`: ask
    /// for compressed answers and decompress them.
    pub(super) fn new(max_idle_per_host: usize, accept_compressed: bool) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let pool = Pool::builder(TokioExecutor::new())
            .pool_max_idle_per_host(max_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self {
            pool,
            accept_compressed,
        }
    }

    /// Sends `request` and waits for the answer's head; the body is read by the caller.
    pub(super) async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<ResponseBody>, TransportError> {
        let accept = self.accept_compressed;
        // The layer adds `Accept-Encoding` (unless the request has one) and decodes what the
        // answer's `Content-Encoding` names, dropping that header and `Content-Length`.
        let service = Decompression::new(&self.pool)
            .gzip(accept)
            .br(accept)
            .zstd(accept)
            .deflate(accept);
        service.oneshot(request).await.map_err(|error| {
            let kind = if error.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            TransportError::new(kind, &error)
        })
    }
}

/// Why a request got no complete answer: its kind and the innermost cause (the outer
/// messages only repeat what the error already says through the subgraph's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TransportError(pub String);

impl TransportError {
    pub(super) fn new(kind: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut innermost = error;
        while let Some(inner) = innermost.source() {
            innermost = inner;
        }
        Self(format!("{kind}: {innermost}"))
    }

    /// An answer whose body broke off or could not be decompressed.
    pub(super) fn body(error: &(dyn std::error::Error + 'static)) -> Self {
        Self::new("could not read the response body", error)
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
