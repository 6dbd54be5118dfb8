//! Apollo's multipart HTTP subscription protocol: the request accepts
//! `multipart/mixed;subscriptionSpec="1.0"`; the response is `multipart/mixed` with boundary
//! `graphql`, one JSON part per message: `{"payload": <result>}` for a result, `{}` as a
//! heartbeat every `subscriptions.heartbeat_ms`, and `{"payload": null, "errors": [...]}` when
//! the subscription ends with an error; then the closing boundary.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response as HttpResponse;
use bytes::Bytes;
use futures::{StreamExt, stream};

use super::{Message, Messages};

pub(crate) const CONTENT_TYPE: &str =
    r#"multipart/mixed;boundary="graphql";subscriptionSpec="1.0""#;

const PART_HEAD: &[u8] = b"\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n";
const END: &[u8] = b"\r\n--graphql--\r\n";

struct State {
    messages: Messages,
    heartbeat: tokio::time::Interval,
    done: bool,
}

fn part(json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(PART_HEAD.len() + json.len());
    out.extend_from_slice(PART_HEAD);
    out.extend_from_slice(json);
    Bytes::from(out)
}

pub(crate) fn respond(messages: Messages, heartbeat: Duration) -> HttpResponse {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        messages,
        heartbeat: interval,
        done: false,
    };
    let parts = stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let bytes = tokio::select! {
            message = state.messages.next() => match message {
                Some(Message::Next(response)) => {
                    let mut json = b"{\"payload\":".to_vec();
                    json.extend_from_slice(&response.to_bytes());
                    json.push(b'}');
                    part(&json)
                }
                // Not sent here (this protocol ignores `@defer`), but framed as a result is.
                Some(Message::Incremental(payload)) => {
                    let mut json = b"{\"payload\":".to_vec();
                    json.extend_from_slice(&payload);
                    json.push(b'}');
                    part(&json)
                }
                Some(Message::Fail(errors)) => {
                    let json = serde_json::json!({ "payload": null, "errors": errors });
                    part(json.to_string().as_bytes())
                }
                None => {
                    state.done = true;
                    Bytes::from_static(END)
                }
            },
            _ = state.heartbeat.tick() => part(b"{}"),
        };
        Some((Ok::<_, std::convert::Infallible>(bytes), state))
    });
    let mut http = HttpResponse::new(Body::from_stream(parts));
    http.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(CONTENT_TYPE),
    );
    http.headers_mut()
        .insert("x-accel-buffering", http::HeaderValue::from_static("no"));
    http
}
