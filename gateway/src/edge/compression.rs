//! Compression, the `compression:` section: responses compressed by `Accept-Encoding` (gzip,
//! br, zstd, deflate) above a size, request bodies decompressed by `Content-Encoding`, both
//! with tower-http's layers. A decompressed body counts against `server.max_request_bytes`
//! as it is read (the request limits sit inside the decompression), so a small compressed
//! body that would unpack to gigabytes is refused at the limit, never held.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::decompression::RequestDecompressionLayer;

use super::errors::graphql_error;
use super::gate::{GateLayer, Route};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressionConfig {
    /// Compress responses for clients that accept it.
    pub responses: bool,
    /// Responses smaller than this go uncompressed (compressing them saves little and costs
    /// CPU).
    pub min_response_bytes: u16,
    /// `fastest` (gzip 1, brotli 0, zstd 1: the default, as nginx's), `default` (gzip 6,
    /// brotli 4, zstd 3) or `best`.
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
            // On the deep 68 KB answer, gzip 1 makes 6.0 KB for 1.4 M instructions, gzip 6
            // 3.8 KB for 3.8 M (more than the whole request): a gateway's CPU is better spent
            // on requests (docs/benchmarks.md).
            level: Level::Fastest,
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
const REQUEST_ENCODINGS: [&str; 4] = ["gzip", "br", "zstd", "deflate"];

/// `routes` with request decompression inside and response compression outside. Call with
/// the request limits already around `routes`. Each is behind a [`super::gate`]: a request
/// without `Content-Encoding` goes around the decompression, one without `Accept-Encoding`
/// around the compression.
pub(crate) fn wrap(routes: Router, config: &CompressionConfig) -> Router {
    let decompress = config.requests;
    let decompression = ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(RequestDecompressionLayer::new());
    let mut router =
        routes.layer(GateLayer::new(
            decompression,
            move |request: &Request| match request.headers().get(header::CONTENT_ENCODING) {
                None => Route::Around(None),
                Some(encoding) if encoding == "identity" => Route::Around(None),
                Some(encoding) if decompress && REQUEST_ENCODINGS.iter().any(|e| encoding == e) => {
                    Route::Through
                }
                Some(encoding) => Route::Answer(unsupported(request, encoding, decompress)),
            },
        ));
    if config.responses {
        let predicate = SizeAbove::new(config.min_response_bytes)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::SSE)
            // Incremental delivery must reach the client part by part.
            .and(NotForContentType::const_new("multipart/mixed"));
        let compression = ServiceBuilder::new()
            .map_response(IntoResponse::into_response)
            .layer(
                CompressionLayer::new()
                    .quality(match config.level {
                        Level::Fastest => CompressionLevel::Fastest,
                        Level::Default => CompressionLevel::Default,
                        Level::Best => CompressionLevel::Best,
                    })
                    .compress_when(predicate),
            );
        router = router.layer(GateLayer::new(compression, |request: &Request| {
            if accepts_compression(request) {
                Route::Through
            } else {
                Route::Around(None)
            }
        }));
    }
    router
}

/// Whether the client accepts any encoding but identity.
fn accepts_compression(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let name = coding.split(';').next().unwrap_or("").trim();
            !name.is_empty() && !name.eq_ignore_ascii_case("identity")
        })
}

/// A 415 naming the encodings accepted, also in `Accept-Encoding` (RFC 9110, 12.5.3).
fn unsupported(request: &Request, encoding: &HeaderValue, decompress: bool) -> Response {
    let accepted = if decompress {
        "gzip, br, zstd, deflate"
    } else {
        "identity"
    };
    let encoding = String::from_utf8_lossy(encoding.as_bytes());
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
    response
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, HeaderValue::from_static(accepted));
    response
}
