//! A `Fetcher` for executing fuzzed plans without subgraphs: each answer is made up from the
//! subgraph operation's own text (parsed without a schema), so it has the requested keys but
//! arbitrary values (types and list-ness not respected), and some answers are failures:
//! errors, `null` data, wrong `_entities` counts, garbage, unreachable subgraphs.
//!
//! Answers depend only on the request and a per-input seed, so an execution replays.

use std::sync::atomic::{AtomicU64, Ordering};

use apollo_compiler::ast::{Definition, Document, Selection};
use gateway::executor::{FetchError, FetchFuture, FetchRequest, Fetcher, SubgraphResponse};
use gateway::response::{GraphQLError, PathElement};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::values::garbage_json;

#[derive(Default)]
pub struct ChaosFetcher {
    seed: AtomicU64,
}

impl ChaosFetcher {
    /// Answers from now on follow `seed` (set per fuzz input).
    pub fn reseed(&self, seed: u64) {
        self.seed.store(seed, Ordering::Relaxed);
    }

    fn answer(&self, request: &FetchRequest) -> Result<SubgraphResponse, FetchError> {
        let seed = self.seed.load(Ordering::Relaxed)
            ^ xxhash_rust::xxh3::xxh3_64(request.operation.as_bytes());
        let rng = &mut ChaCha8Rng::seed_from_u64(seed);
        let data = || synthesize(rng_clone(seed), request);
        Ok(match rng.random_range(0..20) {
            0 => return Err(FetchError::Unreachable("chaos".into())),
            1 => return Err(FetchError::HttpStatus { status: 503 }),
            2 => SubgraphResponse {
                data: None,
                errors: vec![GraphQLError::new("chaos: no data")],
                ..Default::default()
            },
            3 => SubgraphResponse {
                data: Some(Value::Null.into()),
                ..Default::default()
            },
            4 => SubgraphResponse {
                data: Some(garbage_json(rng, 3).into()),
                ..Default::default()
            },
            5..=6 => SubgraphResponse {
                data: Some(data().into()),
                errors: vec![GraphQLError::new("chaos: partial").with_path(vec![
                    PathElement::Key("_entities".into()),
                    PathElement::Index(rng.random_range(0..3)),
                    PathElement::Key("x".into()),
                ])],
                ..Default::default()
            },
            _ => SubgraphResponse {
                data: Some(data().into()),
                ..Default::default()
            },
        })
    }
}

fn rng_clone(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    rng
}

impl Fetcher for ChaosFetcher {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        let answer = self.answer(&request);
        Box::pin(async move { answer })
    }
}

/// `data` with every key the operation selects: one object per representation under
/// `_entities` for an entity fetch (sometimes one too few or too many).
fn synthesize(mut rng: ChaCha8Rng, request: &FetchRequest) -> Value {
    let rng = &mut rng;
    let Ok(document) = Document::parse(request.operation.to_string(), "subgraph.graphql") else {
        return Value::Null;
    };
    let Some(selections) = document.definitions.iter().find_map(|d| match d {
        Definition::OperationDefinition(operation) => Some(&operation.selection_set),
        _ => None,
    }) else {
        return Value::Null;
    };
    let Some(entities) = &request.entities else {
        return object(rng, selections, None, 0);
    };
    let entity_selections: Vec<Selection> = selections
        .iter()
        .filter_map(|s| match s {
            Selection::Field(field) if field.name == "_entities" => {
                Some(field.selection_set.clone())
            }
            _ => None,
        })
        .flatten()
        .collect();
    let mut count = entities.representations.len();
    match rng.random_range(0..10) {
        0 => count = count.saturating_sub(1),
        1 => count += 1,
        _ => {}
    }
    let items: Vec<Value> = (0..count)
        .map(|i| {
            let typename = entities
                .representations
                .get(i)
                .map(serde_json::Value::from)
                .and_then(|r| r["__typename"].as_str().map(str::to_string));
            if rng.random_range(0..10) == 0 {
                Value::Null
            } else {
                object(rng, &entity_selections, typename.as_deref(), 1)
            }
        })
        .collect();
    json!({ "_entities": items })
}

/// An object with the selected keys. `typename` picks the fragments that apply (all when
/// unknown, as `__typename` is then made up too).
fn object(
    rng: &mut ChaCha8Rng,
    selections: &[Selection],
    typename: Option<&str>,
    depth: usize,
) -> Value {
    let mut out = Map::new();
    let typename = typename.map(str::to_string).or_else(|| {
        selections.iter().find_map(|s| match s {
            Selection::InlineFragment(f) => f.type_condition.as_ref().map(|t| t.to_string()),
            _ => None,
        })
    });
    fill(rng, selections, typename.as_deref(), depth, &mut out);
    Value::Object(out)
}

fn fill(
    rng: &mut ChaCha8Rng,
    selections: &[Selection],
    typename: Option<&str>,
    depth: usize,
    out: &mut Map<String, Value>,
) {
    for selection in selections {
        match selection {
            Selection::Field(field) => {
                let key = field.alias.as_ref().unwrap_or(&field.name).to_string();
                let value = if field.name == "__typename" {
                    json!(typename.unwrap_or("Unknown"))
                } else if field.selection_set.is_empty() {
                    leaf(rng)
                } else if depth > 12 {
                    Value::Null
                } else {
                    match rng.random_range(0..10) {
                        0 => Value::Null,
                        1..=3 => (0..rng.random_range(0..3))
                            .map(|_| object(rng, &field.selection_set, None, depth + 1))
                            .collect(),
                        _ => object(rng, &field.selection_set, None, depth + 1),
                    }
                };
                out.insert(key, value);
            }
            Selection::InlineFragment(fragment) => {
                let applies = match (&fragment.type_condition, typename) {
                    (Some(condition), Some(typename)) => condition == typename,
                    _ => true,
                };
                if applies {
                    fill(rng, &fragment.selection_set, typename, depth, out);
                }
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn leaf(rng: &mut ChaCha8Rng) -> Value {
    match rng.random_range(0..8) {
        0 => Value::Null,
        1 => json!(rng.random_range(-5..100)),
        2 => json!(rng.random_bool(0.5)),
        3 => json!(1.5),
        4 => garbage_json(rng, 1),
        _ => json!(format!("s{}", rng.random_range(0..5))),
    }
}
