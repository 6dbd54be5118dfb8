//! Plans operations with `@defer`: the primary part (the operation without its deferred
//! fragments) as any operation, and each deferred fragment as a group of fetches of its own that
//! runs after what it depends on (the primary part, or the deferred fragment it sits in).
//!
//! Each deferred fragment is fetched in one of three ways, tried in order:
//! - at the root of a query: its root fields are planned as a query of their own;
//! - on an entity type: `_entities` fetches for the objects at its path, one per subgraph that
//!   serves some of its fields best, side by side, with the jumps that follow from there. What
//!   it depends on fetches `__typename` and the keys (and `@requires` inputs) at that path;
//! - otherwise (a value type, an abstract type, nothing reachable by a key): its fields are
//!   fetched with what it depends on, and only delivered later.
//!
//! Fields that what it depends on fetches anyway (the same field at the same place) are not
//! fetched again: they come with the primary part and are delivered with the fragment.

use std::collections::HashMap;

use apollo_compiler::Name;
use apollo_compiler::ast::OperationType;

use super::fetch_graph::FetchGraph;
use super::field_set::from_field_set;
use super::plan::{DeferredNode, EntityPart, PathSegment, PlanNode, QueryPlan};
use super::walk::{FETCH_COST, Walker};
use super::{PlanError, QueryPlanner};
use crate::operation::selection::{Field, InlineFragment, Selection, SelectionSet};
use crate::operation::{DeferPathStep, NormalizedOperation};
use crate::supergraph::{OverrideLabels, SubgraphId, TypeKind};

/// How a deferred fragment's data is fetched.
enum Mode {
    /// Nothing left to fetch, or fetched with what it depends on.
    WithOwner,
    Root,
    /// `_entities` fetches for the objects at its path, one per subgraph, side by side.
    Entity(Vec<EntityGroup>),
}

/// The fields of a deferred fragment that one subgraph serves, and how to reach it.
struct EntityGroup {
    subgraph: SubgraphId,
    part: EntityPart,
    planned: super::walk::Planned,
}

struct Work {
    id: usize,
    label: Option<String>,
    parent: Option<usize>,
    /// Where its objects are, with a type condition when the fragment narrows an abstract
    /// type to an object type.
    path: Vec<PathSegment>,
    /// The type of those objects.
    type_name: Name,
    /// What it still has to fetch.
    selection: SelectionSet,
    mode: Mode,
}

pub(super) fn plan(
    planner: &QueryPlanner,
    operation: &NormalizedOperation,
    labels: &OverrideLabels,
) -> Result<QueryPlan, PlanError> {
    let sg = &**planner.supergraph();
    let walker = Walker::new(sg, labels, planner.location_budget);
    let mut works: Vec<Work> = operation
        .deferred
        .iter()
        .map(|d| {
            let mut path: Vec<PathSegment> = d.path.iter().map(plan_step).collect();
            let mut type_name = d.parent_type.clone();
            let mut selection = d.selection.clone();
            // `... on Book @defer` inside an abstract selection: the objects are the books.
            if sg.type_def(&type_name).is_some_and(|t| t.is_abstract())
                && let [Selection::InlineFragment(fragment)] = &selection.items[..]
                && sg
                    .type_def(&fragment.type_condition)
                    .is_some_and(|t| t.kind == TypeKind::Object)
            {
                type_name = fragment.type_condition.clone();
                path.push(PathSegment::TypeCondition(vec![type_name.clone()]));
                selection = fragment.selection_set.clone();
            }
            Work {
                id: d.id,
                label: d.label.clone(),
                parent: d.parent,
                path,
                type_name,
                selection,
                mode: Mode::WithOwner,
            }
        })
        .collect();
    let index: HashMap<usize, usize> = works.iter().enumerate().map(|(i, w)| (w.id, i)).collect();
    let mut primary = operation.selection_set.clone();
    // Inner fragments first: what they add to the fragment they sit in is then planned with it.
    for i in (0..works.len()).rev() {
        let mut selection = std::mem::take(&mut works[i].selection);
        let path = works[i].path.clone();
        // What the primary part and every enclosing fragment fetch anyway.
        if let Some(there) = at_path(&primary, &path) {
            subtract(&mut selection, there);
        }
        let mut ancestor = works[i].parent;
        while let Some(id) = ancestor {
            let owner = &works[index[&id]];
            if let Some(there) = at_path(&owner.selection, &relative(&owner.path, &path)) {
                subtract(&mut selection, there);
            }
            ancestor = owner.parent;
        }
        let is_root = path.is_empty() && works[i].parent.is_none();
        let mode = if selection.is_empty() {
            Mode::WithOwner
        } else if is_root && operation.kind == OperationType::Query {
            Mode::Root
        } else {
            entity_mode(&walker, &works[i].type_name, &path, &selection).unwrap_or(Mode::WithOwner)
        };
        // What the owner must fetch: the representations' inputs, or the fields themselves.
        let needs = match &mode {
            Mode::Root => None,
            Mode::Entity(groups) => {
                let mut needs = SelectionSet::default();
                needs.merge_in(Selection::Field(Field::typename()));
                for group in groups {
                    needs.merge_all(group.part.requires.items.iter().cloned());
                }
                Some(needs)
            }
            Mode::WithOwner => Some(std::mem::take(&mut selection)),
        };
        if let Some(needs) = needs.filter(|n| !n.is_empty()) {
            match works[i].parent {
                None => add_at_path(&mut primary, &path, needs),
                Some(parent) => {
                    let owner = &mut works[index[&parent]];
                    let relative_path = relative(&owner.path, &path);
                    add_at_path(&mut owner.selection, &relative_path, needs);
                }
            }
        }
        works[i].selection = selection;
        works[i].mode = mode;
    }
    if walker.exhausted() {
        return Err(PlanError::TooComplex);
    }
    let primary_operation = NormalizedOperation {
        selection_set: primary,
        deferred: Vec::new(),
        ..operation.clone()
    };
    let primary_plan = planner.plan_undeferred(&primary_operation, labels)?;
    let mut fetch_count = primary_plan.fetch_count;
    let mut deferred = Vec::with_capacity(works.len());
    for work in works {
        let node = match work.mode {
            Mode::WithOwner => None,
            Mode::Root => {
                let root_operation = NormalizedOperation {
                    selection_set: work.selection,
                    deferred: Vec::new(),
                    ..operation.clone()
                };
                let plan = planner.plan_undeferred(&root_operation, labels)?;
                // Numbered after the fetches planned so far: names and ids stay unique.
                let renumbered = renumber(plan.root, fetch_count);
                fetch_count += plan.fetch_count;
                renumbered
            }
            Mode::Entity(groups) => {
                let mut nodes = Vec::with_capacity(groups.len());
                for group in groups {
                    let graph = FetchGraph::build_entity(
                        group.subgraph,
                        work.path.clone(),
                        group.part,
                        group.planned,
                    );
                    let (node, count) = planner.graph_to_tree(graph, operation, fetch_count);
                    fetch_count += count;
                    nodes.extend(node);
                }
                match nodes.len() {
                    0 => None,
                    1 => nodes.pop(),
                    _ => Some(PlanNode::Parallel(nodes)),
                }
            }
        };
        deferred.push(DeferredNode {
            id: work.id,
            label: work.label,
            path: work.path,
            depends: work.parent,
            node: node.map(Box::new),
        });
    }
    Ok(QueryPlan {
        root: Some(PlanNode::Defer {
            primary: primary_plan.root.map(Box::new),
            deferred,
        }),
        fetch_count,
        unplannable: primary_plan.unplannable,
    })
}

