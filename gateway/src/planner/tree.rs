//! Turns the fetch graph (steps with dependencies) into the plan tree people read and the
//! executor runs: a step is followed by the steps that wait only for it and its own
//! followers; steps that wait for several branches come after those branches.

use std::collections::BTreeSet;

use super::plan::PlanNode;

/// `deps[i]`: the steps step `i` waits for. `leaf(i)`: the plan node of step `i` alone.
pub(super) fn build_tree(
    deps: &[BTreeSet<usize>],
    leaf: &mut dyn FnMut(usize) -> PlanNode,
) -> Option<PlanNode> {
    let all: BTreeSet<usize> = (0..deps.len()).collect();
    schedule(deps, &all, &BTreeSet::new(), leaf)
}

fn schedule(
    deps: &[BTreeSet<usize>],
    todo: &BTreeSet<usize>,
    done: &BTreeSet<usize>,
    leaf: &mut dyn FnMut(usize) -> PlanNode,
) -> Option<PlanNode> {
    if todo.is_empty() {
        return None;
    }
    let ready: Vec<usize> = todo
        .iter()
        .copied()
        .filter(|s| deps[*s].is_subset(done))
        .collect();
    assert!(!ready.is_empty(), "fetch graph has a cycle");
    let mut claimed: BTreeSet<usize> = ready.iter().copied().collect();
    let mut branches = Vec::new();
    for &start in &ready {
        // Steps that wait for `start` (or its followers) and for nothing else still pending.
        let mut followers = BTreeSet::new();
        loop {
            let before = followers.len();
            for &step in todo {
                if claimed.contains(&step) || followers.contains(&step) {
                    continue;
                }
                let waits_here =
                    deps[step].contains(&start) || deps[step].iter().any(|d| followers.contains(d));
                let only_here = deps[step]
                    .iter()
                    .all(|d| done.contains(d) || *d == start || followers.contains(d));
                if waits_here && only_here {
                    followers.insert(step);
                }
            }
            if followers.len() == before {
                break;
            }
        }
        claimed.extend(followers.iter().copied());
        let mut done_here = done.clone();
        done_here.insert(start);
        let node = leaf(start);
        branches.push(match schedule(deps, &followers, &done_here, leaf) {
            Some(rest) => sequence(vec![node, rest]),
            None => node,
        });
    }
    let first = parallel(branches);
    let rest: BTreeSet<usize> = todo.difference(&claimed).copied().collect();
    let mut done_after = done.clone();
    done_after.extend(claimed.iter().copied());
    Some(match schedule(deps, &rest, &done_after, leaf) {
        Some(rest) => sequence(vec![first, rest]),
        None => first,
    })
}

fn sequence(nodes: Vec<PlanNode>) -> PlanNode {
    let mut flat = Vec::new();
    for node in nodes {
        match node {
            PlanNode::Sequence(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if flat.len() == 1 {
        flat.pop().expect("one node")
    } else {
        PlanNode::Sequence(flat)
    }
}

fn parallel(mut nodes: Vec<PlanNode>) -> PlanNode {
    if nodes.len() == 1 {
        nodes.pop().expect("one node")
    } else {
        PlanNode::Parallel(nodes)
    }
}
