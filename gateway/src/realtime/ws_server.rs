//! Subscriptions over WebSocket: `graphql-transport-ws` (the graphql-ws library's protocol)
//! and the legacy `graphql-ws` (subscriptions-transport-ws), by subprotocol. axum does the
//! WebSocket; this is the protocols' messages.
//!
//! A connection: `connection_init` within `subscriptions.connection_init_timeout_ms` (its
//! payload may carry the token: `Authorization`, or `headers.Authorization`, checked by the
//! edge as a request header would be) → `connection_ack`; then any number of operations
//! (`subscribe`, legacy `start`), at most `subscriptions.max_per_connection` at once, each
//! run in its own task. Every `heartbeat_ms` the server sends `ping` (legacy: `ka`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::{Message, Started};
use crate::edge::Edge;
use crate::gateway::{Deferring, Gateway, GraphQLRequest, Outcome};
use crate::identity::Identity;
use crate::response::{GraphQLError, Response};

/// The largest message a client may send.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// What a connection's read buffer starts with (it grows to a frame's length when one is
/// longer). tungstenite's default is 128 KiB, and it zero-fills the whole buffer before its
/// first read: 128 KiB resident per WebSocket, idle or not. Clients send `subscribe`
/// messages of a query each, which this holds whole.
const READ_BUFFER_BYTES: usize = 4 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// `graphql-ws` (legacy subscriptions-transport-ws).
    Legacy,
}

/// Close codes of `graphql-transport-ws`.
mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE_ID: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
    pub const GOING_AWAY: u16 = 1001;
    pub const NORMAL: u16 = 1000;
}

/// Answers a WebSocket upgrade on `/graphql`.
pub(crate) fn upgrade(
    gateway: Arc<Gateway>,
    edge: Arc<Edge>,
    headers: http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let offered: Vec<String> = headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .collect();
    let protocol = if offered.is_empty() || offered.iter().any(|p| p == "graphql-transport-ws") {
        Protocol::TransportWs
    } else if offered.iter().any(|p| p == "graphql-ws") {
        Protocol::Legacy
    } else {
        let response = Response::request_errors(vec![
            GraphQLError::new(format!(
                "unsupported WebSocket subprotocol {offered:?}: use graphql-transport-ws or graphql-ws"
            ))
            .with_code("BAD_REQUEST"),
        ]);
        let mut http = (http::StatusCode::BAD_REQUEST, response.to_bytes()).into_response();
        http.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        return http;
    };
    if !edge.websocket_origin_allowed(&headers) {
        let response = Response::request_errors(vec![
            GraphQLError::new(
                "WebSocket from an origin that is neither the gateway's nor allowed by cors: refused",
            )
            .with_code("FORBIDDEN_ORIGIN"),
        ]);
        return (http::StatusCode::FORBIDDEN, response.to_bytes()).into_response();
    }
    if !gateway.subscriptions().enabled() {
        let response = Response::request_errors(vec![
            GraphQLError::new("subscriptions are disabled on this gateway (subscriptions.enabled)")
                .with_code("SUBSCRIPTION_UNSUPPORTED"),
        ]);
        return (http::StatusCode::BAD_REQUEST, response.to_bytes()).into_response();
    }
    let Some(ticket) = gateway.subscriptions().admit_websocket() else {
        let response = Response::request_errors(vec![
            GraphQLError::new(format!(
                "the gateway has {} WebSocket connections open, its maximum \
                 (subscriptions.max_websockets): try again later",
                gateway.subscriptions().config().max_websockets
            ))
            .with_code(super::LIMIT_CODE),
        ]);
        let mut http = (http::StatusCode::SERVICE_UNAVAILABLE, response.to_bytes()).into_response();
        http.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("5"),
        );
        return http;
    };
    upgrade
        .protocols(["graphql-transport-ws", "graphql-ws"])
        .max_message_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        // Each message is written as it is sent (every send flushes anyway), so no write
        // buffer is kept to gather them.
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let _ticket = ticket;
            Connection::new(gateway, edge, headers, protocol)
                .run(socket)
                .await;
        })
}

/// What an operation's task reports to the connection.
enum Out {
    Next(Box<Response>),
    /// A payload of incremental delivery (`@defer`), as JSON: sent as `next` is.
    Payload(Vec<u8>),
    /// Refused before execution: `error`, and nothing after it.
    Error(Vec<GraphQLError>),
    Complete,
}

#[derive(Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payload: Option<Value>,
}

