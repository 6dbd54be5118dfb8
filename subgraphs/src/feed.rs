//! What the demo subscriptions stream: each service keeps a broadcast channel that its
//! mutations publish to, and every subscription reads its own receiver of it.
//!
//! A subscriber that falls more than [`CAPACITY`] events behind skips the ones it missed
//! rather than holding the publisher back or growing without bound.

use async_graphql::futures_util::stream::{self, Stream};
use tokio::sync::broadcast;

/// Events kept for a slow subscriber before it starts skipping.
const CAPACITY: usize = 256;

/// The broadcast channel of one kind of event, kept as schema data.
pub struct Feed<T>(broadcast::Sender<T>);

impl<T: Clone + Send + 'static> Default for Feed<T> {
    fn default() -> Self {
        Self(broadcast::channel(CAPACITY).0)
    }
}

impl<T: Clone + Send + 'static> Feed<T> {
    /// Sends `event` to every subscription open now (none is fine).
    pub fn publish(&self, event: T) {
        let _ = self.0.send(event);
    }

    /// The events published from now on, in order, as long as the feed lives.
    pub fn stream(&self) -> impl Stream<Item = T> + Send + use<T> {
        stream::unfold(self.0.subscribe(), |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((event, receiver)),
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped, "a slow subscription skipped events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn subscribers_get_what_is_published_after_they_subscribe() {
        let feed = Feed::<u32>::default();
        feed.publish(1);
        let mut first = Box::pin(feed.stream());
        feed.publish(2);
        let mut second = Box::pin(feed.stream());
        feed.publish(3);
        assert_eq!(first.next().await, Some(2));
        assert_eq!(first.next().await, Some(3));
        assert_eq!(second.next().await, Some(3));
    }
}
