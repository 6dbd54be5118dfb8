//! Finding the objects a plan path designates in the response being built, with the concrete
//! response path of each (keys and list indices).

use serde_json::{Map, Value};

use crate::planner::PathSegment;
use crate::response::PathElement;
use crate::supergraph::Supergraph;

/// The concrete response path of every object at `path` under `root`.
pub(super) fn object_paths(
    sg: &Supergraph,
    root: &Value,
    path: &[PathSegment],
) -> Vec<Vec<PathElement>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    walk(sg, root, path, &mut current, &mut out);
    out
}

fn walk(
    sg: &Supergraph,
    value: &Value,
    path: &[PathSegment],
    current: &mut Vec<PathElement>,
    out: &mut Vec<Vec<PathElement>>,
) {
    let Some((segment, rest)) = path.split_first() else {
        if value.is_object() {
            out.push(current.clone());
        }
        return;
    };
    match (segment, value) {
        (PathSegment::Field(key), Value::Object(object)) => {
            if let Some(child) = object.get(key.as_str()) {
                current.push(PathElement::Key(key.to_string()));
                walk(sg, child, rest, current, out);
                current.pop();
            }
        }
        (PathSegment::List, Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                current.push(PathElement::Index(index));
                walk(sg, item, rest, current, out);
                current.pop();
            }
        }
        (PathSegment::TypeCondition(types), Value::Object(object))
            if matches_types(sg, object, types) =>
        {
            walk(sg, value, rest, current, out);
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

/// The value at a concrete response path, for writing.
pub(super) fn value_at_mut<'a>(root: &'a mut Value, path: &[PathElement]) -> Option<&'a mut Value> {
    let mut value = root;
    for element in path {
        value = match (element, value) {
            (PathElement::Key(key), Value::Object(object)) => object.get_mut(key)?,
            (PathElement::Index(index), Value::Array(items)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

pub(super) fn value_at<'a>(root: &'a Value, path: &[PathElement]) -> Option<&'a Value> {
    let mut value = root;
    for element in path {
        value = match (element, value) {
            (PathElement::Key(key), Value::Object(object)) => object.get(key)?,
            (PathElement::Index(index), Value::Array(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(value)
}
