//! Progressive override: which `@override(label:)` labels are active for one request, so that
//! the planner knows, for each labelled field, whether the overriding subgraph or the one it
//! overrides resolves it (docs/planner.md, "Progressive override").
//!
//! As Apollo Router resolves them: a `percent(N)` label is active for a request by a random
//! draw with probability N %, made once per request; any other label is active when the config
//! says so (`override_labels.active`), or, when `override_labels.header` names a header, when
//! the request lists it there. Only the labels of fields the operation selects are resolved
//! (its *relevant* labels, computed once per cached document), and the plan cache is keyed by
//! which of those are active: unrelated operations keep one plan each.
//!
//! Cost when the supergraph has no labels (most): one `is_empty` branch per request.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;

use apollo_compiler::Name;
use apollo_compiler::executable::{ExecutableDocument, Operation, Selection, SelectionSet};
use serde::Deserialize;

use crate::supergraph::{OverrideLabels, Supergraph};

/// The `override_labels:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverrideLabelsConfig {
    /// Custom (non-`percent`) labels active for every request.
    pub active: Vec<String>,
    /// A request header whose comma-separated labels are active for that request. Off by
    /// default: whoever can send the header chooses which subgraph serves the labelled fields
    /// (a migration not yet meant for them), so set it only where clients are trusted or the
    /// edge strips the header from untrusted ones.
    pub header: Option<String>,
}

/// The rules of [`OverrideLabelsConfig`], ready for the request path.
#[derive(Debug, Clone, Default)]
pub struct OverrideLabelRules {
    active: HashSet<Arc<str>>,
    header: Option<http::HeaderName>,
}

impl OverrideLabelRules {
    /// Fails on a header name that is not one.
    pub fn new(config: &OverrideLabelsConfig) -> Result<Self, String> {
        let header = match &config.header {
            None => None,
            Some(name) => Some(
                http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(
                    |_| format!("override_labels.header: `{name}` is not a header name"),
                )?,
            ),
        };
        Ok(Self {
            active: config
                .active
                .iter()
                .map(|l| Arc::from(l.as_str()))
                .collect(),
            header,
        })
    }

    /// The labels a request asks for in the configured header (none when the rule is off).
    pub fn requested(&self, headers: &http::HeaderMap) -> Vec<Arc<str>> {
        let Some(name) = &self.header else {
            return Vec::new();
        };
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|label| !label.is_empty())
            .map(Arc::from)
            .collect()
    }

    /// Which of an operation's `relevant` labels are active for one request, as bits (bit i:
    /// `relevant[i]`), for the plan cache key. `requested`: the labels the request's header
    /// asked for. Draws once per `percent(N)` label.
    pub fn resolve(&self, relevant: &[Arc<str>], requested: &[Arc<str>]) -> Vec<u64> {
        let mut bits = vec![0u64; relevant.len().div_ceil(64)];
        for (i, label) in relevant.iter().enumerate() {
            let active = match percent(label) {
                Some(percent) => draw(percent),
                None => self.active.contains(label) || requested.iter().any(|r| **r == **label),
            };
            if active {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    }
}

/// The active labels the `bits` of [`OverrideLabelRules::resolve`] stand for.
pub fn labels_from_bits(relevant: &[Arc<str>], bits: &[u64]) -> OverrideLabels {
    OverrideLabels::new(
        relevant
            .iter()
            .enumerate()
            .filter(|(i, _)| bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0))
            .map(|(_, label)| label.clone()),
    )
}

/// `N` of a `percent(N)` label (composition checked 0 <= N <= 100).
fn percent(label: &str) -> Option<f64> {
    label
        .strip_prefix("percent(")?
        .strip_suffix(')')?
        .parse()
        .ok()
}

thread_local! {
    /// A SplitMix64 state per thread, seeded from the process's random hash keys: cheap,
    /// uniform enough for a traffic split (not for anything secret).
    static RNG: Cell<u64> = Cell::new({
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(crate::cache::tags::now_ms());
        hasher.finish()
    });
}

