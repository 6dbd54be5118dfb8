//! Finding the objects a plan path designates in the response being built.
//!
//! An object is located by its *position*: the list index taken at each `@` of the plan path.
//! Keys need not be stored (the plan path names them), so a position is a few integers instead
//! of a response path of cloned strings; the response path is only spelled out when an error
//! needs one.

use crate::json::{Object, Value};

use crate::planner::PathSegment;
use crate::response::PathElement;
use crate::supergraph::Supergraph;

/// Calls `visit` with the position and the fields of every object at `path` under `root`, in
/// document order.
pub(super) fn for_each_object<'v>(
    sg: &Supergraph,
    root: &'v Value,
    path: &[PathSegment],
    mut visit: impl FnMut(&[u32], &'v Object),
) {
    let mut position = Vec::new();
    walk(sg, root, path, &mut position, &mut visit);
}

fn walk<'v>(
    sg: &Supergraph,
    value: &'v Value,
    path: &[PathSegment],
    position: &mut Vec<u32>,
    visit: &mut impl FnMut(&[u32], &'v Object),
) {
    let Some((segment, rest)) = path.split_first() else {
        if let Value::Object(object) = value {
            visit(position, object);
        }
        return;
    };
    match (segment, value) {
        (PathSegment::Field(key), Value::Object(object)) => {
            if let Some(child) = object.get(key.as_str()) {
                walk(sg, child, rest, position, visit);
            }
        }
        (PathSegment::List, Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                // Responses are far below 4 billion items per list.
                position.push(index as u32);
                walk(sg, item, rest, position, visit);
                position.pop();
            }
        }
        (PathSegment::TypeCondition(types), Value::Object(object))
            if matches_types(sg, object, types) =>
        {
            walk(sg, value, rest, position, visit);
        }
        _ => {}
    }
}

/// Whether an object's `__typename` is one of `types` (or one of their possible types).
pub(super) fn matches_types(
    sg: &Supergraph,
    object: &Object,
    types: &[apollo_compiler::Name],
) -> bool {
    object
        .get("__typename")
        .and_then(Value::as_str)
        .is_some_and(|typename| types.iter().any(|t| sg.is_possible_type(t, typename)))
}

/// Calls `visit` with the position and the value of every object at `path` under `root`, in
/// document order, for writing. Visiting in one walk beats looking each position up from the
/// root: the keys along the path are compared once per list, not once per object.
pub(super) fn for_each_object_mut(
    sg: &Supergraph,
    root: &mut Value,
    path: &[PathSegment],
    mut visit: impl FnMut(&[u32], &mut Value),
) {
    let mut position = Vec::new();
    walk_mut(sg, root, path, &mut position, &mut visit);
}

fn walk_mut(
    sg: &Supergraph,
    value: &mut Value,
    path: &[PathSegment],
    position: &mut Vec<u32>,
    visit: &mut impl FnMut(&[u32], &mut Value),
) {
    let Some((segment, rest)) = path.split_first() else {
        if value.is_object() {
            visit(position, value);
        }
        return;
    };
    match (segment, value) {
        (PathSegment::Field(key), Value::Object(object)) => {
            if let Some(child) = object.get_mut(key.as_str()) {
                walk_mut(sg, child, rest, position, visit);
            }
        }
        (PathSegment::List, Value::Array(items)) => {
            for (index, item) in items.iter_mut().enumerate() {
                position.push(index as u32);
                walk_mut(sg, item, rest, position, visit);
                position.pop();
            }
        }
        (PathSegment::TypeCondition(types), value) => {
            if let Value::Object(object) = &*value
                && matches_types(sg, object, types)
            {
                walk_mut(sg, value, rest, position, visit);
            }
        }
        _ => {}
    }
}

/// The response path of the object at `position` along `path`.
pub(super) fn response_path(path: &[PathSegment], position: &[u32]) -> Vec<PathElement> {
    let mut indices = position.iter();
    path.iter()
        .filter_map(|segment| match segment {
            PathSegment::Field(key) => Some(PathElement::Key(key.to_string())),
            PathSegment::List => indices.next().map(|i| PathElement::Index(*i as usize)),
            PathSegment::TypeCondition(_) => None,
        })
        .collect()
}

/// Like [`for_each_object`], and also hands `visit` the value of each of `keys` on the
/// nearest object along the way (the object itself, else its parent, and so on up to the
/// root) that has it: how contextual arguments find the ancestor that sets their context.
pub(super) fn for_each_object_in_context<'v>(
    sg: &Supergraph,
    root: &'v Value,
    path: &[PathSegment],
    keys: &[apollo_compiler::Name],
    mut visit: impl FnMut(&[u32], &'v Object, &[Option<&'v Value>]),
) {
    let mut position = Vec::new();
    let mut found = vec![None; keys.len()];
    walk_in_context(sg, root, path, keys, &mut found, &mut position, &mut visit);
}

fn walk_in_context<'v>(
    sg: &Supergraph,
    value: &'v Value,
    path: &[PathSegment],
    keys: &[apollo_compiler::Name],
    found: &mut Vec<Option<&'v Value>>,
    position: &mut Vec<u32>,
    visit: &mut impl FnMut(&[u32], &'v Object, &[Option<&'v Value>]),
) {
    // An object met on the way may set some of the contexts: they hold below it.
    let outer = found.clone();
    if let Value::Object(object) = value {
        for (slot, key) in found.iter_mut().zip(keys) {
            if let Some(value) = object.get(key.as_str()) {
                *slot = Some(value);
            }
        }
    }
    match (path.split_first(), value) {
        (None, Value::Object(object)) => visit(position, object, found),
        (None, _) => {}
        (Some((PathSegment::Field(key), rest)), Value::Object(object)) => {
            if let Some(child) = object.get(key.as_str()) {
                walk_in_context(sg, child, rest, keys, found, position, visit);
            }
        }
        (Some((PathSegment::List, rest)), Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                position.push(index as u32);
                walk_in_context(sg, item, rest, keys, found, position, visit);
                position.pop();
            }
        }
        (Some((PathSegment::TypeCondition(types), rest)), Value::Object(object))
            if matches_types(sg, object, types) =>
        {
            walk_in_context(sg, value, rest, keys, found, position, visit);
        }
        _ => {}
    }
    *found = outer;
}
