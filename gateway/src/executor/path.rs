//! Finding the objects a plan path designates in the response being built.
//!
//! An object is located by its *position*: the list index taken at each `@` of the plan path.
//! Keys need not be stored (the plan path names them), so a position is a few integers instead
//! of a response path of cloned strings; the response path is only spelled out when an error
//! needs one.

use serde_json::{Map, Value};

use crate::planner::PathSegment;
use crate::response::PathElement;
use crate::supergraph::Supergraph;

/// Calls `visit` with the position and the fields of every object at `path` under `root`, in
/// document order.
pub(super) fn for_each_object<'v>(
    sg: &Supergraph,
    root: &'v Value,
    path: &[PathSegment],
    mut visit: impl FnMut(&[u32], &'v Map<String, Value>),
) {
    let mut position = Vec::new();
    walk(sg, root, path, &mut position, &mut visit);
}

fn walk<'v>(
    sg: &Supergraph,
    value: &'v Value,
    path: &[PathSegment],
    position: &mut Vec<u32>,
    visit: &mut impl FnMut(&[u32], &'v Map<String, Value>),
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
    object: &Map<String, Value>,
    types: &[apollo_compiler::Name],
) -> bool {
    object
        .get("__typename")
        .and_then(Value::as_str)
        .is_some_and(|typename| types.iter().any(|t| sg.is_possible_type(t, typename)))
}

/// The value at `position` along `path`, for writing. Type conditions were checked when the
/// position was found; the response only grows meanwhile, so they still hold.
pub(super) fn value_at_mut<'a>(
    root: &'a mut Value,
    path: &[PathSegment],
    position: &[u32],
) -> Option<&'a mut Value> {
    let mut value = root;
    let mut indices = position.iter();
    for segment in path {
        value = match (segment, value) {
            (PathSegment::Field(key), Value::Object(object)) => object.get_mut(key.as_str())?,
            (PathSegment::List, Value::Array(items)) => items.get_mut(*indices.next()? as usize)?,
            (PathSegment::TypeCondition(_), value) => value,
            _ => return None,
        };
    }
    Some(value)
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
