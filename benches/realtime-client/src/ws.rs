//! `graphql-transport-ws` subscribers: `per_connection` subscriptions multiplexed on each
//! WebSocket (ids `0`…), subscriber number `first + id`.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, http};

use crate::arrivals::{Arrivals, Event};

/// Opens one connection and its subscriptions; returns once `connection_ack` came and every
/// `subscribe` is sent, leaving a task that records the events.
pub async fn open(
    address: &str,
    query: &str,
    first: usize,
    per_connection: usize,
    arrivals: Arc<Arrivals>,
) -> Result<(), String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut request = format!("ws://{address}/graphql")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        http::header::SEC_WEBSOCKET_PROTOCOL,
        http::HeaderValue::from_static("graphql-transport-ws"),
    );
    // Small buffers: 10,000 connections in the client must not cost what they cost by default.
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let (mut socket, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| format!("upgrade: {e}"))?;
    let send = |text: String| Message::Text(text.into());
    socket
        .send(send(r#"{"type":"connection_init"}"#.into()))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => break,
            Some(Ok(_)) => continue,
            other => return Err(format!("no connection_ack: {other:?}")),
        }
    }
    let payload = serde_json::json!({ "query": query });
    for id in 0..per_connection {
        let subscribe =
            serde_json::json!({ "id": id.to_string(), "type": "subscribe", "payload": payload });
        socket
            .send(send(subscribe.to_string()))
            .await
            .map_err(|e| e.to_string())?;
    }
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let bytes = text.as_bytes();
            if text.contains("\"type\":\"ping\"") {
                let _ = socket.send(send(r#"{"type":"pong"}"#.into())).await;
                continue;
            }
            let (Some(id), Some(event)) = (id_of(bytes), Event::find(bytes)) else {
                continue;
            };
            if id < per_connection {
                arrivals.record(first + id, event);
            }
        }
    });
    Ok(())
}

/// The operation id of a `next` message the gateway wrote (`{"id":"7",…`).
fn id_of(message: &[u8]) -> Option<usize> {
    let rest = message.strip_prefix(b"{\"id\":\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}
