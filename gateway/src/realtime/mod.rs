//! Realtime: GraphQL subscriptions through federation.
//!
//! A subscription leaves the request/response path after planning: its plan's root fetch is
//! opened as a stream on the subgraph that owns the field ([`upstream`], over WebSocket or
//! SSE per subgraph), identical ones share that stream ([`hub`]), and every event runs the
//! rest of the plan for each subscriber, in order ([`session`]). Clients subscribe over
//! WebSocket ([`ws_server`]: `graphql-transport-ws` and the legacy `graphql-ws`), GraphQL over
//! SSE ([`sse`]) or Apollo's multipart protocol ([`multipart`]). Limits, heartbeats and
//! shutdown are the [`Subscriptions`]' (the `subscriptions:` config section). Live queries
//! (`query @live`, [`live`]) use the same transports and limits; what re-runs them is the
//! invalidations the events part announces. See docs/realtime.md.

pub mod config;
pub mod defer;
mod hub;
mod live;
mod live_hub;
pub(crate) mod multipart;
mod session;
pub(crate) mod sse;
pub mod upstream;
pub(crate) mod ws_server;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

pub use config::{SubscriptionsConfig, UpstreamProtocol};
use hub::Hub;
use live_hub::LiveHub;
pub(crate) use session::{Message, Messages, Ticket};
use upstream::Endpoint;

use crate::response::GraphQLError;

/// Every open subscription of one gateway: limits, shared upstreams, and the signal that
/// ends them all (shutdown).
pub struct Subscriptions {
    config: SubscriptionsConfig,
    /// Where each subgraph's subscriptions are opened, by subgraph name.
    endpoints: HashMap<String, Endpoint>,
    hub: Hub,
    /// Live queries running now, each shared by its identical clients.
    live: LiveHub,
    /// Client subscriptions open now, over every transport.
    active: Arc<AtomicUsize>,
    /// WebSocket connections open now.
    websockets: Arc<AtomicUsize>,
    /// Set once, with the reason, when every subscription must end.
    closing: watch::Sender<Option<Arc<str>>>,
    client: reqwest::Client,
}

impl Subscriptions {
    /// `urls`: each subgraph's name and the URL its queries go to (the default for its
    /// subscriptions too).
    pub fn new(config: SubscriptionsConfig, urls: Vec<(String, String)>) -> Self {
        let endpoints = urls
            .into_iter()
            .map(|(name, url)| {
                let upstream = config.upstream(&name);
                let endpoint =
                    Endpoint::new(&name, upstream.url.as_deref().unwrap_or(&url), &upstream);
                (name, endpoint)
            })
            .collect();
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            hub: Hub::new(config.buffer),
            live: LiveHub::default(),
            config,
            endpoints,
            active: Arc::new(AtomicUsize::new(0)),
            websockets: Arc::new(AtomicUsize::new(0)),
            closing: watch::channel(None).0,
            client,
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    pub fn config(&self) -> &SubscriptionsConfig {
        &self.config
    }

    /// Ends every subscription with `reason` (a last error, then `complete`), and refuses new
    /// ones: the gateway is shutting down or being replaced.
    pub fn close(&self, reason: &str) {
        self.closing.send_replace(Some(Arc::from(reason)));
    }

    fn closing(&self) -> watch::Receiver<Option<Arc<str>>> {
        self.closing.subscribe()
    }

    /// A place for one more client subscription, or the error that refuses it.
    pub(crate) fn admit(&self) -> Result<Ticket, GraphQLError> {
        if let Some(reason) = self.closing.borrow().as_ref() {
            return Err(GraphQLError::new(reason.to_string()).with_code(SHUTDOWN_CODE));
        }
        let admitted = self
            .active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.config.max_total).then_some(open + 1)
            });
        match admitted {
            Ok(_) => Ok(Ticket::new(self.active.clone())),
            Err(_) => Err(GraphQLError::new(format!(
                "the gateway has {} subscriptions open, its maximum (subscriptions.max_total): \
                 try again later",
                self.config.max_total
            ))
            .with_code(LIMIT_CODE)),
        }
    }

    /// A place for one more WebSocket connection (`max_websockets`), held while it is open.
    pub(crate) fn admit_websocket(&self) -> Option<Ticket> {
        self.websockets
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.config.max_websockets).then_some(open + 1)
            })
            .ok()
            .map(|_| Ticket::new(self.websockets.clone()))
    }

    /// WebSocket connections open now.
    pub fn websockets(&self) -> usize {
        self.websockets.load(Ordering::Acquire)
    }

    /// Client subscriptions open now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Upstream subscriptions open now (each serves every identical client subscription).
    pub fn upstreams(&self) -> usize {
        self.hub.len()
    }

    /// Live queries running now (each shared by every identical client live query).
    pub fn live_queries(&self) -> usize {
        self.live.len()
    }

    /// Prometheus text for `/metrics`.
    pub fn metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(
            out,
            "# HELP gateway_subscriptions Subscriptions open now: client (every transport) and \
             upstream (to subgraphs; identical client subscriptions share one).\n\
             # TYPE gateway_subscriptions gauge\n\
             gateway_subscriptions{{side=\"client\"}} {}\n\
             gateway_subscriptions{{side=\"upstream\"}} {}\n\
             # HELP gateway_websockets WebSocket connections open now.\n\
             # TYPE gateway_websockets gauge\n\
             gateway_websockets {}\n\
             # HELP gateway_live_queries Live queries running now: identical client live queries \
             share one.\n\
             # TYPE gateway_live_queries gauge\n\
             gateway_live_queries {}\n\
             # HELP gateway_live_query_executions_total Executions of live queries, each counted \
             once however many clients it answered.\n\
             # TYPE gateway_live_query_executions_total counter\n\
             gateway_live_query_executions_total {}\n",
            self.active(),
            self.upstreams(),
            self.websockets(),
            self.live_queries(),
            self.live.executions()
        );
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Resolves with the reason once every subscription must end (`None`: the gateway is gone).
async fn closed(closing: &mut watch::Receiver<Option<Arc<str>>>) -> Option<Arc<str>> {
    match closing.wait_for(Option::is_some).await {
        Ok(reason) => reason.clone(),
        Err(_) => None,
    }
}

