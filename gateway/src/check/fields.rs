//! Output fields of object and interface types: what clients select. Removing one or
//! widening its type breaks the operations that select it; adding one cannot.

use apollo_compiler::Name;
use apollo_compiler::collections::IndexMap;
use apollo_compiler::schema::{Component, FieldDefinition};

use super::annotations::{FIELD_DEPRECATION, capitalized, deprecation, description};
use super::inputs::{self, Owner};
use super::wrapping::is_safe_output_change;
use super::{Change, ChangeKind, Severity};

type Fields = IndexMap<Name, Component<FieldDefinition>>;

/// Compares the fields of type `type_name`; `type_phrase` names it in a sentence
/// (`object type 'User'`).
pub(super) fn diff(
    type_name: &str,
    type_phrase: &str,
    old: &Fields,
    new: &Fields,
    changes: &mut Vec<Change>,
) {
    for (name, old_field) in old {
        let coordinate = format!("{type_name}.{name}");
        match new.get(name) {
            None => changes.push(Change::new(
                Severity::Breaking,
                ChangeKind::FieldRemoved,
                coordinate,
                format!("Field '{name}' was removed from {type_phrase}"),
            )),
            Some(new_field) => compare(&coordinate, old_field, new_field, changes),
        }
    }
    for (name, new_field) in new {
        if !old.contains_key(name) {
            changes.push(Change::new(
                Severity::Safe,
                ChangeKind::FieldAdded,
                format!("{type_name}.{name}"),
                format!(
                    "Field '{name}: {}' was added to {type_phrase}",
                    new_field.ty
                ),
            ));
        }
    }
}

/// Compares one field present on both sides: its type, metadata and arguments.
fn compare(
    coordinate: &str,
    old: &FieldDefinition,
    new: &FieldDefinition,
    changes: &mut Vec<Change>,
) {
    let element = format!("field '{coordinate}'");
    if old.ty != new.ty {
        let severity = if is_safe_output_change(&old.ty, &new.ty) {
            Severity::Safe
        } else {
            Severity::Breaking
        };
        changes.push(Change::new(
            severity,
            ChangeKind::FieldTypeChanged,
            coordinate,
            format!(
                "{} changed type from '{}' to '{}'",
                capitalized(&element),
                old.ty,
                new.ty
            ),
        ));
    }
    description(
        coordinate,
        &element,
        old.description.as_deref(),
        new.description.as_deref(),
        changes,
    );
    deprecation(
        coordinate,
        &element,
        &old.directives,
        &new.directives,
        &FIELD_DEPRECATION,
        changes,
    );
    inputs::diff(
        Owner::Field(coordinate),
        old.arguments.iter().map(|a| &**a),
        new.arguments.iter().map(|a| &**a),
        changes,
    );
}
