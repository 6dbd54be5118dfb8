//! A GraphQL federation gateway with an event-invalidated entity cache.
//!
//! A request flows through the modules in this order: [`edge`] (connections, request size
//! and time limits, graceful shutdown) → [`server`] (GraphQL over HTTP) →
//! [`gateway`] (the facade with the document and plan caches) → [`operation`] (parse,
//! validate, normalise) → [`limits`] (how large the operation may be) → [`authorization`]
//! (what the request may see) → [`planner`] (a [`planner::QueryPlan`]) → [`executor`] (runs the plan
//! against a [`executor::Fetcher`]) → [`fetch`] (HTTP to the subgraphs). [`supergraph`] is the
//! data model every stage reads; [`json`] is the value subgraph data is held in, from the fetcher
//! through the cache to the executor.

pub mod authorization;
pub mod cache;
pub mod check;
pub mod compose;
pub mod config;
pub mod edge;
pub mod events;
pub mod executor;
pub mod fetch;
pub mod gateway;
pub mod headers;
pub mod identity;
pub mod inflight;
pub mod json;
pub mod limits;
pub mod operation;
pub mod planner;
pub mod progressive_override;
pub mod realtime;
pub mod reload;
pub mod response;
pub mod server;
pub mod startup;
pub mod supergraph;
pub mod telemetry;
