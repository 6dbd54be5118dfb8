//! GraphQL over SSE subscribers: one HTTP/1.1 connection each (distinct-connections mode),
//! written and read by hand: the request is fixed, and of the chunked event stream only the
//! `data:` lines matter (each event's data is one line).

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::arrivals::{Arrivals, Event};

/// Opens subscriber `who`'s stream; returns once the gateway answered 200 and its headers
/// are read, leaving a task that records the events.
pub async fn open(
    address: &str,
    body: &str,
    who: usize,
    arrivals: Arc<Arrivals>,
) -> Result<(), String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut stream = BufReader::with_capacity(2048, stream);
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Accept: text/event-stream\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut line = Vec::with_capacity(256);
    stream
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if !line.windows(5).any(|w| w == b" 200 ") {
        return Err(format!(
            "subscription refused: {}",
            String::from_utf8_lossy(&line).trim_end()
        ));
    }
    loop {
        line.clear();
        let n = stream
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before the stream began".into());
        }
        if line == b"\r\n" {
            break;
        }
    }
    tokio::spawn(async move {
        loop {
            line.clear();
            match stream.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line.starts_with(b"data:")
                && let Some(event) = Event::find(&line)
            {
                arrivals.record(who, event);
            }
        }
    });
    Ok(())
}
