//! The in-process bus of the one-process demo: services hand their change events to it, and
//! it applies them to the gateway's cache, no Redis needed.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cache::Invalidation;
use crate::gateway::GatewayHooks;

#[derive(Clone)]
pub struct InProcessBus {
    sender: mpsc::UnboundedSender<Vec<Invalidation>>,
}

impl InProcessBus {
    /// Applies every event published on the bus through `hooks`, in order.
    pub fn start(hooks: Arc<dyn GatewayHooks>) -> Self {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Vec<Invalidation>>();
        tokio::spawn(async move {
            while let Some(invalidations) = receiver.recv().await {
                hooks.invalidate(invalidations).await;
            }
        });
        Self { sender }
    }

    pub fn publish(&self, invalidations: Vec<Invalidation>) {
        let _ = self.sender.send(invalidations);
    }
}
