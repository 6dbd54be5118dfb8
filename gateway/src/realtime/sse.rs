//! GraphQL over SSE to clients, distinct connections mode: the request is a POST that
//! accepts `text/event-stream`; each result is a `next` event, the end a `complete` event,
//! and an idle stream gets a comment every `subscriptions.heartbeat_ms`.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures::{StreamExt, stream};
use tokio::sync::mpsc;

use super::Message;
use crate::response::Response;

pub(crate) fn respond(messages: mpsc::Receiver<Message>, heartbeat: Duration) -> HttpResponse {
    let events = stream::unfold(messages, |mut messages| async move {
        let message = messages.recv().await?;
        Some((message, messages))
    })
    .map(|message| {
        let response = match message {
            Message::Next(response) => response,
            Message::Fail(errors) => Response::request_errors(errors),
        };
        let data = String::from_utf8(response.to_bytes()).unwrap_or_default();
        Ok::<_, Infallible>(Event::default().event("next").data(data))
    })
    .chain(stream::once(async {
        Ok(Event::default().event("complete").data(""))
    }));
    let mut http = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(heartbeat).text(""))
        .into_response();
    // Proxies that buffer responses (nginx) would hold events back.
    http.headers_mut()
        .insert("x-accel-buffering", http::HeaderValue::from_static("no"));
    http
}
