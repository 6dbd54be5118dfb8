//! Named types: added, removed, or turned into another kind, then the members of each kind
//! compared by the module that knows its rules. Built-in scalars and introspection types are
//! skipped: no schema author changes them, and a validated schema lists a built-in scalar
//! only while something uses it, which is not a change to the API.

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use super::annotations::{capitalized, description};
use super::inputs::{self, Owner};
use super::{Change, ChangeKind, Severity, enums, fields, members};

pub(super) fn diff(old: &Schema, new: &Schema, changes: &mut Vec<Change>) {
    for (name, old_type) in user_types(old) {
        match user_type(new, name) {
            None => changes.push(Change::new(
                Severity::Breaking,
                ChangeKind::TypeRemoved,
                name.as_str(),
                format!("{} '{name}' was removed", capitalize_kind(old_type)),
            )),
            Some(new_type) if kind(old_type) != kind(new_type) => changes.push(Change::new(
                Severity::Breaking,
                ChangeKind::TypeKindChanged,
                name.as_str(),
                format!(
                    "Type '{name}' changed from {} to {}",
                    kind(old_type),
                    kind(new_type)
                ),
            )),
            Some(new_type) => compare(name, old_type, new_type, changes),
        }
    }
    for (name, new_type) in user_types(new) {
        if user_type(old, name).is_none() {
            changes.push(Change::new(
                Severity::Safe,
                ChangeKind::TypeAdded,
                name.as_str(),
                format!("{} '{name}' was added", capitalize_kind(new_type)),
            ));
        }
    }
}

fn user_types(schema: &Schema) -> impl Iterator<Item = (&Name, &ExtendedType)> {
    schema.types.iter().filter(|(_, ty)| !ty.is_built_in())
}

fn user_type<'a>(schema: &'a Schema, name: &str) -> Option<&'a ExtendedType> {
    schema.types.get(name).filter(|ty| !ty.is_built_in())
}

/// Compares two types of the same kind and name.
fn compare(name: &str, old: &ExtendedType, new: &ExtendedType, changes: &mut Vec<Change>) {
    let phrase = format!("{} '{name}'", kind(old));
    description(
        name,
        &phrase,
        old.description().map(|d| &**d),
        new.description().map(|d| &**d),
        changes,
    );
    match (old, new) {
        (ExtendedType::Object(old), ExtendedType::Object(new)) => {
            fields::diff(name, &phrase, &old.fields, &new.fields, changes);
            members::interfaces(
                name,
                &phrase,
                &old.implements_interfaces,
                &new.implements_interfaces,
                changes,
            );
        }
        (ExtendedType::Interface(old), ExtendedType::Interface(new)) => {
            fields::diff(name, &phrase, &old.fields, &new.fields, changes);
            members::interfaces(
                name,
                &phrase,
                &old.implements_interfaces,
                &new.implements_interfaces,
                changes,
            );
        }
        (ExtendedType::Union(old), ExtendedType::Union(new)) => {
            members::union_members(name, &old.members, &new.members, changes);
        }
        (ExtendedType::Enum(old), ExtendedType::Enum(new)) => enums::diff(old, new, changes),
        (ExtendedType::InputObject(old), ExtendedType::InputObject(new)) => inputs::diff(
            Owner::InputObject(name),
            old.fields.values().map(|f| &***f),
            new.fields.values().map(|f| &***f),
            changes,
        ),
        // Scalars have nothing but a description and directives; other pairs differ in kind
        // and were reported by the caller.
        _ => {}
    }
}

/// The kind of a type as the text reports it.
fn kind(ty: &ExtendedType) -> &'static str {
    match ty {
        ExtendedType::Scalar(_) => "scalar type",
        ExtendedType::Object(_) => "object type",
        ExtendedType::Interface(_) => "interface type",
        ExtendedType::Union(_) => "union type",
        ExtendedType::Enum(_) => "enum type",
        ExtendedType::InputObject(_) => "input object type",
    }
}

fn capitalize_kind(ty: &ExtendedType) -> String {
    capitalized(kind(ty))
}
