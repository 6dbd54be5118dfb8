//! Operation limits: how large a document and its operation may be, checked after validation
//! and before any normalising or planning, so that the cost of a request is known before work
//! starts. Parser limits (tokens, recursion) are applied while parsing, in [`crate::operation`].

mod config;
mod cost;
mod measure;

pub use config::LimitsConfig;
pub use cost::{
    COST_ESTIMATED_TOO_EXPENSIVE, CostCalculator, DemandControlConfig, DemandControlMode,
};
pub use measure::{OperationMeasures, max_directives, measure};

use apollo_compiler::ExecutableDocument;

use crate::response::GraphQLError;

/// Which limit a request went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Tokens,
    Recursion,
    Depth,
    Height,
    Aliases,
    RootFields,
    Fields,
    Directives,
    Fragments,
}

impl Limit {
    /// The `extensions.code` clients see.
    pub fn code(self) -> &'static str {
        match self {
            Limit::Tokens => "MAX_TOKENS_EXCEEDED",
            Limit::Recursion => "MAX_RECURSION_EXCEEDED",
            Limit::Depth => "MAX_DEPTH_EXCEEDED",
            Limit::Height => "MAX_HEIGHT_EXCEEDED",
            Limit::Aliases => "MAX_ALIASES_EXCEEDED",
            Limit::RootFields => "MAX_ROOT_FIELDS_EXCEEDED",
            Limit::Fields => "MAX_FIELDS_EXCEEDED",
            Limit::Directives => "MAX_DIRECTIVES_EXCEEDED",
            Limit::Fragments => "MAX_FRAGMENTS_EXCEEDED",
        }
    }

    /// The config key that sets it, under `limits:`.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Tokens => "max_tokens",
            Limit::Recursion => "max_recursion",
            Limit::Depth => "max_depth",
            Limit::Height => "max_height",
            Limit::Aliases => "max_aliases",
            Limit::RootFields => "max_root_fields",
            Limit::Fields => "max_fields",
            Limit::Directives => "max_directives",
            Limit::Fragments => "max_fragments",
        }
    }

    fn measured(self) -> &'static str {
        match self {
            Limit::Tokens => "tokens in the document",
            Limit::Recursion => "nesting levels in the document",
            Limit::Depth => "the operation's depth",
            Limit::Height => "distinct fields in the operation",
            Limit::Aliases => "aliases in the operation",
            Limit::RootFields => "root fields in the operation",
            Limit::Fields => "fields in the operation with its fragments expanded",
            Limit::Directives => "directives on one selection",
            Limit::Fragments => "fragments in the document",
        }
    }
}

/// A request over one of the limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {value} is over the limit of {max} (limits.{})", .limit.measured(), .limit.key())]
pub struct LimitExceeded {
    pub limit: Limit,
    /// What the request has (for the parser limits: the count at which parsing stopped).
    pub value: u64,
    pub max: u64,
}

impl LimitExceeded {
    pub fn to_graphql_error(&self) -> GraphQLError {
        GraphQLError::new(self.to_string())
            .with_code(self.limit.code())
            .with_extension("limit", self.limit.key())
            .with_extension("max", self.max)
            .with_extension("value", self.value)
    }
}

/// `value` against a limit; 0 means the limit is off.
fn within(limit: Limit, value: u64, max: u64) -> Result<(), LimitExceeded> {
    if max != 0 && value > max {
        Err(LimitExceeded { limit, value, max })
    } else {
        Ok(())
    }
}

impl LimitsConfig {
    /// The limits on the document as a whole: its fragments and directives.
    pub fn check_document(&self, document: &ExecutableDocument) -> Result<(), LimitExceeded> {
        within(
            Limit::Fragments,
            document.fragments.len() as u64,
            self.max_fragments,
        )?;
        within(
            Limit::Directives,
            max_directives(document) as u64,
            self.max_directives,
        )
    }

    /// The limits on one operation, from its measures.
    pub fn check_operation(&self, measures: &OperationMeasures) -> Result<(), LimitExceeded> {
        within(Limit::Depth, measures.depth, self.max_depth)?;
        within(
            Limit::RootFields,
            measures.root_fields,
            self.max_root_fields,
        )?;
        within(Limit::Aliases, measures.aliases, self.max_aliases)?;
        within(Limit::Height, measures.height, self.max_height)?;
        within(Limit::Fields, measures.fields, self.max_fields)
    }

    /// Keeps at most `max_errors` errors, the last of them saying how many were left out.
    pub fn cap_errors(&self, errors: &mut Vec<GraphQLError>) {
        let max = self.max_errors;
        if max == 0 || errors.len() <= max {
            return;
        }
        let left_out = errors.len() - (max - 1);
        errors.truncate(max - 1);
        errors.push(
            GraphQLError::new(format!(
                "{left_out} more errors were left out (limits.max_errors is {max})"
            ))
            .with_code("TOO_MANY_ERRORS"),
        );
    }
}

#[cfg(test)]
mod tests;
