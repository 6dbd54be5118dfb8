//! The header rules compiled at start: names parsed, expressions built, mistakes refused with
//! the rule's place in the config. Applied per request (to build what each subgraph gets) and
//! per subgraph answer (to pick what the client gets).

use http::{HeaderMap, HeaderName, HeaderValue};
use regex::Regex;

use super::config::{
    HeadersConfig, Insert, Remove, RequestPropagate, RequestRule, ResponsePropagate, RuleSet,
};
use crate::identity::Identity;
use crate::response::{Algorithm, PropagatedHeader};
use crate::supergraph::{SubgraphId, Supergraph};

/// A rule the config holds that cannot work, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {reason}")]
pub struct RuleError {
    /// `headers.all.request[2]`, `headers.subgraphs.products.response[0]`, ...
    pub at: String,
    pub reason: String,
}

/// Every header rule of the config, compiled.
#[derive(Debug, Default)]
pub struct HeaderRules {
    all: Vec<Rule>,
    /// Subgraphs with request rules of their own: `all`'s, then theirs.
    subgraphs: Vec<(SubgraphId, Vec<Rule>)>,
    /// Per subgraph (by id), the response headers to take: `all`'s and its own.
    responses: Vec<Vec<Pick>>,
}

#[derive(Debug, Clone)]
enum Match {
    Named(HeaderName),
    Matching(Regex),
}

impl Match {
    fn matches(&self, name: &HeaderName) -> bool {
        match self {
            Match::Named(named) => named == name,
            Match::Matching(regex) => !never_forwarded(name) && regex.is_match(name.as_str()),
        }
    }
}

#[derive(Debug, Clone)]
enum Rule {
    Propagate {
        from: Match,
        rename: Option<HeaderName>,
        default: Option<HeaderValue>,
    },
    Insert {
        name: HeaderName,
        value: Value,
    },
    Remove(Match),
}

#[derive(Debug, Clone)]
enum Value {
    Fixed(HeaderValue),
    Claim(String),
}

/// One response rule.
#[derive(Debug, Clone)]
struct Pick {
    from: Match,
    rename: Option<HeaderName>,
    default: Option<HeaderValue>,
    algorithm: Algorithm,
}

