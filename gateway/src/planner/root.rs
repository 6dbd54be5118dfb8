//! Plans the root fields: which subgraph serves each, grouped into as few fetches as possible.
//! A root field shared by several subgraphs may be fetched from more than one of them when no
//! single one resolves its whole selection (there is no key to jump by at the root).

use std::collections::HashMap;

use apollo_compiler::Name;
use indexmap::IndexMap;

use super::PlanError;
use super::walk::{FETCH_COST, Planned, Walker, count_leaves};
use crate::operation::selection::{Field, Selection, SelectionSet};
use crate::supergraph::{OverrideLabels, SubgraphId, Supergraph};

pub(super) struct RootFetch {
    pub subgraph: SubgraphId,
    pub planned: Planned,
}

/// Root fields the gateway answers itself.
pub(super) fn is_meta_field(field: &Field) -> bool {
    matches!(field.name.as_str(), "__typename" | "__schema" | "__type")
}

/// Plans query root fields: independent, so they are grouped per subgraph and run in parallel.
pub(super) fn plan_query_root(
    walker: &Walker,
    root_type: &Name,
    selection: &SelectionSet,
) -> Result<Vec<RootFetch>, PlanError> {
    let mut pending: Vec<(Field, Vec<SubgraphId>)> = selection
        .fields()
        .filter(|f| !is_meta_field(f))
        .map(|f| (f.clone(), Vec::new()))
        .collect();
    let mut fetches = Vec::new();
    while !pending.is_empty() {
        let mut groups: IndexMap<SubgraphId, SelectionSet> = IndexMap::new();
        // The subgraphs each field (by response key) was already sent to: a leftover is
        // retried on the others. Only the field's own history counts: a subgraph that a
        // sibling root field uses may well serve the rest of this one.
        let mut tried: HashMap<Name, Vec<SubgraphId>> = HashMap::new();
        for (field, excluded) in pending.drain(..) {
            let chosen = choose_subgraph(walker, root_type, &field, &excluded, |s| {
                groups.contains_key(&s)
            });
            let subgraph = match chosen {
                Ok(subgraph) => subgraph,
                // A leftover no subgraph takes: say so precisely when it holds a field
                // nothing can reach (the query may then be answered without that root field).
                Err(error) if !excluded.is_empty() => {
                    return Err(
                        unreachable_field(walker.sg, walker.labels, root_type, &field)
                            .unwrap_or(error),
                    );
                }
                Err(error) => return Err(error),
            };
            let mut history = excluded;
            history.push(subgraph);
            tried
                .entry(field.response_key().clone())
                .or_default()
                .extend(history);
            groups
                .entry(subgraph)
                .or_default()
                .merge_in(Selection::Field(field));
        }
        let mut next = Vec::new();
        for (subgraph, selection) in groups {
            let located = walker.plan_at(subgraph, root_type, &selection, None);
            for item in located.leftover.items {
                if let Selection::Field(field) = item {
                    // Retry what this subgraph could not resolve on the others; each round
                    // excludes one more subgraph, so this ends.
                    let mut excluded = tried.get(field.response_key()).cloned().unwrap_or_default();
                    if !excluded.contains(&subgraph) {
                        excluded.push(subgraph);
                    }
                    next.push((field, excluded));
                }
            }
            fetches.push(RootFetch {
                subgraph,
                planned: located.planned,
            });
        }
        pending = next;
    }
    Ok(fetches)
}

/// The first field under the root field `root` (a leftover no subgraph took) that no
/// subgraph can be reached for: every subgraph that resolves it has its parent type as an
/// entity with no resolvable key. `None` when each field has a subgraph that is not shut
/// that way (the failure then has another cause).
fn unreachable_field(
    sg: &Supergraph,
    labels: &OverrideLabels,
    root_type: &Name,
    root: &Field,
) -> Option<PlanError> {
    let parent = sg
        .field_def(root_type, &root.name)?
        .ty
        .inner_named_type()
        .clone();
    let (type_name, field) = first_unreachable(sg, labels, &parent, &root.selection_set)?;
    Some(PlanError::UnreachableField {
        root: root.response_key().to_string(),
        type_name: type_name.to_string(),
        field: field.to_string(),
    })
}

