//! HTTP serving shared by every subgraph.
//!
//! The request/response handling is written here rather than taken wholesale
//! from `async_graphql_axum::GraphQLRequest` because its rejection answers a
//! malformed body with a plain-text 400; a gateway (and its tests) expect a
//! GraphQL error response in JSON instead, whatever the client sent.
//!
//! Subscriptions are served two ways on the same path: a WebSocket upgrade (`GET /graphql`
//! with the `graphql-transport-ws` or legacy `graphql-ws` subprotocol, async-graphql's own
//! implementation), and GraphQL over SSE in distinct-connections mode (a `POST` that accepts
//! `text/event-stream`: one `next` event per result, then `complete`).

use std::convert::Infallible;
use std::time::Duration;

use async_graphql::futures_util::{StreamExt, stream};
use async_graphql::{BatchRequest, BatchResponse, Executor, ServerError};
use async_graphql_axum::{GraphQLResponse, GraphQLSubscription};
use axum::{
    Router,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::sse::{Event, KeepAlive, Sse},
    response::{IntoResponse, Response},
    routing::{get, post},
};

/// The media type the GraphQL-over-HTTP spec defines for responses; only
/// returned to clients that ask for it, everyone else gets `application/json`.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// How often an idle SSE subscription sends a comment, so proxies keep it open.
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Builds the router every subgraph exposes: `POST /graphql` (JSON, or SSE for
/// subscriptions), WebSocket subscriptions on `GET /graphql`, and `GET /health`.
pub(crate) fn router<E: Executor>(executor: E) -> Router {
    Router::new()
        .route(
            "/graphql",
            post(graphql::<E>).get_service(GraphQLSubscription::new(executor.clone())),
        )
        .route("/health", get(health))
        .with_state(executor)
}

async fn health() -> &'static str {
    "ok"
}

/// Executes a single request or a batch (a JSON array of requests).
///
/// The body is parsed as JSON whatever its declared content type, so curl
/// without `-H content-type` still works; anything that does not parse becomes
/// a `400` carrying a GraphQL error, never a panic or a plain-text body.
async fn graphql<E: Executor>(
    State(executor): State<E>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return error_response(
                rejection.status(),
                format!("could not read body: {rejection}"),
            );
        }
    };
    if wants_event_stream(&headers) {
        return match serde_json::from_slice::<async_graphql::Request>(&body) {
            Ok(request) => event_stream(&executor, request),
            Err(err) => error_response(
                StatusCode::BAD_REQUEST,
                format!("request body is not a GraphQL request in JSON: {err}"),
            ),
        };
    }
    let request: BatchRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format!("request body is not a GraphQL request in JSON: {err}"),
            );
        }
    };
    let response = executor.execute_batch(request).await;
    json_response(response, wants_graphql_response_json(&headers))
}

/// Renders an executed response, choosing the content type the client accepts.
fn json_response(response: BatchResponse, graphql_media_type: bool) -> Response {
    let mut response = GraphQLResponse(response).into_response();
    if !graphql_media_type {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    response
}

/// A GraphQL-shaped error (`{"errors":[{"message":...}]}`) for requests that
/// could not be executed at all.
fn error_response(status: StatusCode, message: String) -> Response {
    let response = async_graphql::Response::from_errors(vec![ServerError::new(message, None)]);
    let mut response = json_response(response.into(), false);
    *response.status_mut() = status;
    response
}

/// GraphQL over SSE (distinct connections): each result as a `next` event, then `complete`.
/// A query or mutation gives one `next`; a subscription one per event until it ends.
fn event_stream<E: Executor>(executor: &E, request: async_graphql::Request) -> Response {
    let results = executor.execute_stream(request, None).map(|response| {
        let data = serde_json::to_string(&response).unwrap_or_else(|_| "{}".into());
        Ok::<_, Infallible>(Event::default().event("next").data(data))
    });
    let complete = stream::once(async { Ok(Event::default().event("complete").data("")) });
    Sse::new(results.chain(complete))
        .keep_alive(KeepAlive::new().interval(SSE_KEEP_ALIVE))
        .into_response()
}

fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/event-stream"))
}

fn wants_graphql_response_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains(GRAPHQL_RESPONSE_JSON))
}
