//! Building `_entities` representations: the entity's `__typename` plus the key and
//! `@requires` fields copied out of an object of the response.

use indexmap::IndexSet;

use crate::json::{Object, Ordered, OrderedEntries, Str, Value};

use crate::operation::selection::{Selection, SelectionSet};
use crate::planner::EntityPart;
use crate::supergraph::Supergraph;

/// The representations one entity fetch sends, each once, in the order first met.
pub(super) type Representations = IndexSet<Ordered, ahash::RandomState>;

/// The index in `set` of `object`'s representation for `part` (a part that applies to it),
/// added when new; `None` when the object lacks a field the part needs. Most objects share
/// their entity with others (the same product under many reviews), so a plain representation
/// is looked up before it is built.
pub(super) fn intern(
    set: &mut Representations,
    sg: &Supergraph,
    part: &EntityPart,
    object: &Object,
) -> Option<usize> {
    let mut fields = [("", &NULL); MAX_PLAIN_FIELDS];
    match project_plain(part, object, &mut fields) {
        Projection::Plain(entries) => Some(match set.get_index_of(&entries) {
            Some(index) => index,
            None => set.insert_full(Ordered(entries.to_value())).0,
        }),
        Projection::Missing => None,
        Projection::Nested => Some(
            set.insert_full(Ordered(representation(sg, part, object)?))
                .0,
        ),
    }
}

/// Filler for the room [`project_plain`] writes fields into.
static NULL: Value = Value::Null;

/// The representation of `object` for `part` (a part that applies to it): the entity's
/// `__typename` plus the part's fields, or `None` when the object lacks one of them.
fn representation(sg: &Supergraph, part: &EntityPart, object: &Object) -> Option<Value> {
    let mut out = Object::new();
    out.insert(
        Str::new("__typename"),
        Value::String(part.typename.as_str().into()),
    );
    project_into(sg, &part.requires, object, &mut out)?;
    Some(Value::Object(out))
}

/// The most fields a part may have for [`project_plain`]: keys and requirements are a few
/// fields; a part with more is built the general way.
const MAX_PLAIN_FIELDS: usize = 8;

/// How a part's representation of an object can be had without building it.
enum Projection<'o> {
    /// The part's fields are all plain (no sub-selection, no fragment, distinct names other
    /// than `__typename`), and the object has every one of them: the representation's entries.
    Plain(OrderedEntries<'o>),
    /// The object lacks a field the part needs: no representation.
    Missing,
    /// Not plain: build it with [`representation`].
    Nested,
}

/// The representation of `object` for `part`, as entries borrowed from the object when the
/// part is plain (see [`Projection`]); `fields` is room for them. Exactly the object
/// [`representation`] builds: `__typename` first, then each field under its name.
fn project_plain<'o>(
    part: &'o EntityPart,
    object: &'o Object,
    fields: &'o mut [(&'o str, &'o Value); MAX_PLAIN_FIELDS],
) -> Projection<'o> {
    let items = &part.requires.items;
    if items.len() > MAX_PLAIN_FIELDS {
        return Projection::Nested;
    }
    for (index, item) in items.iter().enumerate() {
        let Selection::Field(field) = item else {
            return Projection::Nested;
        };
        let name = field.name.as_str();
        let repeated = fields[..index].iter().any(|(earlier, _)| *earlier == name);
        if !field.selection_set.is_empty() || name == "__typename" || repeated {
            return Projection::Nested;
        }
        let Some(value) = object.get(field.response_key().as_str()) else {
            return Projection::Missing;
        };
        fields[index] = (name, value);
    }
    let fields: &'o [(&'o str, &'o Value); MAX_PLAIN_FIELDS] = fields;
    Projection::Plain(OrderedEntries {
        first: ("__typename", part.typename.as_str()),
        rest: &fields[..items.len()],
    })
}

/// Whether `part` is for objects of `object`'s type.
pub(super) fn applies(sg: &Supergraph, part: &EntityPart, object: &Object) -> bool {
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

/// The representation of `object` for `part` with the part's contextual variables (see
/// `planner::contexts`) as extra entries, from `values` (those of `keys`, found along the
/// object's path; null where no object sets the context). The executor takes them out again
/// before sending, as variables.
pub(super) fn contextual(
    sg: &Supergraph,
    part: &EntityPart,
    object: &Object,
    keys: &[apollo_compiler::Name],
    values: &[Option<&Value>],
) -> Option<Value> {
    let mut representation = representation(sg, part, object)?;
    if let Value::Object(out) = &mut representation {
        for name in &part.contexts {
            let value = keys
                .iter()
                .position(|k| k == name)
                .and_then(|i| values[i])
                .cloned()
                .unwrap_or(Value::Null);
            out.insert(name.as_str(), value);
        }
    }
    Some(representation)
}
