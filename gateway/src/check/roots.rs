//! Root operation types. Every operation starts at one, so pointing `query` at another type
//! or dropping `mutation` breaks every operation of that kind; adding a root is safe.

use apollo_compiler::Schema;
use apollo_compiler::schema::ComponentName;

use super::{Change, ChangeKind, Severity};

pub(super) fn diff(old: &Schema, new: &Schema, changes: &mut Vec<Change>) {
    let (old, new) = (&old.schema_definition, &new.schema_definition);
    compare("query", old.query.as_ref(), new.query.as_ref(), changes);
    compare(
        "mutation",
        old.mutation.as_ref(),
        new.mutation.as_ref(),
        changes,
    );
    compare(
        "subscription",
        old.subscription.as_ref(),
        new.subscription.as_ref(),
        changes,
    );
}

fn compare(
    operation: &str,
    old: Option<&ComponentName>,
    new: Option<&ComponentName>,
    changes: &mut Vec<Change>,
) {
    let coordinate = format!("schema.{operation}");
    let change = match (old, new) {
        (None, Some(new)) => Change::new(
            Severity::Safe,
            ChangeKind::RootTypeAdded,
            coordinate,
            format!("Root {operation} type '{}' was added", new.name),
        ),
        (Some(old), None) => Change::new(
            Severity::Breaking,
            ChangeKind::RootTypeRemoved,
            coordinate,
            format!("Root {operation} type '{}' was removed", old.name),
        ),
        (Some(old), Some(new)) if old.name != new.name => Change::new(
            Severity::Breaking,
            ChangeKind::RootTypeChanged,
            coordinate,
            format!(
                "Root {operation} type changed from '{}' to '{}'",
                old.name, new.name
            ),
        ),
        _ => return,
    };
    changes.push(change);
}
