//! The two report formats: aligned text for people reading CI logs, JSON for tools.

use std::fmt::Write;

use serde_json::json;

use super::{Change, Summary};

/// One line per change, `BREAKING  User.email  Field 'email' was removed…`, with the severity
/// and coordinate columns padded so that messages line up, then a summary line.
pub fn text(changes: &[Change]) -> String {
    let width = changes
        .iter()
        .map(|c| c.coordinate.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for change in changes {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:<9} {:<width$}  {}",
            change.severity.label(),
            change.coordinate,
            change.message
        );
    }
    let summary = Summary::of(changes);
    if changes.is_empty() {
        out.push_str("No changes.\n");
    } else {
        let noun = if changes.len() == 1 {
            "change"
        } else {
            "changes"
        };
        let _ = writeln!(
            out,
            "{} {noun}: {} breaking, {} dangerous, {} safe",
            changes.len(),
            summary.breaking,
            summary.dangerous,
            summary.safe
        );
    }
    out
}

/// `{"changes": [{"severity", "kind", "coordinate", "message"}], "summary": {...}}`,
/// pretty-printed.
pub fn json(changes: &[Change]) -> String {
    let report = json!({
        "changes": changes,
        "summary": Summary::of(changes),
    });
    format!("{report:#}\n")
}
