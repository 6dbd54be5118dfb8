//! Header rules: what each subgraph request carries of the client's headers (propagated,
//! renamed, defaulted, inserted from a value or a verified JWT claim, removed), and which
//! headers of subgraph answers the client response carries. For every subgraph and per
//! subgraph, as Apollo Router's and Hive Router's `headers:` sections do.

mod config;
mod rules;

pub use config::{
    HeadersConfig, Insert, Remove, RequestPropagate, RequestRule, ResponsePropagate, ResponseRule,
    RuleSet,
};
pub use rules::{HeaderRules, RuleError};
