//! One client subscription: joins (or opens) its upstream, and runs the rest of its plan for
//! each event, one event at a time, handing the responses to the client's transport. Ends
//! when the client leaves (the receiver is dropped), when the upstream ends, or on shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{broadcast, mpsc};

use super::Subscriptions;
use super::hub::UpstreamEvent;
use super::upstream::UpstreamRequest;
use crate::executor::SubgraphResponse;
use crate::gateway::{Gateway, SubscriptionPlan};
use crate::response::{GraphQLError, Response};

/// What a client transport sends, in order.
#[derive(Debug)]
pub(crate) enum Message {
    /// A result (for an event, or the only one of a query).
    Next(Response),
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

/// Responses the transport has not taken yet; past this the session waits for it.
const QUEUE: usize = 16;

/// Starts `plan`: its messages arrive on the receiver, which ends after the last one (then
/// the transport sends `complete`). Dropping the receiver ends the subscription.
pub(crate) fn start(
    gateway: Arc<Gateway>,
    plan: SubscriptionPlan,
    ticket: Ticket,
) -> mpsc::Receiver<Message> {
    let (sender, receiver) = mpsc::channel(QUEUE);
    let subscriptions: &Subscriptions = gateway.subscriptions();
    let fetch = plan.root_fetch().clone();
    let Some(endpoint) = subscriptions.endpoints.get(&*fetch.subgraph_name).cloned() else {
        let error = GraphQLError::new(format!("unknown subgraph \"{}\"", fetch.subgraph_name))
            .with_code(super::UPSTREAM_CODE);
        let _ = sender.try_send(Message::Fail(vec![error]));
        return receiver;
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
    let closing = subscriptions.closing();
    tokio::spawn(async move {
        let _ticket = ticket;
        // Held until the session ends: the last one out closes the upstream.
        let _shared = shared;
        run(&gateway, &plan, events, closing, &sender).await;
    });
    receiver
}

async fn run(
    gateway: &Gateway,
    plan: &SubscriptionPlan,
    mut events: broadcast::Receiver<UpstreamEvent>,
    mut closing: tokio::sync::watch::Receiver<Option<Arc<str>>>,
    sender: &mpsc::Sender<Message>,
) {
    loop {
        let event = tokio::select! {
            biased;
            () = sender.closed() => return,
            reason = super::closed(&mut closing) => {
                let message = reason.as_deref().unwrap_or("the gateway is shutting down");
                let error = GraphQLError::new(message).with_code(super::SHUTDOWN_CODE);
                let _ = sender.send(Message::Fail(vec![error])).await;
                return;
            }
            event = events.recv() => event,
        };
        let message = match event {
            Ok(UpstreamEvent::Data(event)) => {
                let event = SubgraphResponse::clone(&event);
                let response = tokio::select! {
                    biased;
                    () = sender.closed() => return,
                    response = gateway.execute_event(plan, event) => response,
                };
                Message::Next(response)
            }
            Ok(UpstreamEvent::Failed(errors)) => {
                let _ = sender.send(Message::Fail(errors.to_vec())).await;
                return;
            }
            Ok(UpstreamEvent::Completed) | Err(broadcast::error::RecvError::Closed) => return,
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                let error = GraphQLError::new(format!(
                    "the subscription fell behind its events and {skipped} were dropped \
                     (subscriptions.buffer): subscribe again"
                ))
                .with_code(super::LAGGED_CODE);
                let _ = sender.send(Message::Fail(vec![error])).await;
                return;
            }
        };
        if sender.send(message).await.is_err() {
            return;
        }
    }
}
