//! The `headers:` section: which headers go to subgraphs, and which subgraph response headers
//! come back to the client. Rules for every subgraph (`all`) and per subgraph, applied in
//! order, the subgraph's after `all`'s (docs/config.md, "Header rules").

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::response::Algorithm;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeadersConfig {
    /// Shorthand: client headers forwarded to every subgraph as they are (the same as a
    /// `propagate: { named: ... }` rule first in `all.request`).
    pub propagate: Vec<String>,
    /// Rules for every subgraph.
    pub all: RuleSet,
    /// Rules for one subgraph, applied after `all`'s (by the subgraph's name in the
    /// supergraph).
    pub subgraphs: BTreeMap<String, RuleSet>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleSet {
    /// What a subgraph request carries, built rule by rule.
    pub request: Vec<RequestRule>,
    /// Which headers of a subgraph's answer the client response carries.
    pub response: Vec<ResponseRule>,
}

/// One rule: exactly one of its keys (`- propagate: {...}`, `- insert: {...}`,
/// `- remove: {...}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestRule {
    /// Copies client request headers.
    pub propagate: Option<RequestPropagate>,
    /// Sets a header: a fixed value or a verified JWT claim.
    pub insert: Option<Insert>,
    /// Removes headers an earlier rule added.
    pub remove: Option<Remove>,
}

/// One rule: `- propagate: {...}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseRule {
    pub propagate: ResponsePropagate,
}

/// Exactly one of `named` and `matching`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestPropagate {
    /// One header, by name (any case).
    pub named: Option<String>,
    /// Every header whose name matches this regular expression (lower-case names, the whole
    /// name), hop-by-hop and body headers excepted.
    pub matching: Option<String>,
    /// Sent under this name instead (with `named` only).
    pub rename: Option<String>,
    /// Sent with this value when the client sent none (with `named` only).
    pub default: Option<String>,
}

/// Exactly one of `value` and `claim`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Insert {
    pub name: String,
    /// A fixed value.
    pub value: Option<String>,
    /// A claim of the request's verified JWT (dots for nested claims); nothing is sent when
    /// the request has no token or the claim is missing or not a string, number or boolean.
    pub claim: Option<String>,
}

/// Exactly one of `named` and `matching`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Remove {
    pub named: Option<String>,
    pub matching: Option<String>,
}

/// Exactly one of `named` and `matching`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponsePropagate {
    pub named: Option<String>,
    pub matching: Option<String>,
    /// Sent to the client under this name instead (with `named` only).
    pub rename: Option<String>,
    /// Sent with this value when no subgraph answer had it (with `named` only).
    pub default: Option<String>,
    /// When several subgraph answers of one request have the header.
    pub algorithm: Algorithm,
}