/// Headers that describe one hop or one body, never a request's meaning: the HTTP client sets
/// them for each subgraph request, and the server for each client response.
fn never_forwarded(name: &HeaderName) -> bool {
    use http::header::*;
    [
        CONNECTION,
        CONTENT_LENGTH,
        CONTENT_TYPE,
        CONTENT_ENCODING,
        ACCEPT,
        ACCEPT_ENCODING,
        HOST,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
        PROXY_AUTHORIZATION,
        PROXY_AUTHENTICATE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

impl HeaderRules {
    /// Compiles `config` for `supergraph`'s subgraphs.
    pub fn new(config: &HeadersConfig, supergraph: &Supergraph) -> Result<Self, RuleError> {
        for name in config.subgraphs.keys() {
            if supergraph.subgraph_by_name(name).is_none() {
                return Err(error(
                    &format!("headers.subgraphs.{name}"),
                    "the supergraph has no such subgraph",
                ));
            }
        }
        let mut all = propagate_shorthand(config)?;
        all.extend(request_rules(&config.all, "headers.all")?);
        let all_picks = response_rules(&config.all, "headers.all")?;
        let mut subgraphs = Vec::new();
        let mut responses = Vec::new();
        for subgraph in supergraph.subgraphs() {
            let mut picks = all_picks.clone();
            if let Some(own) = config.subgraphs.get(&*subgraph.name) {
                let at = format!("headers.subgraphs.{}", subgraph.name);
                let rules = request_rules(own, &at)?;
                if !rules.is_empty() {
                    subgraphs.push((subgraph.id, [all.clone(), rules].concat()));
                }
                picks.extend(response_rules(own, &at)?);
            }
            responses.push(picks);
        }
        Ok(Self {
            all,
            subgraphs,
            responses,
        })
    }

    /// Whether any subgraph answer's headers are taken for the client.
    pub fn picks_responses(&self, subgraph: SubgraphId) -> bool {
        self.responses
            .get(subgraph.0 as usize)
            .is_some_and(|picks| !picks.is_empty())
    }

    /// The headers for every subgraph, and for those with rules of their own, theirs.
    pub fn requests(
        &self,
        client: &HeaderMap,
        identity: Option<&Identity>,
    ) -> (HeaderMap, Vec<(SubgraphId, HeaderMap)>) {
        let all = apply(&self.all, client, identity);
        let own = self
            .subgraphs
            .iter()
            .map(|(id, rules)| (*id, apply(rules, client, identity)))
            .collect();
        (all, own)
    }

    /// The headers of `subgraph`'s answer the client gets.
    pub fn responses(&self, subgraph: SubgraphId, answer: &HeaderMap) -> Vec<PropagatedHeader> {
        let Some(picks) = self.responses.get(subgraph.0 as usize) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for pick in picks {
            let before = out.len();
            for (name, value) in answer {
                if pick.from.matches(name) {
                    out.push(PropagatedHeader {
                        name: pick.rename.clone().unwrap_or_else(|| name.clone()),
                        value: value.clone(),
                        algorithm: pick.algorithm,
                    });
                }
            }
            if let (true, Some(default), Match::Named(name)) =
                (out.len() == before, &pick.default, &pick.from)
            {
                out.push(PropagatedHeader {
                    name: pick.rename.clone().unwrap_or_else(|| name.clone()),
                    value: default.clone(),
                    algorithm: pick.algorithm,
                });
            }
        }
        out
    }
}

fn propagate_shorthand(config: &HeadersConfig) -> Result<Vec<Rule>, RuleError> {
    config
        .propagate
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Ok(Rule::Propagate {
                from: Match::Named(header_name(name, &format!("headers.propagate[{i}]"))?),
                rename: None,
                default: None,
            })
        })
        .collect()
}

fn apply(rules: &[Rule], client: &HeaderMap, identity: Option<&Identity>) -> HeaderMap {
    let mut out = HeaderMap::new();
    for rule in rules {
        match rule {
            Rule::Propagate {
                from: Match::Named(name),
                rename,
                default,
            } => {
                // A header propagated twice (by two rules) is sent once, as the client sent it.
                let to = rename.as_ref().unwrap_or(name);
                out.remove(to);
                let mut any = false;
                for value in client.get_all(name) {
                    out.append(to.clone(), value.clone());
                    any = true;
                }
                if let (false, Some(default)) = (any, default) {
                    out.insert(to.clone(), default.clone());
                }
            }
            Rule::Propagate { from, .. } => {
                for name in client.keys().filter(|name| from.matches(name)) {
                    out.remove(name);
                    for value in client.get_all(name) {
                        out.append(name.clone(), value.clone());
                    }
                }
            }
            Rule::Insert { name, value } => {
                let value = match value {
                    Value::Fixed(value) => Some(value.clone()),
                    Value::Claim(path) => identity
                        .and_then(|identity| identity.claim_text(path))
                        .and_then(|text| HeaderValue::from_str(&text).ok()),
                };
                match value {
                    Some(value) => {
                        out.insert(name.clone(), value);
                    }
                    // A claim that is not there: nothing the client sent stands in for it.
                    None => {
                        out.remove(name);
                    }
                }
            }
            Rule::Remove(Match::Named(name)) => {
                out.remove(name);
            }
            Rule::Remove(matching) => {
                let doomed: Vec<HeaderName> = out
                    .keys()
                    .filter(|name| matching.matches(name))
                    .cloned()
                    .collect();
                for name in doomed {
                    out.remove(name);
                }
            }
        }
    }
    out
}

