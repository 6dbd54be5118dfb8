//! A TCP proxy the test controls, standing between a gateway and Redis: it forwards bytes both
//! ways until told to black-hole the link, after which it keeps every connection open but
//! passes nothing either way (what a partition or a dead middlebox looks like to both ends:
//! no reset, no close, just silence), until told to heal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct TcpProxy {
    pub address: SocketAddr,
    blackholed: Arc<AtomicBool>,
    /// Connections open through the proxy now.
    open: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TcpProxy {
    /// A proxy on a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let blackholed = Arc::new(AtomicBool::new(false));
        let state = blackholed.clone();
        let open = Arc::new(AtomicUsize::new(0));
        let counter = open.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                let counter = counter.clone();
                connections.spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _open = OpenConnection(counter);
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pump(client_read, server_write, state.clone()),
                        pump(server_read, client_write, state),
                    );
                });
            }
        });
        Self {
            address,
            blackholed,
            open,
            task,
        }
    }

    /// Connections open through the proxy now (both directions not yet closed).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// A `redis://` URL through the proxy.
    pub fn redis_url(&self) -> String {
        format!("redis://{}/", self.address)
    }

    /// From now on nothing passes, and nothing is closed.
    pub fn blackhole(&self) {
        self.blackholed.store(true, Ordering::SeqCst);
    }

    pub fn heal(&self) {
        self.blackholed.store(false, Ordering::SeqCst);
    }
}

/// Counts one connection as open while it lives.
struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Copies one direction; while black-holed, what arrives is held back until healed, and the
/// connection stays open.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    blackholed: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        while blackholed.load(Ordering::SeqCst) {
            // Silence: held back until healed, as TCP retransmits across a partition.
            tokio::time::sleep(Duration::from_millis(20)).await;
            if !blackholed.load(Ordering::SeqCst) {
                break;
            }
        }
        if blackholed.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
