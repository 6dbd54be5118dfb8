//! Input values: field arguments, directive arguments and input object fields. They share
//! the rules of what a client sends: a new required value breaks every operation that omits
//! it, and a type may only widen (lose non-null).

use apollo_compiler::ast::{InputValueDefinition, Value};

use super::annotations::{capitalized, description};
use super::wrapping::is_safe_input_change;
use super::{Change, ChangeKind, Severity};

/// What owns the input values being compared, which decides their coordinates, wording and
/// change kinds.
#[derive(Clone, Copy)]
pub(super) enum Owner<'a> {
    /// The arguments of a field; holds the field's coordinate, `Query.users`.
    Field(&'a str),
    /// The arguments of a directive definition; holds its name without `@`.
    Directive(&'a str),
    /// The fields of an input object type; holds the type's name.
    InputObject(&'a str),
}

struct Kinds {
    added: ChangeKind,
    removed: ChangeKind,
    type_changed: ChangeKind,
    default_changed: ChangeKind,
    /// The severity of a new value clients may omit. As graphql-inspector has it, a new
    /// optional argument or input field is dangerous (the resolver behind it may now behave
    /// differently for existing operations); a new optional directive argument is safe.
    optional_added: Severity,
}

impl Owner<'_> {
    fn kinds(self) -> Kinds {
        match self {
            Owner::Field(_) => Kinds {
                added: ChangeKind::ArgumentAdded,
                removed: ChangeKind::ArgumentRemoved,
                type_changed: ChangeKind::ArgumentTypeChanged,
                default_changed: ChangeKind::ArgumentDefaultChanged,
                optional_added: Severity::Dangerous,
            },
            Owner::Directive(_) => Kinds {
                added: ChangeKind::DirectiveArgumentAdded,
                removed: ChangeKind::DirectiveArgumentRemoved,
                type_changed: ChangeKind::DirectiveArgumentTypeChanged,
                default_changed: ChangeKind::DirectiveArgumentDefaultChanged,
                optional_added: Severity::Safe,
            },
            Owner::InputObject(_) => Kinds {
                added: ChangeKind::InputFieldAdded,
                removed: ChangeKind::InputFieldRemoved,
                type_changed: ChangeKind::InputFieldTypeChanged,
                default_changed: ChangeKind::InputFieldDefaultChanged,
                optional_added: Severity::Dangerous,
            },
        }
    }

    /// The owner in a sentence: `field 'Query.users'`.
    fn phrase(self) -> String {
        match self {
            Owner::Field(field) => format!("field '{field}'"),
            Owner::Directive(name) => format!("directive '@{name}'"),
            Owner::InputObject(name) => format!("input object type '{name}'"),
        }
    }

    /// What one of its values is called: `argument` or `input field`.
    fn noun(self) -> &'static str {
        match self {
            Owner::Field(_) | Owner::Directive(_) => "argument",
            Owner::InputObject(_) => "input field",
        }
    }

    /// The coordinate of one of its values: `Query.users(first:)`, `@auth(role:)`,
    /// `UserFilter.role`.
    fn coordinate(self, value: &str) -> String {
        match self {
            Owner::Field(field) => format!("{field}({value}:)"),
            Owner::Directive(name) => format!("@{name}({value}:)"),
            Owner::InputObject(name) => format!("{name}.{value}"),
        }
    }
}

/// Compares the input values `owner` has in the old and in the new schema.
pub(super) fn diff<'a>(
    owner: Owner<'_>,
    old: impl IntoIterator<Item = &'a InputValueDefinition>,
    new: impl IntoIterator<Item = &'a InputValueDefinition>,
    changes: &mut Vec<Change>,
) {
    let old: Vec<&InputValueDefinition> = old.into_iter().collect();
    let new: Vec<&InputValueDefinition> = new.into_iter().collect();
    let kinds = owner.kinds();
    let noun = owner.noun();
    for old_value in &old {
        let coordinate = owner.coordinate(&old_value.name);
        match new.iter().find(|v| v.name == old_value.name) {
            None => changes.push(Change::new(
                Severity::Breaking,
                kinds.removed,
                coordinate,
                format!(
                    "{} '{}' was removed from {}",
                    capitalized(noun),
                    old_value.name,
                    owner.phrase()
                ),
            )),
            Some(new_value) => {
                compare(&coordinate, noun, &kinds, old_value, new_value, changes);
            }
        }
    }
    for new_value in &new {
        if old.iter().any(|v| v.name == new_value.name) {
            continue;
        }
        let (severity, what) = if new_value.is_required() {
            (Severity::Breaking, format!("Required {noun}"))
        } else {
            (kinds.optional_added, capitalized(noun))
        };
        let default = new_value
            .default_value
            .as_ref()
            .map(|value| format!(" = {}", graphql_text(value)))
            .unwrap_or_default();
        changes.push(Change::new(
            severity,
            kinds.added,
            owner.coordinate(&new_value.name),
            format!(
                "{what} '{}: {}{default}' was added to {}",
                new_value.name,
                new_value.ty,
                owner.phrase()
            ),
        ));
    }
}

/// Compares one input value present on both sides.
fn compare(
    coordinate: &str,
    noun: &str,
    kinds: &Kinds,
    old: &InputValueDefinition,
    new: &InputValueDefinition,
    changes: &mut Vec<Change>,
) {
    let element = format!("{noun} '{coordinate}'");
    if old.ty != new.ty {
        let severity = if is_safe_input_change(&old.ty, &new.ty) {
            Severity::Safe
        } else {
            Severity::Breaking
        };
        changes.push(Change::new(
            severity,
            kinds.type_changed,
            coordinate,
            format!(
                "Type of {element} changed from '{}' to '{}'",
                old.ty, new.ty
            ),
        ));
    }
    let old_default = old.default_value.as_deref().map(graphql_text);
    let new_default = new.default_value.as_deref().map(graphql_text);
    let message = match (&old_default, &new_default) {
        (None, Some(new)) => Some(format!("Default value '{new}' was added to {element}")),
        (Some(old), None) => Some(format!("Default value '{old}' was removed from {element}")),
        (Some(old), Some(new)) if old != new => Some(format!(
            "Default value of {element} changed from '{old}' to '{new}'"
        )),
        _ => None,
    };
    if let Some(message) = message {
        // Dropping the default of a non-null value that keeps its type makes it required:
        // every operation that omitted it now fails. A type change reports that already.
        let now_required = old.ty == new.ty && !old.is_required() && new.is_required();
        let (severity, message) = if now_required {
            (
                Severity::Breaking,
                format!("{message}, which makes it required"),
            )
        } else {
            (Severity::Dangerous, message)
        };
        changes.push(Change::new(
            severity,
            kinds.default_changed,
            coordinate,
            message,
        ));
    }
    description(
        coordinate,
        &element,
        old.description.as_deref(),
        new.description.as_deref(),
        changes,
    );
}

/// A value as GraphQL on one line (`["a", "b"]`): how defaults are compared, which ignores
/// where and how they were written, and how messages show them.
fn graphql_text(value: &Value) -> String {
    value.serialize().no_indent().to_string()
}
