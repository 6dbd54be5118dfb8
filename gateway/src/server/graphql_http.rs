//! GraphQL over HTTP: `POST /graphql` with a JSON body, `GET /graphql?query=…` for queries,
//! status codes and media types as the GraphQL-over-HTTP spec says.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde_json::{Map, Value};

use super::AppState;
use super::body::Chunks;
use super::media_type::{self, ResponseType};
use super::playground;
use crate::edge::auth::AuthError;
use crate::edge::csrf::CsrfRefused;
use crate::edge::persisted::Refusal;
use crate::gateway::{GraphQLRequest, Incremental, Outcome, Transport};
use crate::identity::Identity;
use crate::realtime::{self, HttpStream};
use crate::response::{GraphQLError, Response};
use crate::telemetry::RequestRecord;
use tracing::Instrument;

pub async fn post_graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    if let Some(stream) = HttpStream::from_headers(&headers) {
        return post_streamed(&state, &headers, &body, stream).await;
    }
    observed(&state, &headers, true, |record| {
        post(&state, &headers, &body, record)
    })
    .await
}

/// Runs `handle` under the request's metrics, access log line and span, when anything
/// observes requests (`None` to `handle` otherwise, which then costs nothing).
async fn observed<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    post: bool,
    handle: F,
) -> HttpResponse
where
    F: FnOnce(Option<Arc<RequestRecord>>) -> Fut,
    Fut: std::future::Future<Output = HttpResponse>,
{
    let generation = state.live.current();
    let observation = generation
        .as_ref()
        .and_then(|generation| generation.gateway.telemetry().observe(post, headers));
    match (observation, generation) {
        (Some(observation), Some(generation)) => {
            let record = Some(observation.record.clone());
            let response = handle(record).instrument(observation.span.clone()).await;
            observation.finish(response.status().as_u16(), generation.gateway.supergraph());
            response
        }
        _ => handle(None).await,
    }
}

async fn post(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    record: Option<Arc<RequestRecord>>,
) -> HttpResponse {
    // A client that accepts `@defer`'s multipart may accept nothing else: refusals then
    // go as application/graphql-response+json.
    let defer = realtime::defer::DeferFormat::from_headers(headers);
    let Some(response_type) =
        media_type::negotiate(headers).or(defer.map(|_| ResponseType::GraphQLResponseJson))
    else {
        return not_acceptable();
    };
    let identity = match admit(state, headers, response_type).await {
        Ok(identity) => identity,
        Err(refused) => return refused,
    };
    let request = match post_body(headers, body) {
        Ok(request) => request,
        Err((status, message)) => return bad_request(response_type, status, message),
    };
    run(
        state,
        headers,
        (response_type, defer),
        (identity, record),
        request,
        Transport::Post,
    )
    .await
}

pub async fn get_graphql(State(state): State<AppState>, request: Request) -> HttpResponse {
    let (mut parts, _) = request.into_parts();
    if is_websocket_upgrade(&parts.headers) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => match state.live.current() {
                Some(generation) => realtime::ws_server::upgrade(
                    generation.gateway.clone(),
                    state.edge.clone(),
                    parts.headers,
                    upgrade,
                ),
                None => not_loaded(ResponseType::Json),
            },
            Err(rejection) => rejection.into_response(),
        };
    }
    let headers = parts.headers;
    let params = match Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
        Ok(Query(params)) => params,
        Err(rejection) => {
            let response_type = media_type::negotiate(&headers).unwrap_or(ResponseType::Json);
            return bad_request(
                response_type,
                StatusCode::BAD_REQUEST,
                format!("invalid query string: {rejection}"),
            );
        }
    };
    if state.playground
        && !params.contains_key("query")
        && media_type::wants_html(&headers)
        && let Some(generation) = state.live.current()
    {
        return playground::page(&generation.gateway);
    }
    let mut http = observed(&state, &headers, false, |record| {
        get(&state, &headers, &params, record)
    })
    .await;
    // The same URL answers a browser with the playground and a client with JSON, and the
    // media type by Accept: a cache in front (a CDN, for persisted queries) must key by it.
    http.headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
    http
}

async fn get(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    record: Option<Arc<RequestRecord>>,
) -> HttpResponse {
    let defer = realtime::defer::DeferFormat::from_headers(headers);
    let Some(response_type) =
        media_type::negotiate(headers).or(defer.map(|_| ResponseType::GraphQLResponseJson))
    else {
        return not_acceptable();
    };
    let identity = match admit(state, headers, response_type).await {
        Ok(identity) => identity,
        Err(refused) => return refused,
    };
    let request = match get_params(params) {
        Ok(request) => request,
        Err(message) => return bad_request(response_type, StatusCode::BAD_REQUEST, message),
    };
    run(
        state,
        headers,
        (response_type, defer),
        (identity, record),
        request,
        Transport::Get,
    )
    .await
}

