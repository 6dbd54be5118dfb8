//! A subscription opened on a subgraph over `graphql-transport-ws` (tokio-tungstenite does
//! the WebSocket; this is the protocol's handful of JSON messages): one connection per
//! upstream subscription, `connection_init` → `connection_ack` → `subscribe`, then `next`
//! until `complete` or `error`, answering the subgraph's `ping`s.

use futures::{SinkExt, StreamExt, stream};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::{Endpoint, UpstreamError, UpstreamRequest, UpstreamStream};
use crate::response::GraphQLError;

/// The largest message read from a subgraph (tungstenite's default is 64 MiB).
const MAX_MESSAGE_BYTES: usize = 16 << 20;

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

pub(super) async fn open(
    endpoint: &Endpoint,
    request: UpstreamRequest,
) -> Result<UpstreamStream, UpstreamError> {
    let failed = |reason: String| UpstreamError::Open {
        subgraph: endpoint.name.clone(),
        reason,
    };
    let mut handshake = endpoint
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| failed(format!("invalid URL {}: {e}", endpoint.url)))?;
    for (name, value) in &request.headers {
        handshake.headers_mut().append(name, value.clone());
    }
    handshake.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(handshake, Some(config), false)
            .await
            .map_err(|e| failed(e.to_string()))?;
    let send = |text: String| Message::text(text);
    socket
        .send(send(r#"{"type":"connection_init","payload":{}}"#.into()))
        .await
        .map_err(|e| failed(e.to_string()))?;
    loop {
        let message = socket
            .next()
            .await
            .ok_or_else(|| failed("closed before connection_ack".into()))?
            .map_err(|e| failed(e.to_string()))?;
        let Message::Text(text) = message else {
            continue;
        };
        let incoming: Incoming =
            serde_json::from_str(&text).map_err(|e| failed(format!("invalid message: {e}")))?;
        match incoming.kind {
            "connection_ack" => break,
            "ping" => socket
                .send(send(r#"{"type":"pong"}"#.into()))
                .await
                .map_err(|e| failed(e.to_string()))?,
            other => return Err(failed(format!("`{other}` before connection_ack"))),
        }
    }
    let subscribe = format!(
        r#"{{"id":"1","type":"subscribe","payload":{}}}"#,
        request.body
    );
    socket
        .send(send(subscribe))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let endpoint = endpoint.clone();
    let events = stream::unfold(Some(socket), move |state| {
        let endpoint = endpoint.clone();
        async move {
            let mut socket = state?;
            let closed = |reason: String| UpstreamError::Closed {
                subgraph: endpoint.name.clone(),
                reason,
            };
            loop {
                let text = match socket.next().await {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        let reason = frame.map_or_else(
                            || "connection closed".to_string(),
                            |f| format!("connection closed ({} {})", u16::from(f.code), f.reason),
                        );
                        return Some((Err(closed(reason)), None));
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Some((Err(closed(e.to_string())), None)),
                    None => return Some((Err(closed("connection lost".into())), None)),
                };
                let incoming = match serde_json::from_str::<Incoming>(&text) {
                    Ok(incoming) => incoming,
                    Err(e) => return Some((Err(closed(format!("invalid message: {e}"))), None)),
                };
                match incoming.kind {
                    "next" => {
                        let payload = incoming.payload.map_or("null", RawValue::get);
                        let event = super::event(&endpoint, payload.as_bytes());
                        return Some((event, Some(socket)));
                    }
                    "error" => {
                        let errors = incoming
                            .payload
                            .and_then(|p| serde_json::from_str::<Vec<GraphQLError>>(p.get()).ok())
                            .unwrap_or_default();
                        let refused = UpstreamError::Refused {
                            subgraph: endpoint.name.clone(),
                            errors,
                        };
                        return Some((Err(refused), None));
                    }
                    "complete" => {
                        let _ = socket.close(None).await;
                        return None;
                    }
                    "ping"
                        if socket
                            .send(Message::text(r#"{"type":"pong"}"#))
                            .await
                            .is_err() =>
                    {
                        return Some((Err(closed("connection lost".into())), None));
                    }
                    _ => {}
                }
            }
        }
    });
    Ok(events.boxed())
}
