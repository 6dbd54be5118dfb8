//! Which object types an abstract type can resolve to: union members and implemented
//! interfaces. Removing a link breaks fragments on it; adding one is dangerous because
//! clients may receive a `__typename` they have no branch for.

use apollo_compiler::collections::IndexSet;
use apollo_compiler::schema::ComponentName;

use super::annotations::capitalized;
use super::{Change, ChangeKind, Severity};

/// Compares the members of union `union_name`.
pub(super) fn union_members(
    union_name: &str,
    old: &IndexSet<ComponentName>,
    new: &IndexSet<ComponentName>,
    changes: &mut Vec<Change>,
) {
    for member in old.difference(new) {
        changes.push(Change::new(
            Severity::Breaking,
            ChangeKind::UnionMemberRemoved,
            union_name,
            format!(
                "Member '{}' was removed from union type '{union_name}'",
                member.name
            ),
        ));
    }
    for member in new.difference(old) {
        changes.push(Change::new(
            Severity::Dangerous,
            ChangeKind::UnionMemberAdded,
            union_name,
            format!(
                "Member '{}' was added to union type '{union_name}'",
                member.name
            ),
        ));
    }
}

/// Compares the interfaces that `type_phrase` (`object type 'User'`) at `type_name`
/// implements.
pub(super) fn interfaces(
    type_name: &str,
    type_phrase: &str,
    old: &IndexSet<ComponentName>,
    new: &IndexSet<ComponentName>,
    changes: &mut Vec<Change>,
) {
    let phrase = capitalized(type_phrase);
    for interface in old.difference(new) {
        changes.push(Change::new(
            Severity::Breaking,
            ChangeKind::InterfaceRemoved,
            type_name,
            format!(
                "{phrase} no longer implements interface '{}'",
                interface.name
            ),
        ));
    }
    for interface in new.difference(old) {
        changes.push(Change::new(
            Severity::Dangerous,
            ChangeKind::InterfaceAdded,
            type_name,
            format!("{phrase} now implements interface '{}'", interface.name),
        ));
    }
}