/// Whether a GET asks to become a WebSocket.
fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// A POST that accepts a stream (SSE, or multipart for subscriptions): the same checks as any
/// POST, then a subscription's events (or a query's one result) in that protocol. Requests
/// refused before execution get a plain JSON answer with the usual status.
async fn post_streamed(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    stream: HttpStream,
) -> HttpResponse {
    // Refusals as application/graphql-response+json: with its statuses (400 for a request
    // that cannot run), which an event-stream client sees as a failure to start.
    let response_type = ResponseType::GraphQLResponseJson;
    let identity = match admit(state, headers, response_type).await {
        Ok(identity) => identity,
        Err(refused) => return refused,
    };
    let mut request = match post_body(headers, body) {
        Ok(request) => request,
        Err((status, message)) => return bad_request(response_type, status, message),
    };
    if let Err(refusal) = state.edge.persisted().resolve(&mut request).await {
        return persisted_refusal(response_type, refusal);
    }
    // A subscription runs on the supergraph it starts with; a reload ends it with a reason.
    let Some(generation) = state.live.current() else {
        return not_loaded(response_type);
    };
    let gateway = &generation.gateway;
    let context = gateway.request_context(headers, identity);
    match realtime::start(gateway, request, context, stream.deferring()).await {
        realtime::Started::Once(outcome, response) if outcome != Outcome::Executed => {
            respond(response_type, outcome, response)
        }
        started => {
            let heartbeat = gateway.subscriptions().config().heartbeat();
            stream.respond(started, heartbeat)
        }
    }
}

/// The edge's checks of a GraphQL request, in order: CSRF, then the token. The request's
/// verified identity, or the refusal to send.
async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    response_type: ResponseType,
) -> Result<Option<Arc<Identity>>, HttpResponse> {
    state
        .edge
        .csrf()
        .check(headers)
        .map_err(|refused| csrf_refused(response_type, refused))?;
    state
        .edge
        .authenticate(headers)
        .await
        .map_err(|error| unauthenticated(response_type, error))
}

/// A POST body as a GraphQL request: JSON, one object.
fn post_body(headers: &HeaderMap, body: &[u8]) -> Result<GraphQLRequest, (StatusCode, String)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported content type \"{content_type}\": send the request as application/json"
            ),
        ));
    }
    let bad = |message: String| (StatusCode::BAD_REQUEST, message);
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => serde_json::from_value(Value::Object(object))
            .map_err(|e| bad(format!("invalid GraphQL request: {e}"))),
        Ok(Value::Array(_)) => Err(bad(
            "batched requests are not supported: send one operation per request".into(),
        )),
        Ok(_) => Err(bad("the request body must be a JSON object".into())),
        Err(e) => Err(bad(format!("the request body is not valid JSON: {e}"))),
    }
}

/// A GET's query string as a GraphQL request (`variables` and `extensions` as JSON text).
fn get_params(params: &HashMap<String, String>) -> Result<GraphQLRequest, String> {
    let object = |name: &str| -> Result<Option<Map<String, Value>>, String> {
        match params.get(name) {
            None => Ok(None),
            Some(text) if text.is_empty() => Ok(None),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                Ok(Value::Null) => Ok(None),
                Ok(_) => Err(format!("`{name}` must be a JSON object")),
                Err(e) => Err(format!("`{name}` is not valid JSON: {e}")),
            },
        }
    };
    let text = |name: &str| params.get(name).cloned().filter(|s| !s.is_empty());
    Ok(GraphQLRequest {
        query: params.get("query").cloned(),
        operation_name: text("operationName"),
        variables: object("variables")?,
        extensions: object("extensions")?,
        document_id: text("documentId"),
    })
}

