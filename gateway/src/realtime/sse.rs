//! GraphQL over SSE to clients, distinct connections mode: the request is a POST that
//! accepts `text/event-stream`; each result is a `next` event, the end a `complete` event
//! (`event: complete` with an empty `data:` line, as the protocol writes it, so that an
//! `EventSource` dispatches it too), and an idle stream gets a `:` comment every
//! `subscriptions.heartbeat_ms`. The framing is three fixed lines (results are one-line JSON).

use std::time::Duration;

use axum::body::Body;
use axum::response::Response as HttpResponse;
use bytes::Bytes;
use futures::{StreamExt, stream};

use super::{Message, Messages};
use crate::response::Response;

const COMPLETE: &[u8] = b"event: complete\ndata:\n\n";
const HEARTBEAT: &[u8] = b":\n\n";

struct State {
    messages: Messages,
    heartbeat: tokio::time::Interval,
    done: bool,
}

fn next_event(response: &Response) -> Bytes {
    next_json(&response.to_bytes())
}

fn next_json(json: &[u8]) -> Bytes {
    // Serialised JSON is one line: it escapes every line break inside strings.
    let mut out = Vec::with_capacity(json.len() + 20);
    out.extend_from_slice(b"event: next\ndata: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
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
    let events = stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let bytes = tokio::select! {
            message = state.messages.next() => match message {
                Some(Message::Next(response)) => next_event(&response),
                Some(Message::Incremental(payload)) => next_json(&payload),
                Some(Message::Fail(errors)) => next_event(&Response::request_errors(errors)),
                None => {
                    state.done = true;
                    Bytes::from_static(COMPLETE)
                }
            },
            _ = state.heartbeat.tick() => Bytes::from_static(HEARTBEAT),
        };
        Some((Ok::<_, std::convert::Infallible>(bytes), state))
    });
    let mut http = HttpResponse::new(Body::from_stream(events));
    let headers = http.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    // Proxies that buffer responses (nginx) would hold events back.
    headers.insert("x-accel-buffering", http::HeaderValue::from_static("no"));
    http
}
