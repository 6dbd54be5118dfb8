//! Why a supergraph was refused, with the place in the SDL that caused it.

use std::fmt;

/// A position in the supergraph SDL, 1-based, as editors show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SupergraphError {
    /// The SDL does not parse or is not a valid GraphQL schema.
    #[error("the supergraph is not a valid GraphQL schema:\n{0}")]
    InvalidSchema(String),

    /// No `@link` to the join spec: this is a plain schema, not a supergraph.
    #[error(
        "the schema has no `@link(url: \"https://specs.apollo.dev/join/v0.x\")`: it is not a Federation v2 supergraph"
    )]
    MissingJoinSpec,

    #[error("unsupported join spec version {version} (supported: v0.2 to v0.5)")]
    UnsupportedJoinVersion { version: String },

    /// A directive application that does not have the shape the join spec defines.
    #[error("{}invalid @{directive} on `{coordinate}`: {message}", at(location))]
    InvalidDirective {
        directive: String,
        coordinate: String,
        message: String,
        location: Option<Location>,
    },

    /// A `graph:` argument names a value that `join__Graph` does not declare.
    #[error(
        "{}`{coordinate}` refers to unknown subgraph `{graph}` (not a value of join__Graph)",
        at(location)
    )]
    UnknownGraph {
        graph: String,
        coordinate: String,
        location: Option<Location>,
    },

    /// A key, requires or provides field set that does not select valid fields.
    #[error(
        "{}invalid {argument} field set \"{field_set}\" on `{coordinate}`: {message}",
        at(location)
    )]
    InvalidFieldSet {
        argument: &'static str,
        field_set: String,
        coordinate: String,
        message: String,
        location: Option<Location>,
    },

    /// Removing `@inaccessible` elements left something the API schema cannot hold.
    #[error("the API schema derived from the supergraph is invalid:\n{0}")]
    InvalidApiSchema(String),
}

fn at(location: &Option<Location>) -> String {
    location.map(|l| format!("{l}: ")).unwrap_or_default()
}
