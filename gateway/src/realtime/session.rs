//! One client subscription: joins (or opens) its upstream, and runs the rest of its plan for
//! each event, one event at a time, as the client's transport reads its messages. Ends when
//! the client leaves (the transport drops its [`Messages`]), when the upstream ends, or on
//! shutdown.
//!
//! A subscription is a stream its transport polls, not a task of its own with a channel to
//! the transport: an idle subscription is then only its state (its place in the upstream's
//! broadcast, its plan), which is what the memory per idle subscription is made of
//! (docs/realtime.md, "Subscriptions at scale"). Each transport's connection task runs the
//! executions of its subscriptions, so a fan-out still spreads over the runtime's workers.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{Stream, stream};
use tokio::sync::{broadcast, mpsc, watch};

use super::Subscriptions;
use super::hub::{Shared, UpstreamEvent};
use super::upstream::UpstreamRequest;
use crate::executor::SubgraphResponse;
use crate::gateway::{Gateway, SubscriptionPlan};
use crate::response::{GraphQLError, Response};

/// What a client transport sends, in order.
#[derive(Debug)]
pub(crate) enum Message {
    /// A result (for an event, or the only one of a query). Boxed: tokio's channels (a live
    /// query's, a WebSocket's outgoing messages) allocate their slots 32 at a time, and a slot
    /// of one pointer instead of a whole `Response` is most of what an idle one costs.
    Next(Box<Response>),
    /// One payload of an operation's incremental delivery (`@defer`), as JSON in Apollo's
    /// format (the first `{data, hasNext}`, then `{incremental, hasNext}`): sent as a result
    /// is.
    Incremental(Vec<u8>),
    /// The subscription ends with these errors (its subgraph closed it, it fell behind, the
    /// gateway shuts down); `complete` follows.
    Fail(Vec<GraphQLError>),
}

/// A place among `subscriptions.max_total`, given back when dropped.
#[derive(Debug)]
pub(crate) struct Ticket(Arc<AtomicUsize>);

impl Ticket {
    pub(super) fn new(active: Arc<AtomicUsize>) -> Self {
        Self(active)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a client transport reads, in order; it ends after the last message (then the
/// transport sends `complete`). Dropping it ends the subscription.
pub(crate) type Messages = Pin<Box<dyn Stream<Item = Message> + Send>>;

/// Messages sent on a channel by a task of their own (live queries).
pub(crate) fn from_channel(receiver: mpsc::Receiver<Message>) -> Messages {
    Box::pin(stream::unfold(receiver, |mut receiver| async move {
        let message = receiver.recv().await?;
        Some((message, receiver))
    }))
}

/// One message, then the end.
pub(crate) fn once(message: Message) -> Messages {
    Box::pin(stream::iter([message]))
}

/// Starts `plan`: its messages, until the stream ends.
pub(crate) fn start(gateway: Arc<Gateway>, plan: SubscriptionPlan, ticket: Ticket) -> Messages {
    let subscriptions: &Subscriptions = gateway.subscriptions();
    let fetch = plan.root_fetch().clone();
    let Some(endpoint) = subscriptions.endpoints.get(&*fetch.subgraph_name).cloned() else {
        let error = GraphQLError::new(format!("unknown subgraph \"{}\"", fetch.subgraph_name))
            .with_code(super::UPSTREAM_CODE);
        return once(Message::Fail(vec![error]));
    };
    let body = serde_json::json!({
        "query": &*fetch.operation,
        "operationName": fetch.operation_name.as_deref(),
        "variables": plan.root_variables(),
    });
    let request = UpstreamRequest {
        body: body.to_string(),
        headers: plan.context().headers.clone(),
    };
    let (shared, events) = subscriptions
        .hub
        .join(&endpoint, &subscriptions.client, request);
    let session = Session {
        closing: subscriptions.closing(),
        gateway,
        plan,
        events,
        _shared: shared,
        _ticket: ticket,
        done: false,
    };
    Box::pin(stream::unfold(session, |mut session| async move {
        let message = session.next().await?;
        Some((message, session))
    }))
}

struct Session {
    gateway: Arc<Gateway>,
    plan: SubscriptionPlan,
    events: broadcast::Receiver<UpstreamEvent>,
    closing: watch::Receiver<Option<Arc<str>>>,
    /// Held until the session ends: the last one out closes the upstream.
    _shared: Arc<Shared>,
    _ticket: Ticket,
    /// The last message was given.
    done: bool,
}

impl Session {
    /// The next message; `None` after the last.
    async fn next(&mut self) -> Option<Message> {
        if self.done {
            return None;
        }
        let event = tokio::select! {
            biased;
            reason = super::closed(&mut self.closing) => {
                let message = reason.as_deref().unwrap_or("the gateway is shutting down");
                let error = GraphQLError::new(message).with_code(super::SHUTDOWN_CODE);
                return self.last(error);
            }
            event = self.events.recv() => event,
        };
        match event {
            Ok(UpstreamEvent::Data(event)) => {
                let event = SubgraphResponse::clone(&event);
                // Boxed while it runs: inline, the execution's state would size the session,
                // which every idle subscription holds.
                let response = Box::pin(self.gateway.execute_event(&self.plan, event)).await;
                Some(Message::Next(Box::new(response)))
            }
            Ok(UpstreamEvent::Failed(errors)) => {
                self.done = true;
                Some(Message::Fail(errors.to_vec()))
            }
            Ok(UpstreamEvent::Completed) | Err(broadcast::error::RecvError::Closed) => None,
            Err(broadcast::error::RecvError::Lagged(skipped)) => self.last(
                GraphQLError::new(format!(
                    "the subscription fell behind its events and {skipped} were dropped \
                     (subscriptions.buffer): subscribe again"
                ))
                .with_code(super::LAGGED_CODE),
            ),
        }
    }

    fn last(&mut self, error: GraphQLError) -> Option<Message> {
        self.done = true;
        Some(Message::Fail(vec![error]))
    }
}
