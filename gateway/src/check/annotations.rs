//! Descriptions and deprecations: metadata any element may carry. Changing them never breaks
//! a client, but reviewers want to see them, so they are reported as safe.

use apollo_compiler::ast::DirectiveList;

use super::{Change, ChangeKind, Severity};

/// The reason the GraphQL spec gives `@deprecated` when none is written.
const DEFAULT_DEPRECATION_REASON: &str = "No longer supported";

/// Which kinds a deprecation change of one sort of element is reported under.
pub(super) struct DeprecationKinds {
    pub added: ChangeKind,
    pub removed: ChangeKind,
    pub reason_changed: ChangeKind,
}

pub(super) const FIELD_DEPRECATION: DeprecationKinds = DeprecationKinds {
    added: ChangeKind::FieldDeprecationAdded,
    removed: ChangeKind::FieldDeprecationRemoved,
    reason_changed: ChangeKind::FieldDeprecationReasonChanged,
};

pub(super) const ENUM_VALUE_DEPRECATION: DeprecationKinds = DeprecationKinds {
    added: ChangeKind::EnumValueDeprecationAdded,
    removed: ChangeKind::EnumValueDeprecationRemoved,
    reason_changed: ChangeKind::EnumValueDeprecationReasonChanged,
};

/// Reports a description added, removed or reworded. `element` names the element in a
/// sentence, e.g. `field 'User.email'`.
pub(super) fn description(
    coordinate: &str,
    element: &str,
    old: Option<&str>,
    new: Option<&str>,
    changes: &mut Vec<Change>,
) {
    let what = match (old, new) {
        (None, Some(_)) => "added",
        (Some(_), None) => "removed",
        (Some(old), Some(new)) if old != new => "changed",
        _ => return,
    };
    changes.push(Change::new(
        Severity::Safe,
        ChangeKind::DescriptionChanged,
        coordinate,
        format!("Description of {element} was {what}"),
    ));
}

/// Reports `@deprecated` added, removed, or its reason changed.
pub(super) fn deprecation(
    coordinate: &str,
    element: &str,
    old: &DirectiveList,
    new: &DirectiveList,
    kinds: &DeprecationKinds,
    changes: &mut Vec<Change>,
) {
    let (kind, message) = match (deprecation_reason(old), deprecation_reason(new)) {
        (None, Some(reason)) => (
            kinds.added,
            format!(
                "{} was deprecated (reason: '{reason}')",
                capitalized(element)
            ),
        ),
        (Some(_), None) => (
            kinds.removed,
            format!("{} is no longer deprecated", capitalized(element)),
        ),
        (Some(old), Some(new)) if old != new => (
            kinds.reason_changed,
            format!("Deprecation reason of {element} changed from '{old}' to '{new}'"),
        ),
        _ => return,
    };
    changes.push(Change::new(Severity::Safe, kind, coordinate, message));
}

/// The deprecation reason, with the spec's default when `@deprecated` has none.
fn deprecation_reason(directives: &DirectiveList) -> Option<&str> {
    let directive = directives.get("deprecated")?;
    Some(
        directive
            .specified_argument_by_name("reason")
            .and_then(|reason| reason.as_str())
            .unwrap_or(DEFAULT_DEPRECATION_REASON),
    )
}

/// `field 'User.email'` → `Field 'User.email'`, for the start of a sentence.
pub(super) fn capitalized(element: &str) -> String {
    let mut chars = element.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
