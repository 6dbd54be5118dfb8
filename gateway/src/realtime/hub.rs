//! Shared upstream subscriptions: identical client subscriptions (same subgraph, same
//! subgraph request, same forwarded headers) read one stream from the subgraph. The first
//! opens it; the last to leave closes it (dropping the last [`Shared`] aborts its task, which
//! drops the connection to the subgraph).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use futures::StreamExt;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use super::upstream::{self, Endpoint, UpstreamRequest};
use crate::executor::SubgraphResponse;
use crate::response::GraphQLError;

/// What makes two upstream subscriptions the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct UpstreamKey {
    pub subgraph: String,
    pub body: String,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl UpstreamKey {
    pub fn new(subgraph: &str, request: &UpstreamRequest) -> Self {
        let mut headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
            .collect();
        headers.sort();
        Self {
            subgraph: subgraph.to_string(),
            body: request.body.clone(),
            headers,
        }
    }
}

/// What a shared upstream tells its subscribers, in order.
#[derive(Debug, Clone)]
pub(super) enum UpstreamEvent {
    Data(Arc<SubgraphResponse>),
    /// The stream failed or was cut: the last event.
    Failed(Arc<[GraphQLError]>),
    /// The subgraph completed it: the last event.
    Completed,
}

type Upstreams = Mutex<HashMap<UpstreamKey, (u64, Weak<Shared>)>>;

pub(super) struct Hub {
    upstreams: Arc<Upstreams>,
    buffer: usize,
    next_id: AtomicU64,
}

/// One upstream subscription, held by each of its subscribers.
pub(super) struct Shared {
    id: u64,
    key: UpstreamKey,
    sender: broadcast::Sender<UpstreamEvent>,
    task: AbortHandle,
    upstreams: Weak<Upstreams>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last subscriber left: nobody reads the subgraph's stream any more.
        self.task.abort();
        if let Some(upstreams) = self.upstreams.upgrade() {
            let mut map = upstreams.lock().unwrap_or_else(|e| e.into_inner());
            if map.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
                map.remove(&self.key);
            }
        }
    }
}

impl Hub {
    pub fn new(buffer: usize) -> Self {
        Self {
            upstreams: Arc::default(),
            buffer,
            next_id: AtomicU64::new(0),
        }
    }

    /// Upstream subscriptions open now.
    pub fn len(&self) -> usize {
        self.upstreams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Joins the upstream subscription for `request` on `endpoint`, opening it when none
    /// is open. The receiver gets every event from now on.
    pub fn join(
        &self,
        endpoint: &Endpoint,
        client: &reqwest::Client,
        request: UpstreamRequest,
    ) -> (Arc<Shared>, broadcast::Receiver<UpstreamEvent>) {
        let key = UpstreamKey::new(&endpoint.name, &request);
        let mut map = self.upstreams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(shared) = map.get(&key).and_then(|(_, weak)| weak.upgrade()) {
            let receiver = shared.sender.subscribe();
            return (shared, receiver);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = broadcast::channel(self.buffer);
        let task = tokio::spawn(forward(
            endpoint.clone(),
            client.clone(),
            request,
            sender.clone(),
            Arc::downgrade(&self.upstreams),
            key.clone(),
            id,
        ))
        .abort_handle();
        let shared = Arc::new(Shared {
            id,
            key: key.clone(),
            sender,
            task,
            upstreams: Arc::downgrade(&self.upstreams),
        });
        map.insert(key, (id, Arc::downgrade(&shared)));
        (shared, receiver)
    }
}

/// Opens the upstream subscription and hands its events to the subscribers until it ends
/// (or the task is aborted when the last subscriber leaves).
async fn forward(
    endpoint: Endpoint,
    client: reqwest::Client,
    request: UpstreamRequest,
    sender: broadcast::Sender<UpstreamEvent>,
    upstreams: Weak<Upstreams>,
    key: UpstreamKey,
    id: u64,
) {
    let last = match upstream::open(&endpoint, &client, request).await {
        Err(error) => UpstreamEvent::Failed(error.to_graphql_errors().into()),
        Ok(mut events) => loop {
            match events.next().await {
                Some(Ok(event)) => {
                    let _ = sender.send(UpstreamEvent::Data(Arc::new(event)));
                }
                Some(Err(error)) => {
                    tracing::warn!(subgraph = %endpoint.name, "subscription ended: {error}");
                    break UpstreamEvent::Failed(error.to_graphql_errors().into());
                }
                None => break UpstreamEvent::Completed,
            }
        },
    };
    // Out of the map first: whoever joins from now on opens a new upstream; whoever joined
    // before is subscribed already and gets the last event.
    if let Some(upstreams) = upstreams.upgrade() {
        let mut map = upstreams.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&key).is_some_and(|(own, _)| *own == id) {
            map.remove(&key);
        }
    }
    let _ = sender.send(last);
}