struct Connection {
    gateway: Arc<Gateway>,
    edge: Arc<Edge>,
    protocol: Protocol,
    /// The upgrade request's headers, plus those `connection_init` carried.
    headers: Arc<http::HeaderMap>,
    identity: Option<Arc<Identity>>,
    /// Operations running, by id: a generation (so that a reused id never gets an older
    /// operation's messages) and the task.
    operations: HashMap<String, (u64, AbortHandle)>,
    generation: u64,
}

enum Step {
    Continue,
    Close(u16, String),
}

impl Connection {
    fn new(
        gateway: Arc<Gateway>,
        edge: Arc<Edge>,
        headers: http::HeaderMap,
        protocol: Protocol,
    ) -> Self {
        Self {
            gateway,
            edge,
            protocol,
            headers: Arc::new(headers),
            identity: None,
            operations: HashMap::new(),
            generation: 0,
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut incoming) = socket.split();
        let config = self.gateway.subscriptions().config().clone();
        let mut closing = self.gateway.subscriptions().closing();
        let (out_sender, mut outgoing) = mpsc::channel::<(String, u64, Out)>(64);
        let init_deadline = tokio::time::Instant::now() + config.connection_init_timeout();
        let mut acknowledged = false;
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + config.heartbeat(),
            config.heartbeat(),
        );
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutting_down = false;
        let close = loop {
            tokio::select! {
                () = tokio::time::sleep_until(init_deadline), if !acknowledged => {
                    break Some((close::INIT_TIMEOUT, "Connection initialisation timeout".to_string()));
                }
                _ = super::closed(&mut closing), if !shutting_down => {
                    // Each operation ends with its reason; the connection closes once they have.
                    shutting_down = true;
                    if self.operations.is_empty() {
                        break Some((close::GOING_AWAY, "the gateway is shutting down".into()));
                    }
                }
                _ = heartbeat.tick(), if acknowledged => {
                    let ping = match self.protocol {
                        Protocol::TransportWs => r#"{"type":"ping"}"#,
                        Protocol::Legacy => r#"{"type":"ka"}"#,
                    };
                    if sink.send(WsMessage::Text(ping.into())).await.is_err() {
                        break None;
                    }
                }
                Some((id, generation, out)) = outgoing.recv() => {
                    let current = self.operations.get(&id).is_some_and(|(g, _)| *g == generation);
                    if !current {
                        continue;
                    }
                    if matches!(out, Out::Complete | Out::Error(_)) {
                        self.operations.remove(&id);
                    }
                    let text = self.render(&id, out);
                    if sink.send(WsMessage::Text(text.into())).await.is_err() {
                        break None;
                    }
                    if shutting_down && self.operations.is_empty() {
                        break Some((close::GOING_AWAY, "the gateway is shutting down".into()));
                    }
                }
                message = incoming.next() => {
                    let text = match message {
                        Some(Ok(WsMessage::Text(text))) => text,
                        Some(Ok(WsMessage::Binary(_))) => {
                            break Some((close::BAD_REQUEST, "binary messages are not supported".into()));
                        }
                        Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break None,
                        Some(Ok(_)) => continue,
                    };
                    let message = match serde_json::from_str::<Incoming>(&text) {
                        Ok(message) => message,
                        Err(e) => break Some((close::BAD_REQUEST, format!("Invalid message received: {e}"))),
                    };
                    let step = self
                        .handle(message, &mut acknowledged, &mut sink, &out_sender, &config)
                        .await;
                    match step {
                        Ok(Step::Continue) => {}
                        Ok(Step::Close(code, reason)) => break Some((code, reason)),
                        Err(()) => break None,
                    }
                }
            }
        };
        for (_, (_, task)) in self.operations.drain() {
            task.abort();
        }
        if let Some((code, reason)) = close {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = sink.send(WsMessage::Close(Some(frame))).await;
        }
        let _ = sink.close().await;
    }

    /// Handles one client message. `Err` when the socket is gone.
    async fn handle(
        &mut self,
        message: Incoming,
        acknowledged: &mut bool,
        sink: &mut futures::stream::SplitSink<WebSocket, WsMessage>,
        out: &mpsc::Sender<(String, u64, Out)>,
        config: &super::SubscriptionsConfig,
    ) -> Result<Step, ()> {
        let send = |text: String| WsMessage::Text(text.into());
        match (message.kind.as_str(), self.protocol) {
            ("connection_init", _) => {
                if *acknowledged {
                    return Ok(Step::Close(
                        close::TOO_MANY_INITS,
                        "Too many initialisation requests".into(),
                    ));
                }
                match self.authenticate(message.payload).await {
                    Ok(()) => {
                        *acknowledged = true;
                        sink.send(send(r#"{"type":"connection_ack"}"#.into()))
                            .await
                            .map_err(|_| ())?;
                        if self.protocol == Protocol::Legacy {
                            sink.send(send(r#"{"type":"ka"}"#.into()))
                                .await
                                .map_err(|_| ())?;
                        }
                        Ok(Step::Continue)
                    }
                    Err(error) => {
                        if self.protocol == Protocol::Legacy {
                            let text = serde_json::json!({
                                "type": "connection_error",
                                "payload": { "message": error.message, "extensions": error.extensions },
                            });
                            let _ = sink.send(send(text.to_string())).await;
                        }
                        Ok(Step::Close(
                            close::FORBIDDEN,
                            format!("Forbidden: {}", error.message),
                        ))
                    }
                }
            }
            ("ping", Protocol::TransportWs) => {
                sink.send(send(r#"{"type":"pong"}"#.into()))
                    .await
                    .map_err(|_| ())?;
                Ok(Step::Continue)
            }
            ("pong", Protocol::TransportWs) => Ok(Step::Continue),
            ("subscribe", Protocol::TransportWs) | ("start", Protocol::Legacy) => {
                if !*acknowledged {
                    return Ok(Step::Close(close::UNAUTHORIZED, "Unauthorized".into()));
                }
                let Some(id) = message.id.filter(|id| !id.is_empty()) else {
                    return Ok(Step::Close(
                        close::BAD_REQUEST,
                        "an operation needs an `id`".into(),
                    ));
                };
                if self.operations.contains_key(&id) {
                    return Ok(Step::Close(
                        close::DUPLICATE_ID,
                        format!("Subscriber for {id} already exists"),
                    ));
                }
                let request = match message
                    .payload
                    .map(serde_json::from_value::<GraphQLRequest>)
                {
                    Some(Ok(request)) => request,
                    Some(Err(e)) => {
                        return Ok(Step::Close(
                            close::BAD_REQUEST,
                            format!("Invalid message received: {e}"),
                        ));
                    }
                    None => {
                        return Ok(Step::Close(
                            close::BAD_REQUEST,
                            "an operation needs a `payload`".into(),
                        ));
                    }
                };
                self.generation += 1;
                let generation = self.generation;
                if self.operations.len() >= config.max_per_connection {
                    let error = GraphQLError::new(format!(
                        "this connection has {} operations open, its maximum \
                         (subscriptions.max_per_connection)",
                        config.max_per_connection
                    ))
                    .with_code(super::LIMIT_CODE);
                    let text = self.render(&id, Out::Error(vec![error]));
                    sink.send(send(text)).await.map_err(|_| ())?;
                    return Ok(Step::Continue);
                }
                let task = tokio::spawn(operation(
                    self.gateway.clone(),
                    self.edge.clone(),
                    self.headers.clone(),
                    self.identity.clone(),
                    request,
                    Reporter {
                        id: id.clone(),
                        generation,
                        out: out.clone(),
                    },
                ));
                self.operations
                    .insert(id, (generation, task.abort_handle()));
                Ok(Step::Continue)
            }
            ("complete", Protocol::TransportWs) | ("stop", Protocol::Legacy) => {
                // The client ends it: no `complete` back (graphql-transport-ws), and the
                // task's end releases the upstream.
                if let Some((_, task)) = message.id.and_then(|id| self.operations.remove(&id)) {
                    task.abort();
                }
                Ok(Step::Continue)
            }
            ("connection_terminate", Protocol::Legacy) => {
                Ok(Step::Close(close::NORMAL, "terminated".into()))
            }
            (other, _) => Ok(Step::Close(
                close::BAD_REQUEST,
                format!("Invalid message received: unexpected type `{other}`"),
            )),
        }
    }

    /// Verifies the token of the connection: from `connection_init`'s payload when it has
    /// one, else from the upgrade request's headers.
    async fn authenticate(&mut self, payload: Option<Value>) -> Result<(), GraphQLError> {
        let mut headers = (*self.headers).clone();
        if let Some(Value::Object(payload)) = payload {
            merge_payload_headers(&mut headers, &payload);
        }
        let identity = self.edge.authenticate(&headers).await.map_err(|e| {
            GraphQLError::new(e.message).with_code(crate::edge::auth::AuthError::CODE)
        })?;
        self.identity = identity;
        self.headers = Arc::new(headers);
        Ok(())
    }

    fn render(&self, id: &str, out: Out) -> String {
        let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".into());
        match (out, self.protocol) {
            (Out::Next(response), protocol) => {
                let kind = match protocol {
                    Protocol::TransportWs => "next",
                    Protocol::Legacy => "data",
                };
                let payload = String::from_utf8(response.to_bytes()).unwrap_or_default();
                format!(r#"{{"id":{id},"type":"{kind}","payload":{payload}}}"#)
            }
            (Out::Payload(payload), protocol) => {
                let kind = match protocol {
                    Protocol::TransportWs => "next",
                    Protocol::Legacy => "data",
                };
                let payload = String::from_utf8(payload).unwrap_or_default();
                format!(r#"{{"id":{id},"type":"{kind}","payload":{payload}}}"#)
            }
            (Out::Error(errors), _) => {
                let payload = serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into());
                format!(r#"{{"id":{id},"type":"error","payload":{payload}}}"#)
            }
            (Out::Complete, _) => format!(r#"{{"id":{id},"type":"complete"}}"#),
        }
    }
}

/// Copies the headers `connection_init` carries, as clients put them: `Authorization` (any
/// case) at the top level, or any string under `headers`.
fn merge_payload_headers(headers: &mut http::HeaderMap, payload: &Map<String, Value>) {
    let mut put = |name: &str, value: &Value| {
        let (Some(value), Ok(name)) = (
            value.as_str(),
            http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
        ) else {
            return;
        };
        if let Ok(value) = http::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    if let Some(Value::Object(nested)) = payload.get("headers") {
        for (name, value) in nested {
            put(name, value);
        }
    }
    for (name, value) in payload {
        if name.eq_ignore_ascii_case("authorization") {
            put(name, value);
        }
    }
}

/// Where an operation's task sends its messages.
struct Reporter {
    id: String,
    generation: u64,
    out: mpsc::Sender<(String, u64, Out)>,
}

impl Reporter {
    async fn send(&self, out: Out) -> bool {
        self.out
            .send((self.id.clone(), self.generation, out))
            .await
            .is_ok()
    }
}

/// Runs one operation of a connection and reports its messages, then `complete`.
async fn operation(
    gateway: Arc<Gateway>,
    edge: Arc<Edge>,
    headers: Arc<http::HeaderMap>,
    identity: Option<Arc<Identity>>,
    mut request: GraphQLRequest,
    reporter: Reporter,
) {
    // Both boxed: this task outlives them (it runs the subscription for as long as it lasts),
    // and their states inline would size its future for as long: an idle subscription's memory.
    if let Err(refusal) = Box::pin(edge.persisted().resolve(&mut request)).await {
        let error = GraphQLError::new(refusal.message).with_code(refusal.code);
        reporter.send(Out::Error(vec![error])).await;
        return;
    }
    let context = gateway.request_context(&headers, identity);
    match Box::pin(super::start(&gateway, request, context, Deferring::Deliver)).await {
        Started::Once(Outcome::Executed, response) => {
            if reporter.send(Out::Next(Box::new(response))).await {
                reporter.send(Out::Complete).await;
            }
        }
        Started::Once(_, response) => {
            reporter.send(Out::Error(response.errors)).await;
        }
        Started::Stream(mut messages) => {
            while let Some(message) = messages.next().await {
                let out = match message {
                    Message::Next(response) => Out::Next(response),
                    Message::Incremental(payload) => Out::Payload(payload),
                    Message::Fail(errors) => Out::Next(Box::new(Response::request_errors(errors))),
                };
                if !reporter.send(out).await {
                    return;
                }
            }
            reporter.send(Out::Complete).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_init_headers_are_read_where_clients_put_them() {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "Bearer from-upgrade".parse().unwrap());
        let payload = serde_json::json!({
            "Authorization": "Bearer top",
            "headers": { "X-Tenant": "a", "authorization": "Bearer nested", "bad": 1 },
            "other": "ignored",
        });
        merge_payload_headers(&mut headers, payload.as_object().unwrap());
        // The top-level token wins over the nested one and over the upgrade's header.
        assert_eq!(headers["authorization"], "Bearer top");
        assert_eq!(headers["x-tenant"], "a");
        assert!(!headers.contains_key("other"));
        assert!(!headers.contains_key("bad"));
    }
}
