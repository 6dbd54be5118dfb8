//! Composition errors and hints: a code (the names federation composition documents, such as
//! `INVALID_FIELD_SHARING`), a message naming subgraph, type and field, and the places in the
//! subgraphs' SDL, rendered with source snippets the way apollo-compiler renders diagnostics.

use std::fmt;

use apollo_compiler::diagnostic::{CliReport, Color, ToCliReport};
use apollo_compiler::parser::{SourceMap, SourceSpan};
use serde::Serialize;

/// A place in one subgraph's SDL.
#[derive(Debug, Clone)]
pub struct Place {
    pub subgraph: String,
    pub span: Option<SourceSpan>,
}

#[derive(Debug, Clone)]
pub struct CompositionError {
    /// The federation error code, e.g. `EXTERNAL_MISSING_ON_BASE`.
    pub code: &'static str,
    pub message: String,
    /// Where the problem is; the first place is the main one.
    pub places: Vec<Place>,
}

impl CompositionError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            places: Vec::new(),
        }
    }

    pub fn at(mut self, subgraph: &str, span: Option<SourceSpan>) -> Self {
        self.places.push(Place {
            subgraph: subgraph.to_string(),
            span,
        });
        self
    }
}

impl fmt::Display for CompositionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl ToCliReport for CompositionError {
    fn location(&self) -> Option<SourceSpan> {
        self.places.iter().find_map(|p| p.span)
    }

    fn report(&self, report: &mut CliReport<'_>) {
        for place in &self.places {
            report.with_label_opt(place.span, format!("in subgraph \"{}\"", place.subgraph));
        }
    }
}

/// Something worth knowing that does not stop composition (e.g. an input field dropped
/// because not every subgraph declares it).
pub type CompositionHint = CompositionError;

/// The outcome of a composition, with the sources needed to render it.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub errors: Vec<CompositionError>,
    pub hints: Vec<CompositionHint>,
    pub sources: SourceMap,
}

#[derive(Serialize)]
struct JsonLocation {
    subgraph: String,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
}

#[derive(Serialize)]
struct JsonItem {
    code: &'static str,
    message: String,
    locations: Vec<JsonLocation>,
}

impl Report {
    /// Errors then hints, each with its source snippets (no colour).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for (label, items) in [("error", &self.errors), ("hint", &self.hints)] {
            for item in items.iter() {
                let mut report = item.to_report(&self.sources, Color::Never);
                if label == "hint" {
                    report.with_note("hint: composition continues");
                }
                out.push_str(&report.into_string());
            }
        }
        out
    }

    /// The same for machines: `{"errors": [...], "hints": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let items = |list: &[CompositionError]| -> Vec<JsonItem> {
            list.iter()
                .map(|e| JsonItem {
                    code: e.code,
                    message: e.message.clone(),
                    locations: e
                        .places
                        .iter()
                        .map(|p| {
                            let file = p.span.and_then(|s| {
                                self.sources
                                    .get(&s.file_id())
                                    .map(|f| f.path().display().to_string())
                            });
                            let lc = p.span.and_then(|s| s.line_column(&self.sources));
                            JsonLocation {
                                subgraph: p.subgraph.clone(),
                                file,
                                line: lc.as_ref().map(|l| l.line),
                                column: lc.as_ref().map(|l| l.column),
                            }
                        })
                        .collect(),
                })
                .collect()
        };
        serde_json::json!({ "errors": items(&self.errors), "hints": items(&self.hints) })
    }
}