/// `extensions.code` of a subscription refused or ended by a limit.
pub const LIMIT_CODE: &str = "SUBSCRIPTION_LIMIT";
/// `extensions.code` of the last error of subscriptions ended by a shutdown.
pub const SHUTDOWN_CODE: &str = "SUBSCRIPTION_SHUTDOWN";
/// `extensions.code` of a subscription whose subgraph stream failed or closed.
pub const UPSTREAM_CODE: &str = "SUBSCRIPTION_UPSTREAM_CLOSED";
/// `extensions.code` of a subscription too slow to keep up with its events.
pub const LAGGED_CODE: &str = "SUBSCRIPTION_LAGGED";
/// `extensions.code` of a live query this gateway cannot serve (no cache, so no
/// invalidations to re-run it on; or subscriptions disabled).
pub const LIVE_UNAVAILABLE_CODE: &str = "LIVE_QUERY_UNAVAILABLE";

/// What a streaming transport does with a request.
pub(crate) enum Started {
    /// A subscription: its messages, until the stream ends.
    Stream(Messages),
    /// One response: a query or mutation, or a request refused before execution.
    Once(crate::gateway::Outcome, crate::response::Response),
}

/// Runs `request` for a streaming transport: opens a subscription (within
/// `subscriptions.max_total`), delivers an operation's deferred fragments as successive
/// messages (when `deferring` says so), or executes anything else once.
pub(crate) async fn start(
    gateway: &Arc<crate::gateway::Gateway>,
    request: crate::gateway::GraphQLRequest,
    context: Arc<crate::executor::RequestContext>,
    deferring: crate::gateway::Deferring,
) -> Started {
    use crate::gateway::{Outcome, Streamed};
    match gateway.execute_streamed(request, context, deferring).await {
        Streamed::Response(outcome, response) => Started::Once(outcome, response),
        Streamed::Incremental(payloads) => Started::Stream(session::from_channel(defer::messages(
            gateway.clone(),
            payloads,
        ))),
        Streamed::Subscription(plan) => match gateway.subscriptions().admit() {
            Ok(ticket) => Started::Stream(session::start(gateway.clone(), *plan, ticket)),
            Err(error) => Started::Once(
                Outcome::RequestError,
                crate::response::Response::request_errors(vec![error]),
            ),
        },
        Streamed::Live(plan) => {
            let refused = |error| {
                Started::Once(
                    Outcome::RequestError,
                    crate::response::Response::request_errors(vec![error]),
                )
            };
            let changes = match gateway.changes() {
                Some(changes) if gateway.subscriptions().enabled() => changes,
                _ => {
                    return refused(
                        GraphQLError::new(
                            "live queries need the entity cache (`cache.enabled`), whose \
                             invalidations re-run them, and `subscriptions.enabled`",
                        )
                        .with_code(LIVE_UNAVAILABLE_CODE),
                    );
                }
            };
            match gateway.subscriptions().admit() {
                Ok(ticket) => Started::Stream(session::from_channel(live::start(
                    gateway.clone(),
                    *plan,
                    changes,
                    ticket,
                ))),
                Err(error) => refused(error),
            }
        }
    }
}

