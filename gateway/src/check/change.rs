//! What `gateway check` reports: one [`Change`] per difference between two API schemas, with
//! the [`Severity`] that tells a CI job whether existing clients can break.

use serde::Serialize;

/// How a change affects clients written against the old schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Some valid operation of an existing client fails or changes meaning.
    Breaking,
    /// Existing operations stay valid, but a client may see something it did not expect
    /// (a new enum value, a new union member) or a default it did not ask for.
    Dangerous,
    /// No existing operation can notice.
    Safe,
}

impl Severity {
    /// The upper-case label of the text report, so that breaking lines stand out in CI logs.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Breaking => "BREAKING",
            Severity::Dangerous => "DANGEROUS",
            Severity::Safe => "SAFE",
        }
    }
}

/// The class of a change: one variant per rule, so tools reading the JSON report can filter
/// or allow-list precisely. Serialised in `SCREAMING_SNAKE_CASE` (`FIELD_REMOVED`), the
/// convention schema registries use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    TypeAdded,
    TypeRemoved,
    TypeKindChanged,
    /// The description of any element (type, field, argument, enum value, input field,
    /// directive) was added, removed or reworded.
    DescriptionChanged,
    FieldAdded,
    FieldRemoved,
    FieldTypeChanged,
    FieldDeprecationAdded,
    FieldDeprecationRemoved,
    FieldDeprecationReasonChanged,
    ArgumentAdded,
    ArgumentRemoved,
    ArgumentTypeChanged,
    ArgumentDefaultChanged,
    EnumValueAdded,
    EnumValueRemoved,
    EnumValueDeprecationAdded,
    EnumValueDeprecationRemoved,
    EnumValueDeprecationReasonChanged,
    UnionMemberAdded,
    UnionMemberRemoved,
    InterfaceAdded,
    InterfaceRemoved,
    InputFieldAdded,
    InputFieldRemoved,
    InputFieldTypeChanged,
    InputFieldDefaultChanged,
    RootTypeAdded,
    RootTypeChanged,
    RootTypeRemoved,
    DirectiveAdded,
    DirectiveRemoved,
    DirectiveArgumentAdded,
    DirectiveArgumentRemoved,
    DirectiveArgumentTypeChanged,
    DirectiveArgumentDefaultChanged,
    DirectiveLocationAdded,
    DirectiveLocationRemoved,
    DirectiveRepeatableAdded,
    DirectiveRepeatableRemoved,
}

/// One difference between the old and the new API schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub severity: Severity,
    pub kind: ChangeKind,
    /// Where the change is, as a schema coordinate: `User`, `User.email`,
    /// `Query.users(first:)`, `Role.ADMIN`, `@auth`, `@auth(role:)`; root operations are
    /// `schema.query`, `schema.mutation` and `schema.subscription`.
    pub coordinate: String,
    /// One sentence for a person, naming the element and what happened to it.
    pub message: String,
}

impl Change {
    pub fn new(
        severity: Severity,
        kind: ChangeKind,
        coordinate: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            kind,
            coordinate: coordinate.into(),
            message: message.into(),
        }
    }
}

/// How many changes of each severity: the last line of the text report, the `summary` of the
/// JSON one, and what the exit code is decided on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub breaking: usize,
    pub dangerous: usize,
    pub safe: usize,
}

impl Summary {
    pub fn of(changes: &[Change]) -> Self {
        let mut summary = Self::default();
        for change in changes {
            match change.severity {
                Severity::Breaking => summary.breaking += 1,
                Severity::Dangerous => summary.dangerous += 1,
                Severity::Safe => summary.safe += 1,
            }
        }
        summary
    }
}
