//! Live queries (`query @live`): executed, then executed again whenever an invalidation
//! touches what its last answer holds (the cache tags its fetches recorded), or a cached part
//! of it runs out of TTL; a new answer goes to the clients only when it differs from the last
//! one. Identical live queries share these executions ([`super::live_hub`]): one execution
//! per invalidation, its answer fanned out to every client. At most one execution per
//! `subscriptions.live_throttle_ms` (or the query's `@live(throttle:)`, if longer):
//! invalidations that arrive meanwhile are answered together, by one execution after the
//! interval. Delivered by the subscription transports; a client's share ends when it leaves
//! or on shutdown. See docs/realtime.md, "Live queries".

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::live_hub::Latest;
use super::{Message, Ticket};
use crate::events::Changes;
use crate::executor::LiveTags;
use crate::gateway::{Gateway, LivePlan};
use crate::response::{GraphQLError, Response};

/// Responses the transport has not taken yet; past this the client's share waits for it
/// (and then gets the latest answer, skipping those it had no room for).
const QUEUE: usize = 4;

/// Starts `plan` for one client, joining the identical live query if one runs: its answers
/// arrive on the receiver. Dropping the receiver ends this client's share. `changes` is used
/// only when no identical live query runs.
pub(crate) fn start(
    gateway: Arc<Gateway>,
    plan: LivePlan,
    changes: Changes,
    ticket: Ticket,
) -> mpsc::Receiver<Message> {
    let (sender, receiver) = mpsc::channel(QUEUE);
    let subscriptions = gateway.subscriptions();
    let closing = subscriptions.closing();
    let key = plan.key();
    let (shared, latest) = subscriptions.live.join(key, |answers, executions| {
        let throttle = subscriptions.config.live_throttle(plan.throttle_ms);
        let gateway = gateway.clone();
        tokio::spawn(async move {
            execute(&gateway, &plan, changes, throttle, &answers, &executions).await;
        })
        .abort_handle()
    });
    tokio::spawn(async move {
        let _ticket = ticket;
        // Held until this client leaves: the last one out stops the executions.
        let _shared = shared;
        deliver(latest, closing, &sender).await;
    });
    receiver
}

/// The executions of one shared live query, until its last client leaves (which aborts
/// this task).
async fn execute(
    gateway: &Gateway,
    plan: &LivePlan,
    mut changes: Changes,
    throttle: Duration,
    answers: &watch::Sender<Latest>,
    executions: &AtomicU64,
) {
    let mut last: Option<Vec<u8>> = None;
    loop {
        let started = Instant::now();
        let recorded = Arc::new(LiveTags::default());
        let response = gateway.execute_live(plan, recorded.clone()).await;
        executions.fetch_add(1, Ordering::Relaxed);
        let (tags, expires_at_ms) = recorded.take();
        let bytes = response.to_bytes();
        if last.as_ref() != Some(&bytes) {
            last = Some(bytes);
            answers.send_replace(Some(Arc::new(response)));
        }
        let expiry = expires_at_ms.map(|at| {
            let left = at.saturating_sub(crate::cache::tags::now_ms());
            started + Duration::from_millis(left)
        });
        wait(&mut changes, &tags, expiry).await;
        // The throttle: whatever is invalidated until then is answered by the next execution.
        tokio::time::sleep_until(started + throttle).await;
        while changes.try_next().is_some() {}
    }
}

/// Waits for an invalidation that touches `tags`, or `expiry`.
async fn wait(changes: &mut Changes, tags: &[u64], expiry: Option<Instant>) {
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
            change = changes.next() => match change {
                Some(change) if change.touches(tags) => return,
                Some(_) => {}
                // The cache is gone (the gateway with it): nothing will change any more; the
                // clients leave in their own time.
                None => std::future::pending::<()>().await,
            },
            () = &mut expired => return,
        }
    }
}

/// One client's share: the last answer when it joins (if there is one yet), then every new
/// one, until it leaves or the gateway shuts down (the client is told then).
async fn deliver(
    mut latest: watch::Receiver<Latest>,
    mut closing: watch::Receiver<Option<Arc<str>>>,
    sender: &mpsc::Sender<Message>,
) {
    loop {
        let answer = latest.borrow_and_update().clone();
        if let Some(answer) = answer
            && sender
                .send(Message::Next(Box::new(Response::clone(&answer))))
                .await
                .is_err()
        {
            return;
        }
        tokio::select! {
            biased;
            () = sender.closed() => return,
            reason = super::closed(&mut closing) => return shutdown(reason, sender).await,
            changed = latest.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

async fn shutdown(reason: Option<Arc<str>>, sender: &mpsc::Sender<Message>) {
    let message = reason.as_deref().unwrap_or("the gateway is shutting down");
    let error = GraphQLError::new(message).with_code(super::SHUTDOWN_CODE);
    let _ = sender.send(Message::Fail(vec![error])).await;
}
