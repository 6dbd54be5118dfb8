//! When to stop: SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

/// Installs the SIGTERM and SIGINT handlers now, and returns a future that resolves with the
/// signal's name when one arrives. Install it first thing: a signal that comes before is not
/// seen, and as PID 1 (in a container without an init) the kernel drops any signal the
/// process has no handler for, so it would not even stop the process.
pub fn on_signal() -> std::io::Result<impl Future<Output = &'static str> + Send + 'static> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    })
}
