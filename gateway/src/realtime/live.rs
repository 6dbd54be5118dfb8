//! One live query (`query @live`): executed, then executed again whenever an invalidation
//! touches what its last answer holds (the cache tags its fetches recorded), or a cached part
//! of it runs out of TTL; the new answer goes to the client only when it differs from the last
//! one sent. At most one execution per `subscriptions.live_throttle_ms` (or the query's
//! `@live(throttle:)`, if longer): invalidations that arrive meanwhile are answered together,
//! by one execution after the interval. Delivered by the subscription transports; ends when
//! the client leaves or on shutdown. See docs/realtime.md, "Live queries".

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Message, Ticket};
use crate::events::Changes;
use crate::executor::LiveTags;
use crate::gateway::{Gateway, LivePlan};
use crate::response::GraphQLError;

/// Responses the transport has not taken yet; past this the session waits for it.
const QUEUE: usize = 4;

/// Starts `plan`: its answers arrive on the receiver. Dropping the receiver ends it.
pub(crate) fn start(
    gateway: Arc<Gateway>,
    plan: LivePlan,
    changes: Changes,
    ticket: Ticket,
) -> mpsc::Receiver<Message> {
    let (sender, receiver) = mpsc::channel(QUEUE);
    let subscriptions = gateway.subscriptions();
    let throttle = subscriptions.config.live_throttle(plan.throttle_ms);
    let closing = subscriptions.closing();
    tokio::spawn(async move {
        let _ticket = ticket;
        run(&gateway, &plan, changes, throttle, closing, &sender).await;
    });
    receiver
}

/// Why a live query runs again.
enum Wake {
    Again,
    Gone,
}

async fn run(
    gateway: &Gateway,
    plan: &LivePlan,
    mut changes: Changes,
    throttle: Duration,
    mut closing: watch::Receiver<Option<Arc<str>>>,
    sender: &mpsc::Sender<Message>,
) {
    let mut last: Option<Vec<u8>> = None;
    loop {
        let started = Instant::now();
        let recorded = Arc::new(LiveTags::default());
        let response = tokio::select! {
            biased;
            () = sender.closed() => return,
            response = gateway.execute_live(plan, recorded.clone()) => response,
        };
        let (tags, expires_at_ms) = recorded.take();
        let bytes = response.to_bytes();
        if last.as_ref() != Some(&bytes) {
            last = Some(bytes);
            if sender
                .send(Message::Next(Box::new(response)))
                .await
                .is_err()
            {
                return;
            }
        }
        let expiry = expires_at_ms.map(|at| {
            let left = at.saturating_sub(crate::cache::tags::now_ms());
            started + Duration::from_millis(left)
        });
        match wait(&mut changes, &tags, expiry, &mut closing, sender).await {
            Wake::Again => {}
            Wake::Gone => return,
        }
        // The throttle: whatever is invalidated until then is answered by the next execution.
        let ready = started + throttle;
        tokio::select! {
            biased;
            () = sender.closed() => return,
            reason = super::closed(&mut closing) => return shutdown(reason, sender).await,
            () = tokio::time::sleep_until(ready) => {}
        }
        while changes.try_next().is_some() {}
    }
}

/// Waits for an invalidation that touches `tags`, or `expiry`; `Gone` when the client left
/// or the gateway shuts down (the client is told then).
async fn wait(
    changes: &mut Changes,
    tags: &[u64],
    expiry: Option<Instant>,
    closing: &mut watch::Receiver<Option<Arc<str>>>,
    sender: &mpsc::Sender<Message>,
) -> Wake {
    let expired = async {
        match expiry {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    loop {
        tokio::select! {
            biased;
            () = sender.closed() => return Wake::Gone,
            reason = super::closed(closing) => {
                shutdown(reason, sender).await;
                return Wake::Gone;
            }
            change = changes.next() => match change {
                Some(change) if change.touches(tags) => return Wake::Again,
                Some(_) => {}
                // The cache is gone (the gateway with it): nothing will change any more.
                None => {
                    sender.closed().await;
                    return Wake::Gone;
                }
            },
            () = &mut expired => return Wake::Again,
        }
    }
}

async fn shutdown(reason: Option<Arc<str>>, sender: &mpsc::Sender<Message>) {
    let message = reason.as_deref().unwrap_or("the gateway is shutting down");
    let error = GraphQLError::new(message).with_code(super::SHUTDOWN_CODE);
    let _ = sender.send(Message::Fail(vec![error])).await;
}