fn request_rules(set: &RuleSet, at: &str) -> Result<Vec<Rule>, RuleError> {
    set.request
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let at = format!("{at}.request[{i}]");
            match rule {
                RequestRule {
                    propagate:
                        Some(RequestPropagate {
                            named,
                            matching,
                            rename,
                            default,
                        }),
                    insert: None,
                    remove: None,
                } => {
                    let (from, rename, default) = source(named, matching, rename, default, &at)?;
                    Ok(Rule::Propagate {
                        from,
                        rename,
                        default,
                    })
                }
                RequestRule {
                    propagate: None,
                    insert: Some(Insert { name, value, claim }),
                    remove: None,
                } => Ok(Rule::Insert {
                    name: header_name(name, &at)?,
                    value: match (value, claim) {
                        (Some(value), None) => Value::Fixed(header_value(value, &at)?),
                        (None, Some(claim)) => Value::Claim(claim.clone()),
                        _ => return Err(error(&at, "give exactly one of `value` and `claim`")),
                    },
                }),
                RequestRule {
                    propagate: None,
                    insert: None,
                    remove: Some(Remove { named, matching }),
                } => Ok(Rule::Remove(matcher(named, matching, false, &at)?)),
                _ => Err(error(
                    &at,
                    "give exactly one of `propagate`, `insert` and `remove`",
                )),
            }
        })
        .collect()
}

fn response_rules(set: &RuleSet, at: &str) -> Result<Vec<Pick>, RuleError> {
    set.response
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let at = format!("{at}.response[{i}]");
            let ResponsePropagate {
                named,
                matching,
                rename,
                default,
                algorithm,
            } = &rule.propagate;
            let (from, rename, default) = source(named, matching, rename, default, &at)?;
            Ok(Pick {
                from,
                rename,
                default,
                algorithm: *algorithm,
            })
        })
        .collect()
}

/// What a `propagate` rule copies, under which name, and its value when absent.
fn source(
    named: &Option<String>,
    matching: &Option<String>,
    rename: &Option<String>,
    default: &Option<String>,
    at: &str,
) -> Result<(Match, Option<HeaderName>, Option<HeaderValue>), RuleError> {
    Ok((
        matcher(named, matching, rename.is_some() || default.is_some(), at)?,
        rename
            .as_deref()
            .map(|name| header_name(name, at))
            .transpose()?,
        default
            .as_deref()
            .map(|value| header_value(value, at))
            .transpose()?,
    ))
}

/// `named` or `matching`, exactly one; `renames`: the rule renames or defaults, which only a
/// named header can.
fn matcher(
    named: &Option<String>,
    matching: &Option<String>,
    renames: bool,
    at: &str,
) -> Result<Match, RuleError> {
    match (named, matching) {
        (Some(name), None) => Ok(Match::Named(header_name(name, at)?)),
        (None, Some(_)) if renames => Err(error(
            at,
            "`rename` and `default` go with `named`, not `matching`",
        )),
        (None, Some(pattern)) => Regex::new(&format!("^(?:{})$", pattern.to_ascii_lowercase()))
            .map(Match::Matching)
            .map_err(|e| error(at, &format!("`matching` is not a regular expression: {e}"))),
        _ => Err(error(at, "give exactly one of `named` and `matching`")),
    }
}

fn header_name(name: &str, at: &str) -> Result<HeaderName, RuleError> {
    let parsed = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
        .map_err(|_| error(at, &format!("{name:?} is not a header name")))?;
    if never_forwarded(&parsed) {
        return Err(error(
            at,
            &format!("{name:?} describes one connection or body and is set by the gateway itself"),
        ));
    }
    Ok(parsed)
}

fn header_value(value: &str, at: &str) -> Result<HeaderValue, RuleError> {
    HeaderValue::from_str(value).map_err(|_| error(at, &format!("{value:?} is not a header value")))
}

fn error(at: &str, reason: &str) -> RuleError {
    RuleError {
        at: at.to_string(),
        reason: reason.to_string(),
    }
}
