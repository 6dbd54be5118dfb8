//! Building `_entities` representations: the entity's `__typename` plus the key and
//! `@requires` fields copied out of an object of the response.

use crate::json::{Object, Str, Value};

use crate::operation::selection::{Selection, SelectionSet};
use crate::planner::{EntityFetch, EntityPart};
use crate::supergraph::Supergraph;

/// The representations of `object`: one per part of the fetch that applies to it. A part is
/// skipped when the object lacks a field its key or requirements need.
pub(super) fn representations<'a>(
    sg: &'a Supergraph,
    entity: &'a EntityFetch,
    object: &'a Object,
) -> impl Iterator<Item = Value> + 'a {
    entity
        .parts
        .iter()
        .filter(move |part| applies(sg, part, object))
        .filter_map(move |part| {
            let mut out = Object::new();
            out.insert(
                Str::new("__typename"),
                Value::String(part.typename.as_str().into()),
            );
            project_into(sg, &part.requires, object, &mut out)?;
            Some(Value::Object(out))
        })
}

fn applies(sg: &Supergraph, part: &EntityPart, object: &Object) -> bool {
    match &part.applies_to {
        None => true,
        Some(types) => object
            .get("__typename")
            .and_then(Value::as_str)
            .is_some_and(|t| types.iter().any(|c| sg.is_possible_type(c, t))),
    }
}

fn project_into(
    sg: &Supergraph,
    selection: &SelectionSet,
    object: &Object,
    out: &mut Object,
) -> Option<()> {
    for item in &selection.items {
        match item {
            Selection::Field(field) => {
                let value = object.get(field.response_key().as_str())?;
                let projected = if field.selection_set.is_empty() {
                    value.clone()
                } else {
                    project_value(sg, &field.selection_set, value)?
                };
                out.insert(field.name.as_str(), projected);
            }
            Selection::InlineFragment(fragment) => {
                let applies = object
                    .get("__typename")
                    .and_then(Value::as_str)
                    .is_some_and(|t| sg.is_possible_type(&fragment.type_condition, t));
                if applies {
                    project_into(sg, &fragment.selection_set, object, out)?;
                }
            }
        }
    }
    Some(())
}

fn project_value(sg: &Supergraph, selection: &SelectionSet, value: &Value) -> Option<Value> {
    match value {
        Value::Null => Some(Value::Null),
        Value::Array(items) => items
            .iter()
            .map(|item| project_value(sg, selection, item))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        Value::Object(object) => {
            let mut out = Object::new();
            if let Some(typename) = object.get("__typename")
                && selection.fragments().next().is_some()
            {
                out.insert(Str::new("__typename"), typename.clone());
            }
            project_into(sg, selection, object, &mut out)?;
            Some(Value::Object(out))
        }
        scalar => Some(scalar.clone()),
    }
}
