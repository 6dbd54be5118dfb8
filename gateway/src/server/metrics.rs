//! `GET /metrics` (Prometheus text) and `POST /invalidate` (the HTTP invalidation endpoint,
//! off unless a shared secret is configured).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    state.gateway.metrics(&mut text);
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
    let Some(hooks) = state.gateway.hooks() else {
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

/// Compares secrets without leaking where they differ through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