fn plan_step(step: &DeferPathStep) -> PathSegment {
    match step {
        DeferPathStep::Field(name) => PathSegment::Field(name.clone()),
        DeferPathStep::List => PathSegment::List,
        DeferPathStep::TypeCondition(name) => PathSegment::TypeCondition(vec![name.clone()]),
    }
}

/// `path` from `base` (a prefix of it).
fn relative(base: &[PathSegment], path: &[PathSegment]) -> Vec<PathSegment> {
    path.get(base.len()..).unwrap_or_default().to_vec()
}

/// The entity fetches for a deferred selection on objects of `type_name`: each selected
/// field (or fragment) goes to the subgraph that serves it at the least cost (one already
/// chosen for a sibling first), and each subgraph gets one `_entities` fetch by its key, all
/// side by side. `None` when the type is not an object entity with simple keys, or a field
/// cannot be served that way.
fn entity_mode(
    walker: &Walker,
    type_name: &Name,
    path: &[PathSegment],
    selection: &SelectionSet,
) -> Option<Mode> {
    let sg = walker.sg;
    let def = sg.type_def(type_name)?;
    if def.kind != TypeKind::Object {
        return None;
    }
    // Only simple keys (no nested selections): they are read from the objects as is.
    let candidates: Vec<(SubgraphId, SelectionSet)> = def
        .subgraphs
        .iter()
        .filter_map(|in_subgraph| {
            let key = in_subgraph.resolvable_keys().find(|k| {
                k.fields
                    .fields()
                    .all(|f| f.selection_set.selections.is_empty())
            })?;
            Some((in_subgraph.subgraph, from_field_set(&key.fields)))
        })
        .collect();
    let mut groups: indexmap::IndexMap<SubgraphId, SelectionSet> = indexmap::IndexMap::new();
    for item in &selection.items {
        let single = SelectionSet {
            items: vec![item.clone()],
        };
        let chosen = candidates
            .iter()
            .filter_map(|(subgraph, _)| {
                let (located, _) = walker.plan_entity(*subgraph, type_name, &single);
                if !located.leftover.is_empty() {
                    return None;
                }
                let new_fetch = if groups.contains_key(subgraph) {
                    0
                } else {
                    FETCH_COST
                };
                Some((located.planned.cost + new_fetch, *subgraph))
            })
            .min()?;
        groups.entry(chosen.1).or_default().merge_in(item.clone());
    }
    let applies_to = match path.last() {
        Some(PathSegment::TypeCondition(types)) => Some(types.clone()),
        _ => None,
    };
    let mut planned_groups = Vec::with_capacity(groups.len());
    for (subgraph, group) in groups {
        let (located, required) = walker.plan_entity(subgraph, type_name, &group);
        if !located.leftover.is_empty() {
            return None;
        }
        let key = candidates
            .iter()
            .find(|(s, _)| *s == subgraph)
            .map(|(_, key)| key.clone())?;
        let mut requires = key;
        requires.merge_all(required.items);
        planned_groups.push(EntityGroup {
            subgraph,
            part: EntityPart {
                applies_to: applies_to.clone(),
                typename: type_name.clone(),
                requires,
                contexts: walker.contexts_of(&located.planned.selection),
            },
            planned: located.planned,
        });
    }
    Some(Mode::Entity(planned_groups))
}

