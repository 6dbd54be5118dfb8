//! Limits on one request, before any GraphQL work: how large its target and body may be, how
//! long its body may take to arrive, and how long the gateway works on it. Each refusal is a
//! GraphQL error with a code (errors.rs), never a plain-text status.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use http_body::Body as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::config::ServerConfig;
use super::errors::graphql_error;

#[derive(Debug, Clone, Copy)]
struct RequestLimits {
    max_request_bytes: usize,
    body_read_timeout: Duration,
    request_timeout: Duration,
}

/// `router` behind the request limits of `config`.
pub(super) fn layer(router: Router, config: &ServerConfig) -> Router {
    let limits = Arc::new(RequestLimits {
        max_request_bytes: config.max_request_bytes,
        body_read_timeout: config.body_read_timeout(),
        request_timeout: config.request_timeout(),
    });
    router
        // The body arrives here whole and already bounded; axum's own 2 MiB limit would
        // answer in plain text, and would cap a larger `max_request_bytes`.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(limits, limit_request))
}

async fn limit_request(
    State(limits): State<Arc<RequestLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let max = limits.max_request_bytes;
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > max {
        return too_large(request.headers(), "request target (URL)", max);
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return too_large(request.headers(), "request body", max);
    }
    let (parts, body) = request.into_parts();
    // Read the body here, whole, under its own deadline: the handler then never waits on a
    // client, and the request timeout below measures the gateway's work only.
    let body = if body.is_end_stream() {
        Body::empty()
    } else {
        let read = Limited::new(body, max).collect();
        match tokio::time::timeout(limits.body_read_timeout, read).await {
            Ok(Ok(collected)) => Body::from(collected.to_bytes()),
            Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
                return too_large(&parts.headers, "request body", max);
            }
            Ok(Err(error)) => {
                return graphql_error(
                    &parts.headers,
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    format!("could not read the request body: {error}"),
                    true,
                );
            }
            Err(_) => {
                return graphql_error(
                    &parts.headers,
                    StatusCode::REQUEST_TIMEOUT,
                    "REQUEST_TIMEOUT",
                    format!(
                        "the request body did not arrive within {} ms",
                        limits.body_read_timeout.as_millis()
                    ),
                    true,
                );
            }
        }
    };
    let headers = parts.headers.clone();
    // On timeout the handler's future is dropped here, and its subgraph fetches with it.
    match tokio::time::timeout(
        limits.request_timeout,
        next.run(Request::from_parts(parts, body)),
    )
    .await
    {
        Ok(response) => response,
        Err(_) => graphql_error(
            &headers,
            StatusCode::GATEWAY_TIMEOUT,
            "GATEWAY_TIMEOUT",
            format!(
                "the gateway did not complete the request within {} ms",
                limits.request_timeout.as_millis()
            ),
            false,
        ),
    }
}

fn too_large(headers: &HeaderMap, what: &str, max: usize) -> Response {
    graphql_error(
        headers,
        StatusCode::PAYLOAD_TOO_LARGE,
        "REQUEST_TOO_LARGE",
        format!("the {what} is larger than the gateway accepts ({max} bytes)"),
        true,
    )
}

#[cfg(test)]
mod tests {
    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

    fn app(config: &ServerConfig) -> Router {
        let slow_or_echo = |body: axum::body::Bytes| async move {
            if body.as_ref() == b"slow" {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            body
        };
        layer(Router::new().route("/", post(slow_or_echo)), config)
    }

    async fn call(config: &ServerConfig, body: Body, uri: &str) -> (StatusCode, String) {
        let request = Request::post(uri).body(body).unwrap();
        let response = app(config).oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn small() -> ServerConfig {
        ServerConfig {
            max_request_bytes: 100,
            request_timeout_ms: 100,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_body_at_the_limit_passes_and_one_byte_more_is_refused_with_a_code() {
        let (status, body) = call(&small(), Body::from(vec![b'x'; 100]), "/").await;
        assert_eq!((status, body.len()), (StatusCode::OK, 100));
        let (status, body) = call(&small(), Body::from(vec![b'x'; 101]), "/").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.contains("REQUEST_TOO_LARGE"), "{body}");
    }

    #[tokio::test]
    async fn a_streamed_body_without_a_length_is_bounded_too() {
        let chunks = futures::stream::iter(
            (0..11).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'x'; 10]))),
        );
        let (status, body) = call(&small(), Body::from_stream(chunks), "/").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.contains("REQUEST_TOO_LARGE"), "{body}");
    }

    #[tokio::test]
    async fn a_long_url_is_refused_like_a_large_body() {
        let uri = format!("/?query={}", "x".repeat(100));
        let (status, body) = call(&small(), Body::empty(), &uri).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.contains("request target"), "{body}");
    }

    #[tokio::test]
    async fn a_request_past_its_timeout_gets_a_gateway_timeout_error() {
        let started = std::time::Instant::now();
        let (status, body) = call(&small(), Body::from("slow"), "/").await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert!(body.contains("GATEWAY_TIMEOUT"), "{body}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