fn next_u64() -> u64 {
    RNG.with(|state| {
        let seed = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(seed);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// True with probability `percent` %: `percent(0)` never, `percent(100)` always.
fn draw(percent: f64) -> bool {
    // 53 random bits: a uniform value in [0, 1).
    let unit = (next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    unit * 100.0 < percent
}

/// The override labels of the fields `operation` selects (fragments followed), sorted: what
/// its plan depends on. Empty when the supergraph has no labels.
pub fn relevant_labels(
    supergraph: &Supergraph,
    document: &ExecutableDocument,
    operation: &Operation,
) -> Vec<Arc<str>> {
    if supergraph.override_labels().is_empty() {
        return Vec::new();
    }
    let mut labels = Vec::new();
    let mut fragments_seen: HashSet<&Name> = HashSet::new();
    collect(
        supergraph,
        document,
        &operation.selection_set,
        &mut fragments_seen,
        &mut labels,
    );
    labels.sort();
    labels.dedup();
    labels
}

fn collect<'d>(
    supergraph: &Supergraph,
    document: &'d ExecutableDocument,
    selection_set: &'d SelectionSet,
    fragments_seen: &mut HashSet<&'d Name>,
    labels: &mut Vec<Arc<str>>,
) {
    for selection in &selection_set.selections {
        match selection {
            Selection::Field(field) => {
                let label = supergraph
                    .field_def(&selection_set.ty, &field.name)
                    .and_then(|def| def.override_label.as_ref());
                if let Some(label) = label {
                    labels.push(label.clone());
                }
                // A field of an interface may be overridden in its implementations.
                for object in supergraph.possible_types(&selection_set.ty) {
                    if let Some(label) = supergraph
                        .field_def(object, &field.name)
                        .and_then(|def| def.override_label.as_ref())
                    {
                        labels.push(label.clone());
                    }
                }
                collect(
                    supergraph,
                    document,
                    &field.selection_set,
                    fragments_seen,
                    labels,
                );
            }
            Selection::InlineFragment(inline) => collect(
                supergraph,
                document,
                &inline.selection_set,
                fragments_seen,
                labels,
            ),
            Selection::FragmentSpread(spread) => {
                if fragments_seen.insert(&spread.fragment_name)
                    && let Some(fragment) = document.fragments.get(&spread.fragment_name)
                {
                    collect(
                        supergraph,
                        document,
                        &fragment.selection_set,
                        fragments_seen,
                        labels,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<Arc<str>> {
        names.iter().map(|n| Arc::from(*n)).collect()
    }

    #[test]
    fn percent_labels_are_drawn_and_custom_labels_come_from_config_or_header() {
        let rules = OverrideLabelRules::new(&OverrideLabelsConfig {
            active: vec!["on".into()],
            header: Some("X-Override-Labels".into()),
        })
        .unwrap();
        let relevant = labels(&["custom", "off", "on", "percent(0)", "percent(100)"]);
        let mut headers = http::HeaderMap::new();
        headers.insert("x-override-labels", "custom, other".parse().unwrap());
        let requested = rules.requested(&headers);
        for _ in 0..100 {
            let bits = rules.resolve(&relevant, &requested);
            let active = labels_from_bits(&relevant, &bits);
            let names: Vec<&str> = active.iter().map(|l| &**l).collect();
            assert_eq!(names, ["custom", "on", "percent(100)"]);
        }
        assert!(rules.resolve(&relevant, &[]) == vec![0b10100]);
    }

    #[test]
    fn percent_50_is_drawn_per_request() {
        let rules = OverrideLabelRules::default();
        let relevant = labels(&["percent(50)"]);
        let on = (0..10_000)
            .filter(|_| rules.resolve(&relevant, &[])[0] == 1)
            .count();
        assert!((4_500..5_500).contains(&on), "{on} of 10000");
        let relevant = labels(&["percent(0.5)"]);
        let on = (0..100_000)
            .filter(|_| rules.resolve(&relevant, &[])[0] == 1)
            .count();
        assert!((300..700).contains(&on), "{on} of 100000");
    }

    #[test]
    fn the_header_rule_is_off_by_default_and_a_bad_name_is_refused() {
        let rules = OverrideLabelRules::new(&OverrideLabelsConfig::default()).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("x-override-labels", "custom".parse().unwrap());
        assert!(rules.requested(&headers).is_empty());
        let bad = OverrideLabelsConfig {
            header: Some("bad header".into()),
            ..Default::default()
        };
        assert!(OverrideLabelRules::new(&bad).is_err());
    }
}