/// Which streaming HTTP protocol a request's `Accept` asks for, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpStream {
    /// GraphQL over SSE (distinct connections).
    Sse,
    /// Apollo's multipart subscription protocol.
    Multipart,
}

impl HttpStream {
    /// `text/event-stream` asks for SSE; `multipart/mixed` with `subscriptionSpec` for
    /// multipart (a bare `multipart/mixed` is `@defer`'s, not a subscription's).
    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let mut found = None;
        for value in headers.get_all(http::header::ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            // Looked at on every POST: compared in place, nothing allocated.
            for media in value.split(',') {
                let media = media.trim();
                if starts_with_ignore_case(media, "text/event-stream") {
                    return Some(HttpStream::Sse);
                }
                if starts_with_ignore_case(media, "multipart/mixed")
                    && media
                        .as_bytes()
                        .windows("subscriptionspec".len())
                        .any(|w| w.eq_ignore_ascii_case(b"subscriptionspec"))
                {
                    found = Some(HttpStream::Multipart);
                }
            }
        }
        found
    }

    /// What this protocol does with `@defer`: SSE delivers it as successive `next` events;
    /// Apollo's multipart subscription protocol has no form for it (its clients send
    /// deferring operations as `@defer`'s multipart), so it gets the whole result at once.
    pub(crate) fn deferring(self) -> crate::gateway::Deferring {
        match self {
            HttpStream::Sse => crate::gateway::Deferring::Deliver,
            HttpStream::Multipart => crate::gateway::Deferring::Ignore,
        }
    }

    /// The response for what [`start`] gave, in this protocol.
    pub(crate) fn respond(
        self,
        started: Started,
        heartbeat: std::time::Duration,
    ) -> axum::response::Response {
        let messages = match started {
            Started::Stream(messages) => messages,
            Started::Once(_, response) => session::once(Message::Next(Box::new(response))),
        };
        match self {
            HttpStream::Sse => sse::respond(messages, heartbeat),
            HttpStream::Multipart => multipart::respond(messages, heartbeat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<HttpStream> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::ACCEPT, value.parse().unwrap());
        HttpStream::from_headers(&headers)
    }

    #[test]
    fn the_accept_header_picks_the_streaming_protocol() {
        assert_eq!(accept("text/event-stream"), Some(HttpStream::Sse));
        assert_eq!(
            accept("application/json, text/event-stream;q=0.9"),
            Some(HttpStream::Sse)
        );
        assert_eq!(
            accept(r#"multipart/mixed;subscriptionSpec="1.0", application/json"#),
            Some(HttpStream::Multipart)
        );
        // @defer's multipart, and plain JSON, are not subscription requests.
        assert_eq!(
            accept("multipart/mixed;deferSpec=20220824, application/json"),
            None
        );
        assert_eq!(accept("application/graphql-response+json"), None);
        assert_eq!(accept("Text/Event-Stream"), Some(HttpStream::Sse));
        assert_eq!(
            accept(r#"multipart/mixed; SubscriptionSpec=1.0"#),
            Some(HttpStream::Multipart)
        );
    }

    #[test]
    fn limits_are_checked_and_places_given_back() {
        let config = SubscriptionsConfig {
            max_total: 1,
            ..Default::default()
        };
        let subscriptions = Subscriptions::new(config, Vec::new());
        let ticket = subscriptions.admit().expect("a place");
        let refused = subscriptions.admit().expect_err("full");
        assert_eq!(
            refused.extensions.get("code").and_then(|c| c.as_str()),
            Some(LIMIT_CODE)
        );
        drop(ticket);
        assert_eq!(subscriptions.active(), 0);
        let _ticket = subscriptions.admit().expect("a place again");
        subscriptions.close("stopping");
        let closed = subscriptions.admit().expect_err("closing");
        assert_eq!(closed.message, "stopping");
        let zero = SubscriptionsConfig {
            buffer: 0,
            ..Default::default()
        };
        assert!(zero.check().unwrap_err().contains("subscriptions.buffer"));
    }
}
