//! Enum values. Removing one breaks clients that send or expect it; adding one is dangerous
//! because a client with an exhaustive `switch` over the values may meet one it cannot handle.

use apollo_compiler::schema::EnumType;

use super::annotations::{ENUM_VALUE_DEPRECATION, deprecation, description};
use super::{Change, ChangeKind, Severity};

pub(super) fn diff(old: &EnumType, new: &EnumType, changes: &mut Vec<Change>) {
    let type_name = &old.name;
    for (value, old_value) in &old.values {
        let coordinate = format!("{type_name}.{value}");
        let Some(new_value) = new.values.get(value) else {
            changes.push(Change::new(
                Severity::Breaking,
                ChangeKind::EnumValueRemoved,
                coordinate,
                format!("Enum value '{value}' was removed from enum type '{type_name}'"),
            ));
            continue;
        };
        let element = format!("enum value '{coordinate}'");
        description(
            &coordinate,
            &element,
            old_value.description.as_deref(),
            new_value.description.as_deref(),
            changes,
        );
        deprecation(
            &coordinate,
            &element,
            &old_value.directives,
            &new_value.directives,
            &ENUM_VALUE_DEPRECATION,
            changes,
        );
    }
    for value in new.values.keys() {
        if !old.values.contains_key(value) {
            changes.push(Change::new(
                Severity::Dangerous,
                ChangeKind::EnumValueAdded,
                format!("{type_name}.{value}"),
                format!("Enum value '{value}' was added to enum type '{type_name}'"),
            ));
        }
    }
}
