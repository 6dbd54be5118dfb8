//! What one client connection is doing, as the connection layer needs to know it: how many
//! requests it has in flight, since when it has had none, and whether bytes of a next request
//! have arrived since. hyper only tells us about a request once its headers are complete, so
//! a connection sending headers a byte at a time (slowloris) counts as idle here: it can be
//! evicted, and its header read timeout runs from its first byte.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Instants are kept as milliseconds since a base shared by every connection (so the registry
/// can compare them), plus one: 0 means "not set".
pub(super) struct Activity {
    base: Instant,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    idle_since: AtomicU64,
    first_byte: AtomicU64,
    /// Woken when the first byte of an idle period arrives: the deadline gets shorter.
    request_started: Notify,
}

/// The timeouts that close a connection with no request in flight.
#[derive(Debug, Clone, Copy)]
pub(super) struct IdleTimeouts {
    pub header_read: Duration,
    pub keep_alive: Duration,
}

impl Activity {
    pub(super) fn new(base: Instant) -> Self {
        let activity = Self {
            base,
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(0),
            request_started: Notify::new(),
        };
        activity.idle_since.store(activity.now(), Ordering::Relaxed);
        activity
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_millis() as u64 + 1
    }

    fn instant(&self, stamp: u64) -> Instant {
        self.base + Duration::from_millis(stamp - 1)
    }

    pub(super) fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// When the connection last became idle (or opened), comparable across connections.
    pub(super) fn idle_since(&self) -> u64 {
        self.idle_since.load(Ordering::Relaxed)
    }

    /// A request's headers are in; the returned guard ends it when dropped.
    pub(super) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Called for every read: the first bytes after an idle period start the header timeout.
    fn bytes_arrived(&self) {
        if self.is_idle() && self.first_byte.load(Ordering::Relaxed) == 0 {
            self.first_byte.store(self.now(), Ordering::Relaxed);
            self.request_started.notify_one();
        }
    }

    /// Resolves when bytes of a next request arrive on an idle connection.
    pub(super) async fn next_request_started(&self) {
        self.request_started.notified().await
    }

    /// When this connection should be closed if it stays as it is; `None` while a request is
    /// in flight (the request's own timeouts apply then). The header timeout runs from the
    /// first byte of a request, or from the opening of a connection that has sent none; the
    /// keep-alive timeout from the end of the last request.
    pub(super) fn idle_deadline(&self, timeouts: IdleTimeouts) -> Option<Instant> {
        if !self.is_idle() {
            return None;
        }
        let first_byte = self.first_byte.load(Ordering::Relaxed);
        if first_byte != 0 {
            return Some(self.instant(first_byte) + timeouts.header_read);
        }
        let idle_since = self.instant(self.idle_since());
        if self.requests.load(Ordering::Relaxed) == 0 {
            Some(idle_since + timeouts.header_read)
        } else {
            Some(idle_since + timeouts.keep_alive)
        }
    }
}

/// One request in flight on a connection, until its response has been written (the guard
/// rides in the response body) or its handler was dropped.
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.first_byte.store(0, Ordering::Relaxed);
        activity.idle_since.store(activity.now(), Ordering::Relaxed);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until hyper has sent it.
pub(super) struct TrackedBody {
    pub body: axum::body::Body,
    pub _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A client socket that reports the bytes it reads to the connection's [`Activity`].
pub(super) struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub(super) fn new(io: T, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    const TIMEOUTS: IdleTimeouts = IdleTimeouts {
        header_read: Duration::from_secs(10),
        keep_alive: Duration::from_secs(75),
    };

    #[test]
    fn a_new_connection_has_the_header_timeout_and_then_the_keep_alive_one() {
        let base = Instant::now();
        let activity = Arc::new(Activity::new(base));
        let opened = activity.idle_deadline(TIMEOUTS).unwrap();
        assert!(opened <= Instant::now() + TIMEOUTS.header_read);
        let request = activity.begin();
        assert!(!activity.is_idle());
        assert_eq!(activity.idle_deadline(TIMEOUTS), None);
        drop(request);
        let kept = activity.idle_deadline(TIMEOUTS).unwrap();
        assert!(kept > Instant::now() + TIMEOUTS.header_read);
    }

    #[tokio::test]
    async fn bytes_of_a_next_request_start_the_header_timeout() {
        let activity = Arc::new(Activity::new(Instant::now()));
        drop(activity.begin());
        let (client, server) = tokio::io::duplex(64);
        let mut watched = Watched::new(server, activity.clone());
        drop(tokio::io::AsyncWriteExt::write_all(&mut { client }, b"G").await);
        let mut byte = [0u8; 1];
        watched.read_exact(&mut byte).await.unwrap();
        // The wake-up is stored, so a waiter that comes later still sees it.
        activity.next_request_started().await;
        let deadline = activity.idle_deadline(TIMEOUTS).unwrap();
        assert!(deadline <= Instant::now() + TIMEOUTS.header_read);
    }
}