/// The selection at `path` in `selection`: fields by response key, type conditions as the
/// inline fragment on that type (or the selection itself when there is none).
fn at_path<'s>(selection: &'s SelectionSet, path: &[PathSegment]) -> Option<&'s SelectionSet> {
    let mut here = selection;
    for step in path {
        here = match step {
            PathSegment::List => continue,
            PathSegment::Field(key) => {
                &here
                    .fields()
                    .find(|f| f.response_key() == key)?
                    .selection_set
            }
            PathSegment::TypeCondition(types) => {
                match here.fragments().find(|f| types.contains(&f.type_condition)) {
                    Some(fragment) => &fragment.selection_set,
                    None => here,
                }
            }
        };
    }
    Some(here)
}

/// Merges `additions` into the selection at `path` (type conditions become inline fragments
/// when missing). A path that is not there (it always is: the deferred fragment was found
/// under it) adds nothing.
fn add_at_path(selection: &mut SelectionSet, path: &[PathSegment], additions: SelectionSet) {
    let Some((step, rest)) = path.split_first() else {
        selection.merge_all(additions.items);
        return;
    };
    match step {
        PathSegment::List => add_at_path(selection, rest, additions),
        PathSegment::Field(key) => {
            let field = selection.items.iter_mut().find_map(|item| match item {
                Selection::Field(f) if f.response_key() == key => Some(f),
                _ => None,
            });
            if let Some(field) = field {
                add_at_path(&mut field.selection_set, rest, additions);
            }
        }
        PathSegment::TypeCondition(types) => {
            let position = selection.items.iter().position(
                |item| matches!(item, Selection::InlineFragment(f) if types.contains(&f.type_condition)),
            );
            let position = position.unwrap_or_else(|| {
                selection
                    .items
                    .push(Selection::InlineFragment(InlineFragment {
                        type_condition: types[0].clone(),
                        selection_set: SelectionSet::default(),
                    }));
                selection.items.len() - 1
            });
            if let Selection::InlineFragment(fragment) = &mut selection.items[position] {
                add_at_path(&mut fragment.selection_set, rest, additions);
            }
        }
    }
}

/// Removes from `selection` the leaf fields `fetched` has too (same response key, same field
/// and arguments), and inside composite fields both have, what `fetched` has there; a composite
/// field left with nothing to fetch goes.
fn subtract(selection: &mut SelectionSet, fetched: &SelectionSet) {
    selection.items.retain_mut(|item| match item {
        Selection::Field(field) => {
            let Some(other) = fetched
                .fields()
                .find(|f| f.response_key() == field.response_key() && f.same_field_as(field))
            else {
                return true;
            };
            if field.selection_set.is_empty() {
                return false;
            }
            subtract(&mut field.selection_set, &other.selection_set);
            !field.selection_set.is_empty()
        }
        Selection::InlineFragment(fragment) => {
            if let Some(other) = fetched
                .fragments()
                .find(|f| f.type_condition == fragment.type_condition)
            {
                subtract(&mut fragment.selection_set, &other.selection_set);
            }
            !fragment.selection_set.is_empty()
        }
    });
}

/// A root plan's fetches numbered from `first`, so that they do not share ids (and subgraph
/// operation names) with the primary part's.
fn renumber(node: Option<PlanNode>, first: usize) -> Option<PlanNode> {
    fn walk(node: &mut PlanNode, first: usize) {
        match node {
            PlanNode::Fetch(fetch) => {
                let fetch = std::sync::Arc::make_mut(fetch);
                let old = fetch.id;
                fetch.id += first;
                if let Some(name) = &fetch.operation_name {
                    let suffix = format!("__{old}");
                    if let Some(base) = name.strip_suffix(suffix.as_str()) {
                        let renamed: std::sync::Arc<str> =
                            format!("{base}__{}", old + first).into();
                        fetch.operation = fetch.operation.replacen(&**name, &renamed, 1).into();
                        fetch.operation_name = Some(renamed);
                    }
                }
            }
            PlanNode::Flatten { node, .. } => walk(node, first),
            PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
                nodes.iter_mut().for_each(|n| walk(n, first))
            }
            PlanNode::Defer { .. } => {}
        }
    }
    let mut node = node?;
    walk(&mut node, first);
    Some(node)
}
