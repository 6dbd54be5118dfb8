//! Authorization, the `authorization:` section: the supergraph's `@authenticated`,
//! `@requiresScopes` and `@policy` ([`crate::supergraph::access`]) enforced on the normalised
//! operation before planning. What the request may not see is never fetched: it is taken out
//! of the operation the planner gets, and answered as `null` with an
//! `UNAUTHORIZED_FIELD_OR_TYPE` error at its path ([`filter`]); or, with
//! `reject_unauthorized`, the whole request is refused.
//!
//! What a request has ([`Grants`]) comes from its verified identity: authenticated or not, the
//! scopes of its token's `scope` claim, and the policies whose rules (in config, on claims) it
//! meets. Plans are cached per [`Grants::key`], so two requests with the same grants share one.

mod filter;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use serde::Deserialize;
use serde_json::Value;

pub use filter::{Filtered, filter};

use crate::identity::Identity;
use crate::supergraph::access::{AccessRules, Requirements};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorizationConfig {
    /// Enforce the directives (they are enforced whenever the supergraph has any).
    pub enabled: bool,
    /// Refuse the whole request (403) when it selects anything unauthorized, instead of
    /// answering those parts with `null` and an error.
    pub reject_unauthorized: bool,
    /// `@policy` names and when a request meets them.
    pub policies: BTreeMap<String, PolicyRule>,
}

impl Default for AuthorizationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            reject_unauthorized: false,
            policies: BTreeMap::new(),
        }
    }
}

/// A policy is met by a verified identity whose claims match every entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Claim (dots for nested claims) → accepted values: the claim must equal one of them, or,
    /// for a list claim, contain one of them. An empty map: any verified identity.
    #[serde(default)]
    pub claims: BTreeMap<String, OneOrMany>,
}

/// A value or a list of values in config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn contains(&self, value: &str) -> bool {
        match self {
            OneOrMany::One(one) => one == value,
            OneOrMany::Many(many) => many.iter().any(|v| v == value),
        }
    }
}

impl PolicyRule {
    fn met_by(&self, identity: &Identity) -> bool {
        self.claims
            .iter()
            .all(|(claim, accepted)| match identity.claim(claim) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(claim_text)
                    .any(|v| accepted.contains(&v)),
                Some(value) => claim_text(value).is_some_and(|v| accepted.contains(&v)),
                None => false,
            })
    }
}

fn claim_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a request may see: only the scopes and policies the supergraph names are kept, so
/// that requests differing in others share plans.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Grants {
    pub authenticated: bool,
    pub scopes: BTreeSet<String>,
    pub policies: BTreeSet<String>,
}

impl Grants {
    /// Whether these grants meet `requirements`: authenticated if required, and for each
    /// `@requiresScopes` (and `@policy`) applied, every scope of at least one alternative.
    pub fn meet(&self, requirements: &Requirements) -> bool {
        let any_alternative = |applied: &Vec<Vec<String>>, granted: &BTreeSet<String>| {
            applied.is_empty()
                || applied
                    .iter()
                    .any(|all| all.iter().all(|s| granted.contains(s)))
        };
        (!requirements.authenticated || self.authenticated)
            && requirements
                .scopes
                .iter()
                .all(|applied| any_alternative(applied, &self.scopes))
            && requirements
                .policies
                .iter()
                .all(|applied| any_alternative(applied, &self.policies))
    }

    /// A hash of the grants, for the plan cache's key.
    pub fn key(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

/// The compiled section, for one supergraph.
#[derive(Debug, Clone, Default)]
pub struct Authorization {
    enabled: bool,
    reject_unauthorized: bool,
    policies: BTreeMap<String, PolicyRule>,
}

impl Authorization {
    /// Warns about policies the supergraph names and the config does not define: nobody
    /// meets them.
    pub fn new(config: &AuthorizationConfig, rules: &AccessRules) -> Self {
        if config.enabled {
            let undefined: Vec<&String> = rules
                .policies()
                .iter()
                .filter(|p| !config.policies.contains_key(*p))
                .collect();
            if !undefined.is_empty() {
                tracing::warn!(
                    ?undefined,
                    "the supergraph names policies that authorization.policies does not define: \
                     no request meets them"
                );
            }
        }
        Self {
            enabled: config.enabled && !rules.is_empty(),
            reject_unauthorized: config.reject_unauthorized,
            policies: config.policies.clone(),
        }
    }

    /// Whether anything is enforced.
    pub fn is_active(&self) -> bool {
        self.enabled
    }

    pub fn reject_unauthorized(&self) -> bool {
        self.reject_unauthorized
    }

    /// What `identity` may see, as far as `rules` can tell.
    pub fn grants(&self, identity: Option<&Identity>, rules: &AccessRules) -> Grants {
        let Some(identity) = identity else {
            return Grants::default();
        };
        Grants {
            authenticated: true,
            scopes: identity
                .scopes()
                .filter(|scope| rules.scopes().contains(*scope))
                .map(str::to_string)
                .collect(),
            policies: rules
                .policies()
                .iter()
                .filter(|name| {
                    self.policies
                        .get(*name)
                        .is_some_and(|rule| rule.met_by(identity))
                })
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
