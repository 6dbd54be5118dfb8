//! The `gateway` subcommands, one module each. Each returns `Err(message)` for the user.

pub mod check;
pub mod compose;
pub mod demo;
pub mod output;
pub mod plan;
pub mod serve;
