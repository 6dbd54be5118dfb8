//! The edge: what happens to a client connection and request before any GraphQL work.
//!
//! In the order a request meets them: [`accept`] (the accept loop, graceful shutdown) →
//! [`admission`] (at most `max_connections`; past it the longest idle connection is closed, or
//! the new one refused) → [`connection`] (HTTP/1.1 and HTTP/2 via hyper-util, header and
//! keep-alive timeouts kept by [`activity`]) → [`request_limits`] (request size, body read
//! timeout, request timeout) → the server's routes. Settings: [`ServerConfig`], the `server:`
//! section of the config.

mod accept;
mod activity;
mod admission;
mod config;
mod connection;
mod errors;
mod open_files;
mod request_limits;
mod shutdown;

pub use accept::serve;
pub use config::ServerConfig;
pub use open_files::{default_max_connections, soft_limit as open_files_soft_limit};
pub use shutdown::on_signal;
