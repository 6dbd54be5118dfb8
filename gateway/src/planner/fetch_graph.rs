//! Assembles the planned root fetches and their jumps into a graph of fetch steps with
//! dependencies, then merges steps that can share one request: same subgraph, same place in
//! the response, and neither waiting for the other.

use std::collections::{BTreeSet, HashMap};

use apollo_compiler::Name;

use super::plan::{EntityInput, EntityPart, OperationKind, PathSegment};
use super::root::RootFetch;
use super::walk::{Jump, JumpId, requirements_conflict};
use crate::operation::selection::SelectionSet;
use crate::operation::selection::{InlineFragment, Selection};
use crate::supergraph::SubgraphId;

#[derive(Debug, Clone)]
pub(super) struct Step {
    pub subgraph: SubgraphId,
    pub kind: OperationKind,
    /// Where the step's objects are in the response; empty for root fetches.
    pub merge_path: Vec<PathSegment>,
    /// For entity fetches: how each object becomes a representation.
    pub entity: Option<Vec<EntityPart>>,
    /// For entity fetches merged across paths: the objects at further paths (from the
    /// response root) and how each becomes a representation.
    pub more: Vec<EntityInput>,
    /// For entity fetches, one `... on Type` fragment per entity type.
    pub selection: SelectionSet,
    pub deps: BTreeSet<usize>,
}

#[derive(Debug, Default)]
pub(super) struct FetchGraph {
    pub steps: Vec<Step>,
}

impl FetchGraph {
    /// Root fetches of a query run side by side; those of a mutation run one after another,
    /// each waiting for everything the previous one started.
    pub fn build(roots: Vec<RootFetch>, kind: OperationKind) -> Self {
        let mut graph = FetchGraph::default();
        let mut jump_steps = HashMap::new();
        for root in roots {
            let deps = match kind {
                OperationKind::Query | OperationKind::Subscription => BTreeSet::new(),
                OperationKind::Mutation => (0..graph.steps.len()).collect(),
            };
            let id = graph.steps.len();
            graph.steps.push(Step {
                subgraph: root.subgraph,
                kind,
                merge_path: Vec::new(),
                entity: None,
                more: Vec::new(),
                selection: root.planned.selection,
                deps,
            });
            graph.add_jumps(id, &[], root.planned.jumps, &mut jump_steps);
        }
        graph.context_deps();
        graph.merge_steps();
        super::merge_fetches::merge_fetches(&mut graph);
        graph
    }

    /// A step binding contextual variables waits for every step that selects them (the
    /// context's selection, aliased by the variable's name on the ancestors that set it),
    /// wherever the planner fetched it from.
    fn context_deps(&mut self) {
        fn selects(set: &SelectionSet, keys: &[Name]) -> bool {
            set.items.iter().any(|item| match item {
                Selection::Field(field) => {
                    field.alias.as_ref().is_some_and(|a| keys.contains(a))
                        || selects(&field.selection_set, keys)
                }
                Selection::InlineFragment(fragment) => selects(&fragment.selection_set, keys),
            })
        }
        for step in 0..self.steps.len() {
            let keys: Vec<Name> = self.steps[step]
                .entity
                .iter()
                .flatten()
                .flat_map(|part| part.contexts.iter().cloned())
                .collect();
            if keys.is_empty() {
                continue;
            }
            for other in 0..self.steps.len() {
                if other != step
                    && selects(&self.steps[other].selection, &keys)
                    && !self.waits_for(other, step)
                {
                    self.steps[step].deps.insert(other);
                }
            }
        }
    }

    /// The fetches of a deferred fragment: one entity fetch to `subgraph` for the objects at
    /// `merge_path`, and the jumps that follow from it.
    pub fn build_entity(
        subgraph: SubgraphId,
        merge_path: Vec<PathSegment>,
        part: EntityPart,
        planned: super::walk::Planned,
    ) -> Self {
        let mut graph = FetchGraph::default();
        let mut jump_steps = HashMap::new();
        let entity_type = part.typename.clone();
        graph.steps.push(Step {
            subgraph,
            kind: OperationKind::Query,
            merge_path: merge_path.clone(),
            entity: Some(vec![part]),
            more: Vec::new(),
            selection: SelectionSet {
                items: vec![Selection::InlineFragment(InlineFragment {
                    type_condition: entity_type,
                    selection_set: planned.selection,
                })],
            },
            deps: BTreeSet::new(),
        });
        graph.add_jumps(0, &merge_path, planned.jumps, &mut jump_steps);
        graph.context_deps();
        graph.merge_steps();
        super::merge_fetches::merge_fetches(&mut graph);
        graph
    }

