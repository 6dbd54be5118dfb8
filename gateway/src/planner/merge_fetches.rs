//! One pass over the fetch graph: fetches to the same subgraph that sit at the same depth of
//! the plan (the same number of fetches before them) and that do not wait for each other
//! become one request. Entity fetches at different paths (the reviews of `users` and the
//! reviews of `topProducts`) become one `_entities` call over the representations of every
//! path, each distinct one sent once; the executor hands each object its own entity's answer
//! back. Root fetches of a query to one subgraph become one query.
//!
//! The merged request waits for everything either part waited for: a branch may start a
//! little later, in exchange for one request fewer to the subgraph. Mutation root fields
//! each wait for the previous one, so they are never merged and keep their order.
//!
//! Merging is refused where one request cannot stand for both: different `@requires` inputs
//! for one entity type (every representation must carry what the merged selection
//! requires), or a response key that the two selections use for different fields (each
//! object would get the other's value).

use std::collections::BTreeMap;

use apollo_compiler::Name;

use super::fetch_graph::{FetchGraph, Step};
use super::plan::{EntityInput, EntityPart, OperationKind};
use crate::operation::selection::{Field, Selection, SelectionSet};

/// Merges the steps of `graph` that can share one request.
pub(super) fn merge_fetches(graph: &mut FetchGraph) {
    let depth = depths(&graph.steps);
    let mut alive = vec![true; graph.steps.len()];
    for a in 0..graph.steps.len() {
        for b in a + 1..graph.steps.len() {
            if !alive[a] || !alive[b] || depth[a] != depth[b] || !mergeable(graph, a, b) {
                continue;
            }
            merge_into(graph, a, b);
            alive[b] = false;
        }
    }
    graph.compact(&alive);
}

/// How many fetches must run before each step (the longest chain of dependencies).
fn depths(steps: &[Step]) -> Vec<usize> {
    let mut depth: Vec<Option<usize>> = vec![None; steps.len()];
    fn of(steps: &[Step], depth: &mut [Option<usize>], i: usize) -> usize {
        if let Some(d) = depth[i] {
            return d;
        }
        let d = steps[i]
            .deps
            .iter()
            .map(|&dep| of(steps, depth, dep) + 1)
            .max()
            .unwrap_or(0);
        depth[i] = Some(d);
        d
    }
    (0..steps.len()).map(|i| of(steps, &mut depth, i)).collect()
}

fn mergeable(graph: &FetchGraph, a: usize, b: usize) -> bool {
    let (sa, sb) = (&graph.steps[a], &graph.steps[b]);
    if sa.subgraph != sb.subgraph
        || sa.kind != OperationKind::Query
        || sb.kind != OperationKind::Query
        || sa.entity.is_some() != sb.entity.is_some()
        || keys_conflict(&sa.selection, &sb.selection)
    {
        return false;
    }
    let inputs_fit = match (&sa.entity, &sb.entity) {
        (Some(_), Some(_)) => {
            let parts_a: Vec<&EntityPart> = all_parts(sa).collect();
            all_parts(sb).all(|pb| {
                parts_a
                    .iter()
                    .all(|pa| pa.typename != pb.typename || pa.requires == pb.requires)
            })
        }
        // Root fields: each response key from one of them only, so that neither answer is
        // read as the other's.
        _ => sa.selection.fields().all(|fa| {
            sb.selection
                .fields()
                .all(|fb| fa.response_key() != fb.response_key())
        }),
    };
    inputs_fit && !graph.waits_for(a, b) && !graph.waits_for(b, a)
}

fn all_parts(step: &Step) -> impl Iterator<Item = &EntityPart> {
    step.entity
        .iter()
        .flatten()
        .chain(step.more.iter().flat_map(|input| input.parts.iter()))
}

fn merge_into(graph: &mut FetchGraph, a: usize, b: usize) {
    let step_b = graph.steps[b].clone();
    let step_a = &mut graph.steps[a];
    for item in step_b.selection.items {
        step_a.selection.merge_in(item);
    }
    if let Some(parts) = step_b.entity {
        step_a.more.push(EntityInput {
            path: step_b.merge_path,
            parts,
        });
        step_a.more.extend(step_b.more);
    }
    step_a
        .deps
        .extend(step_b.deps.iter().copied().filter(|d| *d != a));
    for step in &mut graph.steps {
        if step.deps.remove(&b) {
            step.deps.insert(a);
        }
    }
    graph.steps[a].deps.remove(&a);
}

/// Whether `a` and `b` use one response key for different fields (another name or other
/// arguments), at any depth. Fields under fragments count as fields of the object they are
/// in, whatever the type condition: both land in one object of the answer.
fn keys_conflict(a: &SelectionSet, b: &SelectionSet) -> bool {
    let fields_a = by_key(a);
    let fields_b = by_key(b);
    fields_a.iter().any(|(key, xs)| {
        fields_b.get(key).is_some_and(|ys| {
            xs.iter().any(|x| {
                ys.iter().any(|y| {
                    x.name != y.name
                        || x.arguments != y.arguments
                        || keys_conflict(&x.selection_set, &y.selection_set)
                })
            })
        })
    })
}

fn by_key(selection: &SelectionSet) -> BTreeMap<&Name, Vec<&Field>> {
    let mut out: BTreeMap<&Name, Vec<&Field>> = BTreeMap::new();
    let mut stack = vec![selection];
    while let Some(set) = stack.pop() {
        for item in &set.items {
            match item {
                Selection::Field(field) => out.entry(field.response_key()).or_default().push(field),
                Selection::InlineFragment(fragment) => stack.push(&fragment.selection_set),
            }
        }
    }
    out
}