/// Resolves a persisted operation's id, then runs the request.
async fn run(
    state: &AppState,
    headers: &HeaderMap,
    (response_type, defer): (ResponseType, Option<realtime::defer::DeferFormat>),
    (identity, record): (Option<Arc<Identity>>, Option<Arc<RequestRecord>>),
    mut request: GraphQLRequest,
    transport: Transport,
) -> HttpResponse {
    if let Err(refusal) = state.edge.persisted().resolve(&mut request).await {
        return persisted_refusal(response_type, refusal);
    }
    if request.query.is_none() {
        return bad_request(
            response_type,
            StatusCode::BAD_REQUEST,
            "the request has no `query` (and no persisted operation id)".into(),
        );
    }
    // The request runs to its end on the supergraph it starts with, whatever a reload swaps.
    let Some(generation) = state.live.current() else {
        return not_loaded(response_type);
    };
    let gateway = &generation.gateway;
    let context = gateway.observed_request_context(headers, identity, record);
    if let Some(format) = defer {
        return match gateway
            .execute_incremental(request, transport, context)
            .await
        {
            Incremental::Response(outcome, response) => respond(response_type, outcome, response),
            Incremental::Stream(payloads) => {
                realtime::defer::respond(gateway.clone(), payloads, format)
            }
        };
    }
    let (outcome, response) = gateway.execute(request, transport, context).await;
    respond(response_type, outcome, response)
}

fn respond(response_type: ResponseType, outcome: Outcome, mut response: Response) -> HttpResponse {
    let status = match (outcome, response_type) {
        (Outcome::MutationNotAllowed, _) => StatusCode::METHOD_NOT_ALLOWED,
        (Outcome::Unauthorized, _) => StatusCode::FORBIDDEN,
        (Outcome::NotAcceptable, _) => StatusCode::NOT_ACCEPTABLE,
        (Outcome::RequestError, ResponseType::GraphQLResponseJson) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let meta = std::mem::take(&mut response.meta);
    let body = axum::body::Body::new(Chunks::new(response.into_chunks()));
    let mut http = (status, body).into_response();
    // The rules' headers first: what the gateway sets below is the gateway's to say.
    meta.write_headers(http.headers_mut());
    http.headers_mut()
        .insert(header::CACHE_CONTROL, meta.cache.header_value());
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(response_type.content_type()),
    );
    if outcome == Outcome::MutationNotAllowed {
        http.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    http
}

/// A request that is not well-formed GraphQL over HTTP: 4xx in both media types.
fn bad_request(response_type: ResponseType, status: StatusCode, message: String) -> HttpResponse {
    let response =
        Response::request_errors(vec![GraphQLError::new(message).with_code("BAD_REQUEST")]);
    let mut http = respond(response_type, Outcome::RequestError, response);
    *http.status_mut() = status;
    http
}

/// A request that may have come from another site without a preflight: 400 in both media
/// types (the request is refused before it is read as GraphQL).
fn csrf_refused(response_type: ResponseType, refused: CsrfRefused) -> HttpResponse {
    let response = Response::request_errors(vec![
        GraphQLError::new(refused.message).with_code(CsrfRefused::CODE),
    ]);
    let mut http = respond(response_type, Outcome::RequestError, response);
    *http.status_mut() = StatusCode::BAD_REQUEST;
    http
}

/// A token that does not verify, or none where one is required: 401 with a Bearer challenge.
fn unauthenticated(response_type: ResponseType, error: AuthError) -> HttpResponse {
    let response = Response::request_errors(vec![
        GraphQLError::new(error.message).with_code(AuthError::CODE),
    ]);
    let mut http = respond(response_type, Outcome::RequestError, response);
    *http.status_mut() = StatusCode::UNAUTHORIZED;
    http.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    http
}

/// A persisted operation that cannot run, with the status its code calls for.
fn persisted_refusal(response_type: ResponseType, refusal: Refusal) -> HttpResponse {
    let response = Response::request_errors(vec![
        GraphQLError::new(refusal.message).with_code(refusal.code),
    ]);
    let mut http = respond(response_type, Outcome::RequestError, response);
    *http.status_mut() = refusal.status;
    if refusal.no_cache {
        http.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache, must-revalidate"),
        );
    }
    http
}

/// No supergraph yet (a registry URL not answered yet): 503, worth retrying soon.
fn not_loaded(response_type: ResponseType) -> HttpResponse {
    let response = Response::request_errors(vec![
        GraphQLError::new("the gateway has not loaded a supergraph yet; retry shortly")
            .with_code("SUPERGRAPH_NOT_LOADED"),
    ]);
    let mut http = respond(response_type, Outcome::RequestError, response);
    *http.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    http.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    http
}

fn not_acceptable() -> HttpResponse {
    let response = Response::request_errors(vec![
        GraphQLError::new(
            "none of the accepted media types is supported: accept application/graphql-response+json or application/json",
        )
        .with_code("NOT_ACCEPTABLE"),
    ]);
    let mut http = respond(ResponseType::Json, Outcome::RequestError, response);
    *http.status_mut() = StatusCode::NOT_ACCEPTABLE;
    http
}