    fn add_jumps(
        &mut self,
        parent: usize,
        base: &[PathSegment],
        jumps: Vec<Jump>,
        jump_steps: &mut HashMap<JumpId, usize>,
    ) {
        for jump in jumps {
            let mut merge_path = base.to_vec();
            merge_path.extend(jump.path);
            let mut deps = BTreeSet::from([parent]);
            deps.extend(jump.depends_on.iter().filter_map(|j| jump_steps.get(j)));
            let applies_to = match merge_path.last() {
                Some(PathSegment::TypeCondition(types)) => Some(types.clone()),
                _ => None,
            };
            let id = self.steps.len();
            self.steps.push(Step {
                subgraph: jump.subgraph,
                kind: OperationKind::Query,
                merge_path: merge_path.clone(),
                entity: Some(vec![EntityPart {
                    applies_to,
                    typename: jump.entity_type.clone(),
                    requires: jump.requires,
                    contexts: jump.contexts,
                }]),
                more: Vec::new(),
                selection: SelectionSet {
                    items: vec![Selection::InlineFragment(InlineFragment {
                        type_condition: jump.entity_type,
                        selection_set: jump.inner.selection,
                    })],
                },
                deps,
            });
            jump_steps.insert(jump.id, id);
            // Jumps inside the entity continue from each entity object, whatever its part.
            self.add_jumps(id, &merge_path, jump.inner.jumps, jump_steps);
        }
    }

    /// Whether `from` waits, directly or not, for `to`.
    pub(super) fn waits_for(&self, from: usize, to: usize) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(step) = stack.pop() {
            if step == to {
                return true;
            }
            if seen.insert(step) {
                stack.extend(self.steps[step].deps.iter().copied());
            }
        }
        false
    }

    fn merge_steps(&mut self) {
        let mut alive = vec![true; self.steps.len()];
        loop {
            let mut merged_any = false;
            for a in 0..self.steps.len() {
                for b in a + 1..self.steps.len() {
                    if !alive[a] || !alive[b] || !self.mergeable(a, b) {
                        continue;
                    }
                    self.merge_into(a, b);
                    alive[b] = false;
                    merged_any = true;
                }
            }
            if !merged_any {
                break;
            }
        }
        self.compact(&alive);
    }

    fn mergeable(&self, a: usize, b: usize) -> bool {
        let (sa, sb) = (&self.steps[a], &self.steps[b]);
        let (Some(parts_a), Some(parts_b)) = (&sa.entity, &sb.entity) else {
            return false;
        };
        if sa.subgraph != sb.subgraph
            || sa.kind != OperationKind::Query
            || sb.kind != OperationKind::Query
            || split_condition(&sa.merge_path).0 != split_condition(&sb.merge_path).0
        {
            return false;
        }
        // One representation per object and typename: the inputs of both must fit in it.
        let compatible = parts_a.iter().all(|pa| {
            parts_b.iter().all(|pb| {
                pa.typename != pb.typename || !requirements_conflict(&pa.requires, &pb.requires)
            })
        });
        compatible && !self.waits_for(a, b) && !self.waits_for(b, a)
    }

    fn merge_into(&mut self, a: usize, b: usize) {
        let step_b = self.steps[b].clone();
        let step_a = &mut self.steps[a];
        let (base, condition_a) = split_condition(&step_a.merge_path);
        let (_, condition_b) = split_condition(&step_b.merge_path);
        let mut merge_path = base.to_vec();
        if let (Some(ta), Some(tb)) = (condition_a, condition_b) {
            let mut types: Vec<Name> = ta.iter().chain(tb).cloned().collect();
            types.sort();
            types.dedup();
            merge_path.push(PathSegment::TypeCondition(types));
        }
        step_a.merge_path = merge_path;
        for item in step_b.selection.items {
            step_a.selection.merge_in(item);
        }
        let parts = step_a.entity.get_or_insert_with(Vec::new);
        for part in step_b.entity.into_iter().flatten() {
            match parts
                .iter_mut()
                .find(|p| p.typename == part.typename && p.applies_to == part.applies_to)
            {
                Some(existing) => {
                    for item in part.requires.items {
                        existing.requires.merge_in(item);
                    }
                }
                None => parts.push(part),
            }
        }
        step_a
            .deps
            .extend(step_b.deps.iter().copied().filter(|d| *d != a));
        for step in &mut self.steps {
            if step.deps.remove(&b) {
                step.deps.insert(a);
            }
        }
        self.steps[a].deps.remove(&a);
    }

    pub(super) fn compact(&mut self, alive: &[bool]) {
        let mut remap = HashMap::new();
        let mut steps = Vec::new();
        for (old, step) in self.steps.drain(..).enumerate() {
            if alive[old] {
                remap.insert(old, steps.len());
                steps.push(step);
            }
        }
        for step in &mut steps {
            step.deps = step
                .deps
                .iter()
                .filter_map(|d| remap.get(d).copied())
                .collect();
        }
        self.steps = steps;
    }
}

/// A merge path without its final type condition, and that condition.
fn split_condition(path: &[PathSegment]) -> (&[PathSegment], Option<&[Name]>) {
    match path.split_last() {
        Some((PathSegment::TypeCondition(types), base)) => (base, Some(types)),
        _ => (path, None),
    }
}
