//! Compression, the `compression:` section: responses compressed by `Accept-Encoding` (gzip,
//! br, zstd, deflate) above a size, request bodies decompressed by `Content-Encoding`, both
//! with tower-http's layers. A decompressed body counts against `server.max_request_bytes`
//! as it is read (the request limits sit inside the decompression), so a small compressed
//! body that would unpack to gigabytes is refused at the limit, never held.

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use serde::Deserialize;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::decompression::RequestDecompressionLayer;

use super::errors::graphql_error;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressionConfig {
    /// Compress responses for clients that accept it.
    pub responses: bool,
    /// Responses smaller than this go uncompressed (compressing them saves little and costs
    /// CPU).
    pub min_response_bytes: u16,
    /// `fastest`, `default` (gzip 6, brotli 4, zstd 3) or `best`.
    pub level: Level,
    /// Accept request bodies sent with `Content-Encoding: gzip | br | zstd | deflate`.
    pub requests: bool,
    /// Ask subgraphs for compressed answers (`Accept-Encoding: gzip, br, zstd, deflate`) and
    /// decompress them; `subgraph_defaults.max_response_bytes` counts decompressed bytes.
    pub subgraph_responses: bool,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        Self {
            responses: true,
            min_response_bytes: 1024,
            level: Level::Default,
            requests: true,
            subgraph_responses: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Fastest,
    Default,
    Best,
}

/// Content encodings of request bodies the gateway decodes.
const REQUEST_ENCODINGS: [&str; 5] = ["gzip", "br", "zstd", "deflate", "identity"];

/// `routes` with request decompression inside and response compression outside. Call with
/// the request limits already around `routes`.
pub(crate) fn wrap(routes: Router, config: &CompressionConfig) -> Router {
    let mut router = routes;
    if config.requests {
        router = router
            .layer(RequestDecompressionLayer::new())
            .layer(middleware::from_fn(refuse_unknown_encoding));
    } else {
        router = router.layer(middleware::from_fn(refuse_any_encoding));
    }
    if config.responses {
        let predicate = SizeAbove::new(config.min_response_bytes)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::SSE)
            // Incremental delivery must reach the client part by part.
            .and(NotForContentType::const_new("multipart/mixed"));
        router = router.layer(
            CompressionLayer::new()
                .quality(match config.level {
                    Level::Fastest => CompressionLevel::Fastest,
                    Level::Default => CompressionLevel::Default,
                    Level::Best => CompressionLevel::Best,
                })
                .compress_when(predicate),
        );
    }
    router
}

async fn refuse_unknown_encoding(request: Request, next: Next) -> Response {
    match request.headers().get(header::CONTENT_ENCODING) {
        Some(encoding) if !REQUEST_ENCODINGS.iter().any(|e| encoding == e) => {
            let encoding = String::from_utf8_lossy(encoding.as_bytes()).into_owned();
            unsupported(&request, &encoding, "gzip, br, zstd, deflate")
        }
        _ => next.run(request).await,
    }
}

async fn refuse_any_encoding(request: Request, next: Next) -> Response {
    match request.headers().get(header::CONTENT_ENCODING) {
        Some(encoding) if encoding != "identity" => {
            let encoding = String::from_utf8_lossy(encoding.as_bytes()).into_owned();
            unsupported(&request, &encoding, "identity")
        }
        _ => next.run(request).await,
    }
}

/// A 415 naming the encodings accepted, also in `Accept-Encoding` (RFC 9110, 12.5.3).
fn unsupported(request: &Request, encoding: &str, accepted: &'static str) -> Response {
    let mut response = graphql_error(
        request.headers(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_CONTENT_ENCODING",
        format!(
            "the request body's content-encoding {encoding:?} is not supported; accepted: \
             {accepted}"
        ),
        true,
    );
    response.headers_mut().insert(
        header::ACCEPT_ENCODING,
        header::HeaderValue::from_static(accepted),
    );
    response
}
