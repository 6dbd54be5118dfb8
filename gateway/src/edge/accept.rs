//! The accept loop: admits or refuses each new connection, and on shutdown stops accepting,
//! lets connections finish their requests up to the shutdown timeout, and returns.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::activity::IdleTimeouts;
use super::admission::Admission;
use super::config::ServerConfig;
use super::{connection, errors};

/// Refusals being written at once; past that a refused connection is closed without a word, so
/// that a flood cannot hold descriptors through its refusals.
const MAX_REFUSALS_IN_PROGRESS: usize = 256;

/// How long a refusal may take to write, and to read what the client sent meanwhile (closing
/// with unread bytes would reset the connection, and the client might not see the 503).
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `router` (already behind [`super::Edge::wrap`]) on `listener` with the connection
/// limits of `config` until `shutdown` resolves, then shuts down gracefully.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    config
        .check()
        .map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))?;
    let builder = Arc::new(connection::builder(config));
    let max_connections = config.max_connections();
    if let Some(limit) = super::open_files::soft_limit()
        && max_connections > super::open_files::default_max_connections(Some(limit))
    {
        tracing::warn!(
            max_connections,
            open_files_soft_limit = limit,
            "server.max_connections leaves too few open files for the subgraph connections: \
             accept or subgraph requests may fail with EMFILE; raise the limit (ulimit -n)"
        );
    }
    let admission = Arc::new(Admission::new(max_connections));
    let timeouts = IdleTimeouts {
        header_read: config.header_read_timeout(),
        keep_alive: config.keep_alive_timeout(),
    };
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_PROGRESS));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tracing::debug!(max_connections, "accepting connections");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        pause_after_accept_error(error).await;
                        continue;
                    }
                };
                let Some(ticket) = admission.admit() else {
                    refuse(stream, &refusals);
                    continue;
                };
                // Responses are written whole; waiting for more to coalesce only adds latency.
                let _ = stream.set_nodelay(true);
                connections.spawn(connection::serve_connection(
                    stream,
                    router.clone(),
                    builder.clone(),
                    timeouts,
                    ticket,
                    stopping.clone(),
                ));
            }
        }
    }
    // New connections are refused by the kernel from here on.
    drop(listener);
    let _ = stop.send(true);
    let open = connections.len();
    tracing::info!(open, "shutting down: finishing the requests in flight");
    let drained = tokio::time::timeout(config.shutdown_timeout(), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = admission.open(),
            "shutdown timeout ({} ms) passed: closing the connections still open",
            config.shutdown_timeout_ms
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Answers a connection refused at the cap with a 503 and closes it, off the accept loop.
fn refuse(mut stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
            stream.write_all(&errors::too_many_connections()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            io::Result::Ok(())
        })
        .await;
    });
}

/// Accept fails for a connection that was reset before it was accepted (nothing to do), or for
/// the process (out of descriptors or memory): then pause, as spinning would not help.
async fn pause_after_accept_error(error: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::error!("cannot accept connections: {error}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
