//! `gateway check`: every change between two API schemas, classified by what it does to
//! existing clients, so that CI can refuse a schema that would break them.
//!
//! [`diff`] is pure: it compares two validated schemas and returns [`Change`]s in a stable
//! order. [`load`] turns a file (plain schema or supergraph) into the schema to compare, and
//! [`render`] prints the report. Each kind of schema element is compared in its own module:
//! `roots` (root operation types), `types` (named types), `fields` (output fields), `inputs`
//! (arguments and input fields), `enums`, `members` (union members, implemented interfaces)
//! and `directives` (directive definitions); `wrapping` holds the nullability rules and
//! `annotations` descriptions and deprecations. The classification follows
//! graphql-inspector's, so results match what schema registries report.

mod annotations;
mod change;
mod directives;
mod enums;
mod fields;
mod inputs;
pub mod load;
mod members;
pub mod render;
mod roots;
mod types;
mod wrapping;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;

pub use change::{Change, ChangeKind, Severity, Summary};

/// Every change from `old` to `new`, sorted by coordinate, then kind, then message, so that
/// reports are stable and diffable across runs.
pub fn diff(old: &Valid<Schema>, new: &Valid<Schema>) -> Vec<Change> {
    let mut changes = Vec::new();
    roots::diff(old, new, &mut changes);
    types::diff(old, new, &mut changes);
    directives::diff(old, new, &mut changes);
    changes.sort_by(|a, b| {
        (&a.coordinate, a.kind, &a.message).cmp(&(&b.coordinate, b.kind, &b.message))
    });
    changes
}
