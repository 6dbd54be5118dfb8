//! Merging a fetch's result into the response being built, in place.

use crate::json::Value;

use super::path::matches_types;
use crate::planner::{KeyRename, PathSegment};
use crate::supergraph::Supergraph;

/// Merges `source` into `target`: objects key by key, lists item by item, anything else
/// replaced. A null never replaces an object another fetch already filled.
pub(super) fn deep_merge(target: &mut Value, source: Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            if target.is_empty() {
                *target = source;
            } else {
                target.merge_entries(source, deep_merge, |key, value| (key, value));
            }
        }
        (Value::Array(target), Value::Array(source)) => {
            for (existing, value) in target.iter_mut().zip(source) {
                deep_merge(existing, value);
            }
        }
        (Value::Object(_) | Value::Array(_), Value::Null) => {}
        (target, source) => *target = source,
    }
}

/// Like [`deep_merge`], from a borrowed `source`: copies only what `target` lacks or what
/// replaces its values.
pub(super) fn deep_merge_from(target: &mut Value, source: &Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            target.merge_entries(source, deep_merge_from, |key, value| {
                (key.clone(), value.clone())
            });
        }
        (Value::Array(target), Value::Array(source)) => {
            for (existing, value) in target.iter_mut().zip(source) {
                deep_merge_from(existing, value);
            }
        }
        (Value::Object(_) | Value::Array(_), Value::Null) => {}
        (target, source) => *target = source.clone(),
    }
}

/// Gives aliased keys their client names back (see the planner's `aliases`).
pub(super) fn apply_renames(sg: &Supergraph, value: &mut Value, renames: &[KeyRename]) {
    for rename in renames {
        rename_at(sg, value, &rename.path, rename);
    }
}

fn rename_at(sg: &Supergraph, value: &mut Value, path: &[PathSegment], rename: &KeyRename) {
    match path.split_first() {
        None => {
            if let Value::Object(object) = value
                && let Some(moved) = object.remove(rename.from.as_str())
            {
                object.insert(rename.to.to_string(), moved);
            }
        }
        Some((PathSegment::Field(key), rest)) => {
            if let Value::Object(object) = value
                && let Some(child) = object.get_mut(key.as_str())
            {
                rename_at(sg, child, rest, rename);
            }
        }
        Some((PathSegment::List, rest)) => {
            if let Value::Array(items) = value {
                for item in items {
                    rename_at(sg, item, rest, rename);
                }
            }
        }
        Some((PathSegment::TypeCondition(types), rest)) => {
            if let Value::Object(object) = value
                && matches_types(sg, object, types)
            {
                rename_at(sg, value, rest, rename);
            }
        }
    }
}
