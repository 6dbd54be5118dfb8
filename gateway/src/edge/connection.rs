//! One client connection, from admission to close: HTTP/1.1 or HTTP/2 (hyper-util's auto
//! builder), closed when idle past its timeouts, when evicted to make room, or, on shutdown,
//! as soon as its requests in flight are done.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;

use super::activity::{IdleTimeouts, TrackedBody, Watched};
use super::admission::Ticket;
use super::config::ServerConfig;

/// The protocol settings every connection is served with.
pub(super) fn builder(config: &ServerConfig) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // hyper's header timer also runs while a kept-alive connection waits for its next
        // request, which would cut the keep-alive timeout short; both are kept by
        // `serve_connection` instead (activity.rs).
        .header_read_timeout(None)
        .max_buf_size(config.max_header_bytes)
        .max_headers(config.max_headers);
    let http2 = &mut builder.http2();
    http2
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.http2_max_concurrent_streams)
        .max_header_list_size(config.max_header_bytes as u32);
    if config.http2_keep_alive_interval_ms > 0 {
        http2
            .keep_alive_interval(Duration::from_millis(config.http2_keep_alive_interval_ms))
            .keep_alive_timeout(Duration::from_millis(config.http2_keep_alive_timeout_ms));
    }
    builder
}

/// Serves one admitted connection until it closes.
pub(super) async fn serve_connection(
    stream: TcpStream,
    router: Router,
    builder: Arc<Builder<TokioExecutor>>,
    timeouts: IdleTimeouts,
    ticket: Ticket,
    mut shutdown: watch::Receiver<bool>,
) {
    let activity = ticket.activity().clone();
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let counted = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        // Counted from here until the response body is sent or the handler is dropped
        // (client gone, request timeout): hyper drops this future with the connection.
        let in_flight = counted.begin();
        let response = router.clone().oneshot(request);
        async move {
            let response = response
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            Ok::<_, Infallible>(response.map(|body| {
                axum::body::Body::new(TrackedBody {
                    body,
                    _in_flight: in_flight,
                })
            }))
        }
    });
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    // Once closing, the connection ends by itself when its requests are done (or the
    // server's shutdown deadline drops it).
    let mut closing = false;
    loop {
        let deadline = if closing {
            None
        } else {
            activity.idle_deadline(timeouts)
        };
        // While requests are in flight, look again after the shorter timeout: the connection
        // cannot become idle and time out sooner than that after its last request ends.
        let wake = deadline.unwrap_or_else(|| {
            std::time::Instant::now() + timeouts.header_read.min(timeouts.keep_alive)
        });
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!("client connection ended: {error}");
                }
                return;
            }
            () = ticket.evicted(), if !closing => {
                if activity.is_idle() {
                    return;
                }
                // A request began as it was chosen: let it finish, then close.
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = shutdown.changed(), if !closing => {
                // Closes an idle connection at once (HTTP/1.1), sends GOAWAY (HTTP/2).
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.next_request_started(), if !closing => {}
            () = tokio::time::sleep_until(wake.into()) => {
                if deadline.is_some_and(|d| d <= std::time::Instant::now()) && activity.is_idle() {
                    return;
                }
            }
        }
    }
}
