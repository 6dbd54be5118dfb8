//! Assembles the planned root fetches and their jumps into a graph of fetch steps with
//! dependencies, then merges steps that can share one request: same subgraph, same place in
//! the response, and neither waiting for the other.

use std::collections::{BTreeSet, HashMap};

use apollo_compiler::Name;

use super::plan::{OperationKind, PathSegment};
use super::root::RootFetch;
use super::walk::{Jump, JumpId, requirements_conflict};
use crate::operation::selection::SelectionSet;
use crate::supergraph::SubgraphId;

#[derive(Debug, Clone)]
pub(super) struct Step {
    pub subgraph: SubgraphId,
    pub kind: OperationKind,
    /// Where the step's objects are in the response; empty for root fetches.
    pub merge_path: Vec<PathSegment>,
    /// For entity fetches: the entity type (and representation typename) and key/requires
    /// fields to copy into representations.
    pub entity: Option<(Name, SelectionSet)>,
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
                OperationKind::Query => BTreeSet::new(),
                OperationKind::Mutation => (0..graph.steps.len()).collect(),
            };
            let id = graph.steps.len();
            graph.steps.push(Step {
                subgraph: root.subgraph,
                kind,
                merge_path: Vec::new(),
                entity: None,
                selection: root.planned.selection,
                deps,
            });
            graph.add_jumps(id, &[], root.planned.jumps, &mut jump_steps);
        }
        graph.merge_steps();
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
            let id = self.steps.len();
            self.steps.push(Step {
                subgraph: jump.subgraph,
                kind: OperationKind::Query,
                merge_path: merge_path.clone(),
                entity: Some((jump.entity_type, jump.requires)),
                selection: jump.inner.selection,
                deps,
            });
            jump_steps.insert(jump.id, id);
            self.add_jumps(id, &merge_path, jump.inner.jumps, jump_steps);
        }
    }

    /// Whether `from` waits, directly or not, for `to`.
    fn waits_for(&self, from: usize, to: usize) -> bool {
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
        if sa.subgraph != sb.subgraph
            || sa.kind != OperationKind::Query
            || sb.kind != OperationKind::Query
            || sa.entity.is_none()
            || sb.entity.is_none()
        {
            return false;
        }
        let same_entity = sa.entity.as_ref().map(|e| &e.0) == sb.entity.as_ref().map(|e| &e.0);
        let compatible_inputs = match (&sa.entity, &sb.entity) {
            (Some((_, ra)), Some((_, rb))) => !requirements_conflict(ra, rb),
            _ => false,
        };
        let independent = !self.waits_for(a, b) && !self.waits_for(b, a);
        same_entity
            && compatible_inputs
            && independent
            && mergeable_paths(&sa.merge_path, &sb.merge_path, sa, sb)
    }

    fn merge_into(&mut self, a: usize, b: usize) {
        let step_b = self.steps[b].clone();
        let step_a = &mut self.steps[a];
        if step_a.merge_path != step_b.merge_path {
            // Same fetch for several type conditions at the same place.
            if let (Some(PathSegment::TypeCondition(ta)), Some(PathSegment::TypeCondition(tb))) =
                (step_a.merge_path.last_mut(), step_b.merge_path.last())
            {
                ta.extend(tb.iter().cloned());
                ta.sort();
                ta.dedup();
            }
        }
        for item in step_b.selection.items {
            step_a.selection.merge_in(item);
        }
        if let (Some((_, ra)), Some((_, rb))) = (&mut step_a.entity, step_b.entity) {
            for item in rb.items {
                ra.merge_in(item);
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

    fn compact(&mut self, alive: &[bool]) {
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

/// Two entity steps can share a fetch at the same path, or at paths that differ only in the
/// final type condition when they fetch exactly the same thing.
fn mergeable_paths(a: &[PathSegment], b: &[PathSegment], sa: &Step, sb: &Step) -> bool {
    if a == b {
        return true;
    }
    match (a.split_last(), b.split_last()) {
        (
            Some((PathSegment::TypeCondition(_), rest_a)),
            Some((PathSegment::TypeCondition(_), rest_b)),
        ) => {
            rest_a == rest_b
                && sa.selection == sb.selection
                && sa.entity.as_ref().map(|e| &e.1) == sb.entity.as_ref().map(|e| &e.1)
        }
        _ => false,
    }
}
