//! `GET /metrics` (Prometheus text) and `POST /invalidate` (the HTTP invalidation endpoint,
//! off unless a shared secret is configured).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::cache::Invalidation;
use crate::supergraph::Supergraph;

/// `/metrics` next to `/graphql`: not there when `telemetry.metrics.listen` serves it apart.
pub async fn public_metrics(state: State<AppState>) -> Response {
    let apart = state
        .live
        .current()
        .is_some_and(|generation| generation.gateway.telemetry().separate_metrics);
    if apart {
        return StatusCode::NOT_FOUND.into_response();
    }
    metrics(state).await
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    if let Some(generation) = state.live.current() {
        generation.gateway.metrics(&mut text);
    }
    state.live.render_metrics(&mut text);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Takes the change-event shape (one object or a list) with `Authorization: Bearer <secret>`.
pub async fn invalidate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(generation) = state.live.current() else {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "error": "no supergraph is loaded yet" }),
        );
    };
    let Some(hooks) = generation.gateway.hooks() else {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "error": "the invalidation endpoint is not enabled" }),
        );
    };
    let Some(secret) = hooks.invalidation_secret() else {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "error": "the invalidation endpoint is not enabled" }),
        );
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), secret.as_bytes())) {
        return json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "error": "missing or wrong bearer secret" }),
        );
    }
    let text = String::from_utf8_lossy(&body);
    match crate::events::parse_event(&text) {
        Ok(invalidations) => {
            if let Some(unknown) = invalidations
                .iter()
                .find_map(|i| unknown_name(generation.gateway.supergraph(), i))
            {
                return json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({ "error": format!("not a valid invalidation: {unknown}") }),
                );
            }
            let count = invalidations.len();
            hooks.invalidate(invalidations).await;
            json(StatusCode::OK, serde_json::json!({ "invalidated": count }))
        }
        Err(error) => json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": format!("not a valid invalidation: {error}") }),
        ),
    }
}

/// What an invalidation names that the supergraph does not have: a typo would otherwise
/// invalidate nothing and answer success.
fn unknown_name(supergraph: &Supergraph, invalidation: &Invalidation) -> Option<String> {
    let subgraph = &invalidation.subgraph;
    let Some(known) = supergraph.subgraph_by_name(subgraph) else {
        return Some(format!("the supergraph has no subgraph {subgraph:?}"));
    };
    let type_name = invalidation.type_name.as_deref()?;
    let in_subgraph = supergraph
        .type_def(type_name)
        .is_some_and(|def| def.in_subgraph(known.id).is_some());
    (!in_subgraph).then(|| format!("subgraph {subgraph:?} has no type {type_name:?}"))
}

/// Compares secrets without leaking where they differ through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