fn first_unreachable(
    sg: &Supergraph,
    labels: &OverrideLabels,
    parent: &Name,
    selection: &SelectionSet,
) -> Option<(Name, Name)> {
    for item in &selection.items {
        match item {
            Selection::Field(field) if field.name == "__typename" => {}
            Selection::Field(field) => {
                let shut = |s: &SubgraphId| {
                    sg.type_def(parent)
                        .and_then(|d| d.in_subgraph(*s))
                        .is_some_and(|t| !t.keys.is_empty() && t.resolvable_keys().next().is_none())
                };
                let serving = sg.subgraphs_resolving(parent, &field.name, labels);
                if !serving.is_empty() && serving.iter().all(shut) {
                    return Some((parent.clone(), field.name.clone()));
                }
                if !field.selection_set.is_empty() {
                    let child = field.ty.inner_named_type().clone();
                    if let Some(found) = first_unreachable(sg, labels, &child, &field.selection_set)
                    {
                        return Some(found);
                    }
                }
            }
            Selection::InlineFragment(fragment) => {
                if let Some(found) = first_unreachable(
                    sg,
                    labels,
                    &fragment.type_condition,
                    &fragment.selection_set,
                ) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// Plans mutation root fields: they run in order, one fetch per run of consecutive fields that
/// go to the same subgraph.
pub(super) fn plan_mutation_root(
    walker: &Walker,
    root_type: &Name,
    selection: &SelectionSet,
) -> Result<Vec<RootFetch>, PlanError> {
    let mut runs: Vec<(SubgraphId, SelectionSet)> = Vec::new();
    for field in selection.fields().filter(|f| !is_meta_field(f)) {
        let previous = runs.last().map(|(s, _)| *s);
        let subgraph = choose_subgraph(walker, root_type, field, &[], |s| Some(s) == previous)?;
        match runs.last_mut() {
            Some((s, selection)) if *s == subgraph => {
                selection.merge_in(Selection::Field(field.clone()))
            }
            _ => runs.push((
                subgraph,
                SelectionSet {
                    items: vec![Selection::Field(field.clone())],
                },
            )),
        }
    }
    runs.into_iter()
        .map(|(subgraph, selection)| {
            let mut located = walker.plan_at(subgraph, root_type, &selection, None);
            add_entity_keys(
                walker.sg,
                walker.labels,
                subgraph,
                root_type,
                &mut located.planned.selection,
            );
            // A mutation field cannot be sent twice, so nothing may be left over.
            match located.leftover.fields().next() {
                Some(field) => Err(PlanError::unsatisfiable(root_type, field)),
                None => Ok(RootFetch {
                    subgraph,
                    planned: located.planned,
                }),
            }
        })
        .collect()
}

/// Plans a subscription's root field: one fetch, to one subgraph, whose stream of events each
/// run the rest of the plan. Nothing may be left over: a stream cannot be opened on two
/// subgraphs and joined.
pub(super) fn plan_subscription_root(
    walker: &Walker,
    root_type: &Name,
    selection: &SelectionSet,
) -> Result<Vec<RootFetch>, PlanError> {
    let mut fields = selection.fields().filter(|f| !is_meta_field(f));
    let (Some(field), None) = (fields.next(), fields.next()) else {
        return Err(PlanError::SubscriptionRoot);
    };
    let subgraph = choose_subgraph(walker, root_type, field, &[], |_| false)?;
    let located = walker.plan_at(subgraph, root_type, selection, None);
    match located.leftover.fields().next() {
        Some(field) => Err(PlanError::unsatisfiable(root_type, field)),
        None => Ok(vec![RootFetch {
            subgraph,
            planned: located.planned,
        }]),
    }
}

/// Adds, under every entity a mutation returns, the `__typename` and the key fields the
/// subgraph resolves: whoever caches answers learns from them which entities the mutation
/// touched (read-your-writes). Skipped where the client already uses such a key for another
/// field.
fn add_entity_keys(
    sg: &Supergraph,
    labels: &OverrideLabels,
    subgraph: SubgraphId,
    parent: &Name,
    selection: &mut SelectionSet,
) {
    let mut additions = Vec::new();
    for item in &mut selection.items {
        match item {
            Selection::Field(field) if !field.selection_set.is_empty() => {
                let Some(child) = sg
                    .field_def(parent, &field.name)
                    .map(|d| d.ty.inner_named_type().clone())
                else {
                    continue;
                };
                add_entity_keys(sg, labels, subgraph, &child, &mut field.selection_set);
            }
            Selection::InlineFragment(fragment) => {
                let condition = fragment.type_condition.clone();
                add_entity_keys(
                    sg,
                    labels,
                    subgraph,
                    &condition,
                    &mut fragment.selection_set,
                );
            }
            Selection::Field(_) => {}
        }
    }
    if parent == "Mutation" || parent == "Query" {
        return;
    }
    let Some(in_subgraph) = sg.type_def(parent).and_then(|d| d.in_subgraph(subgraph)) else {
        return;
    };
    let Some(key) = in_subgraph.keys.first() else {
        return;
    };
    let key_fields: Vec<&Name> = key.fields.fields().map(|f| &f.name).collect();
    let usable = key_fields.iter().all(|name| {
        sg.resolves_field(parent, name, subgraph, labels)
            && !selection
                .fields()
                .any(|f| f.response_key() == *name && f.name != **name)
    }) && key
        .fields
        .fields()
        .all(|f| f.selection_set.selections.is_empty());
    if !usable {
        return;
    }
    additions.push(Selection::Field(Field::typename()));
    for field in key.fields.fields() {
        additions.push(Selection::Field(Field {
            alias: None,
            name: field.name.clone(),
            arguments: Vec::new(),
            ty: field.ty().clone(),
            selection_set: SelectionSet::default(),
            unauthorized: false,
        }));
    }
    for addition in additions {
        selection.merge_in(addition);
    }
}

/// Picks the subgraph that serves `field` best: nothing left over first, then fewest
/// fetches, then one already chosen for a sibling, then supergraph order.
fn choose_subgraph(
    walker: &Walker,
    root_type: &Name,
    field: &Field,
    excluded: &[SubgraphId],
    already_used: impl Fn(SubgraphId) -> bool,
) -> Result<SubgraphId, PlanError> {
    let single = SelectionSet {
        items: vec![Selection::Field(field.clone())],
    };
    walker
        .sg
        .subgraphs_resolving(root_type, &field.name, walker.labels)
        .into_iter()
        .filter(|s| !excluded.contains(s))
        .map(|s| {
            let located = walker.plan_at(s, root_type, &single, None);
            let new_fetch = FETCH_COST * u32::from(!already_used(s));
            let score = (
                count_leaves(&located.leftover),
                located.planned.cost + new_fetch,
                new_fetch,
            );
            (score, s)
        })
        .min_by_key(|(score, s)| (*score, *s))
        .map(|(_, s)| s)
        .ok_or_else(|| PlanError::unsatisfiable(root_type, field))
}
