//! Schema composition: subgraph SDLs in, a Federation v2 supergraph (or errors with codes and
//! locations) out, as `gateway compose` runs it in CI.
//!
//! Stages, one module each: [`subgraph`] reads and validates each subgraph (Federation 2
//! `@link` or Federation 1 style), [`merge`] merges them into one model, [`checks`] enforces
//! the composition rules, [`emit`] writes the supergraph SDL, and [`satisfiability`] checks
//! that every field can be reached by some plan. No I/O here: the command reads files and
//! fetches SDL from running subgraphs.

mod checks;
pub mod config;
mod contexts;
mod emit;
mod error;
mod merge;
mod model;
mod satisfiability;
mod subgraph;

use std::collections::HashSet;
use std::sync::Arc;

pub use error::{CompositionError, Place, Report};
pub use subgraph::SubgraphInput;

use crate::supergraph::Supergraph;

/// What composition produced: the supergraph SDL when there were no errors, and the report
/// (errors, hints, and the sources to render them with) either way.
#[derive(Debug)]
pub struct Composition {
    pub supergraph: Option<String>,
    pub report: Report,
}

/// Composes subgraphs into a supergraph. Subgraphs are ordered by name.
pub fn compose(mut inputs: Vec<SubgraphInput>) -> Composition {
    inputs.sort_by(|a, b| a.name.cmp(&b.name));
    let mut report = Report::default();
    let mut subgraphs = Vec::new();
    for input in &inputs {
        let (parsed, sources) = subgraph::parse(input);
        Arc::make_mut(&mut report.sources).extend(sources.iter().map(|(k, v)| (*k, v.clone())));
        match parsed {
            Ok(subgraph) => subgraphs.push(subgraph),
            Err(errors) => report.errors.extend(errors),
        }
    }
    if !report.errors.is_empty() {
        return Composition {
            supergraph: None,
            report,
        };
    }
    let mut model = merge::merge(&subgraphs, &mut report.errors, &mut report.hints);
    checks::Checker {
        subgraphs: &subgraphs,
        errors: &mut report.errors,
        hints: &mut report.hints,
    }
    .run(&mut model);
    if !report.errors.is_empty() {
        return Composition {
            supergraph: None,
            report,
        };
    }
    model.subgraphs = graph_names(&subgraphs);
    let sdl = emit::emit(&model);
    let supergraph = match Supergraph::parse(&sdl) {
        Ok(supergraph) => supergraph,
        Err(error) => {
            report.errors.push(CompositionError::new(
                "INVALID_SUPERGRAPH",
                format!("the merged subgraphs do not form a valid supergraph: {error}"),
            ));
            return Composition {
                supergraph: None,
                report,
            };
        }
    };
    for unsatisfiable in satisfiability::check(Arc::new(supergraph)) {
        // Point at the field's declarations in the subgraphs that resolve it.
        let mut error = CompositionError::new("SATISFIABILITY_ERROR", unsatisfiable.message);
        if let Some(field) = model
            .types
            .get(&unsatisfiable.type_name)
            .and_then(|t| t.fields.get(&unsatisfiable.field))
        {
            for source in field.sources.iter().filter(|s| s.resolves()) {
                error = error.at(&subgraphs[source.origin.subgraph].name, source.origin.span);
            }
        }
        report.errors.push(error);
    }
    Composition {
        supergraph: report.errors.is_empty().then_some(sdl),
        report,
    }
}

/// The `join__Graph` value of each subgraph: its name in upper case, made a valid, unique
/// GraphQL name.
fn graph_names(subgraphs: &[subgraph::Subgraph]) -> Vec<model::SubgraphEntry> {
    let mut taken = HashSet::new();
    subgraphs
        .iter()
        .map(|subgraph| {
            let mut base: String = subgraph
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
                base.insert(0, '_');
            }
            let mut graph = base.clone();
            let mut suffix = 1;
            while !taken.insert(graph.clone()) {
                graph = format!("{base}_{suffix}");
                suffix += 1;
            }
            model::SubgraphEntry {
                name: subgraph.name.clone(),
                url: subgraph.url.clone(),
                graph,
            }
        })
        .collect()
}
