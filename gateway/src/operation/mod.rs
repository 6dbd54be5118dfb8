//! A client operation from text to the normalised form the planner reads: parse and validate
//! against the API schema (apollo-compiler), pick the operation, coerce variables, normalise.

mod client_directives;
pub mod defer;
mod normalize;
pub mod selection;

use std::collections::HashMap;
use std::sync::Arc;

use apollo_compiler::ast::OperationType;
use apollo_compiler::executable::{ExecutableDocument, Operation};
use apollo_compiler::parser::Parser;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};
use serde_json::{Map, Value};

pub use client_directives::with_client_directives;
pub use defer::{DeferPathStep, DeferredFragment};
pub use normalize::{normalize, normalize_deferring};
pub use selection::SelectionSet;

use crate::limits::{Limit, LimitExceeded, LimitsConfig};
use crate::response::GraphQLError;

/// The API schema with the lookups every request needs, computed once.
#[derive(Debug)]
pub struct ApiSchema {
    schema: Arc<Valid<Schema>>,
    possible_types: HashMap<Name, Vec<Name>>,
}

impl ApiSchema {
    pub fn new(schema: Arc<Valid<Schema>>) -> Self {
        let mut possible_types: HashMap<Name, Vec<Name>> = HashMap::new();
        for ty in schema.types.values() {
            match ty {
                ExtendedType::Object(object) => {
                    possible_types
                        .entry(object.name.clone())
                        .or_default()
                        .push(object.name.clone());
                    for interface in &object.implements_interfaces {
                        possible_types
                            .entry(interface.name.clone())
                            .or_default()
                            .push(object.name.clone());
                    }
                }
                ExtendedType::Union(union) => {
                    possible_types
                        .entry(union.name.clone())
                        .or_default()
                        .extend(union.members.iter().map(|m| m.name.clone()));
                }
                _ => {}
            }
        }
        Self {
            schema,
            possible_types,
        }
    }

    pub fn schema(&self) -> &Arc<Valid<Schema>> {
        &self.schema
    }

    /// The object types a value of `type_name` can have (itself for an object type).
    pub fn possible_types(&self, type_name: &str) -> &[Name] {
        self.possible_types
            .get(type_name)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether an object of type `object` is a value of type `type_name`.
    pub fn is_possible_type(&self, type_name: &str, object: &str) -> bool {
        type_name == object || self.possible_types(type_name).iter().any(|t| t == object)
    }

    pub fn is_abstract(&self, type_name: &str) -> bool {
        matches!(
            self.schema.types.get(type_name),
            Some(ExtendedType::Interface(_) | ExtendedType::Union(_))
        )
    }
}

/// An operation ready for planning: its selection normalised for one set of `@skip`/`@include`
/// conditions.
#[derive(Debug, Clone)]
pub struct NormalizedOperation {
    pub name: Option<Name>,
    pub kind: OperationType,
    pub root_type: Name,
    pub selection_set: SelectionSet,
    pub variables: Vec<Node<apollo_compiler::ast::VariableDefinition>>,
    /// The fragments marked `@defer`, when deferring was asked for (see
    /// [`NormalizedOperation::new_deferring`]); their selections are not in `selection_set`.
    pub deferred: Vec<DeferredFragment>,
}

impl NormalizedOperation {
    /// Normalises `operation` from `document`; `condition` gives the value of each Boolean
    /// variable that `@skip`/`@include` use.
    pub fn new(
        schema: &ApiSchema,
        document: &ExecutableDocument,
        operation: &Operation,
        condition: &dyn Fn(&str) -> bool,
    ) -> Self {
        Self {
            name: operation.name.clone(),
            kind: operation.operation_type,
            root_type: operation.object_type().clone(),
            selection_set: normalize(schema, document, operation, condition),
            variables: operation.variables.clone(),
            deferred: Vec::new(),
        }
    }

    /// As [`NormalizedOperation::new`], with the fragments marked `@defer` set apart in
    /// `deferred`.
    pub fn new_deferring(
        schema: &ApiSchema,
        document: &ExecutableDocument,
        operation: &Operation,
        condition: &dyn Fn(&str) -> bool,
    ) -> Self {
        let (selection_set, deferred) = normalize_deferring(schema, document, operation, condition);
        Self {
            name: operation.name.clone(),
            kind: operation.operation_type,
            root_type: operation.object_type().clone(),
            selection_set,
            variables: operation.variables.clone(),
            deferred,
        }
    }

    /// Whether the operation has deferred fragments.
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }
}

/// Why a request could not be executed at all. Each becomes a GraphQL request error.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error("the query does not parse or is not valid against the schema")]
    Invalid(Vec<GraphQLError>),
    #[error("unknown operation named \"{0}\"")]
    UnknownOperation(String),
    #[error("the document contains several operations: operationName is required")]
    OperationNameRequired,
    #[error("the document contains no operation")]
    NoOperation,
    #[error("{message}")]
    InvalidVariables {
        message: String,
        location: Option<(usize, usize)>,
    },
    #[error(
        "subscriptions need a streaming transport: a WebSocket (graphql-transport-ws or \
         graphql-ws), SSE (Accept: text/event-stream) or multipart \
         (Accept: multipart/mixed;subscriptionSpec=\"1.0\")"
    )]
    SubscriptionUnsupported,
    #[error("subscriptions are disabled on this gateway (subscriptions.enabled)")]
    SubscriptionsDisabled,
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
}

impl OperationError {
    /// The error as the client sees it, with the `extensions.code` clients switch on.
    pub fn to_graphql_errors(&self) -> Vec<GraphQLError> {
        match self {
            OperationError::Invalid(errors) => errors.clone(),
            OperationError::InvalidVariables { message, location } => {
                let mut error = GraphQLError::new(message.clone()).with_code("BAD_USER_INPUT");
                if let Some((line, column)) = location {
                    error = error.with_location(*line, *column);
                }
                vec![error]
            }
            OperationError::UnknownOperation(_)
            | OperationError::OperationNameRequired
            | OperationError::NoOperation => {
                vec![GraphQLError::new(self.to_string()).with_code("GRAPHQL_VALIDATION_FAILED")]
            }
            OperationError::SubscriptionUnsupported | OperationError::SubscriptionsDisabled => {
                vec![GraphQLError::new(self.to_string()).with_code("SUBSCRIPTION_UNSUPPORTED")]
            }
            OperationError::Limit(exceeded) => vec![exceeded.to_graphql_error()],
        }
    }
}

/// A parsed and validated document, with what parsing it counted.
pub struct ParsedDocument {
    pub document: Valid<ExecutableDocument>,
    /// Tokens the lexer produced: a measure of the document's size in memory.
    pub tokens: usize,
}

/// Parses and validates a document against the API schema. The parser stops at the token and
/// recursion limits, so a huge or deeply nested document costs no more than the limit.
pub fn parse_document(
    schema: &ApiSchema,
    query: &str,
    limits: &LimitsConfig,
) -> Result<ParsedDocument, OperationError> {
    let mut parser = Parser::new();
    if limits.max_tokens > 0 {
        parser = parser.token_limit(limits.max_tokens);
    }
    if limits.max_recursion > 0 {
        parser = parser.recursion_limit(limits.max_recursion);
    }
    let parsed = parser.parse_executable(schema.schema(), query, "operation.graphql");
    let over = |limit: Limit, reached: usize, max: usize| {
        (max > 0 && reached > max).then_some(LimitExceeded {
            limit,
            value: reached as u64,
            max: max as u64,
        })
    };
    if let Some(exceeded) =
        over(Limit::Tokens, parser.tokens_reached(), limits.max_tokens).or_else(|| {
            over(
                Limit::Recursion,
                parser.recursion_reached(),
                limits.max_recursion,
            )
        })
    {
        return Err(exceeded.into());
    }
    let validated = match parsed {
        Ok(document) => document.validate(schema.schema()),
        Err(with_errors) => Err(with_errors),
    };
    let document = validated.map_err(|with_errors| {
        let errors = with_errors
            .errors
            .iter()
            .map(|diagnostic| {
                let json = diagnostic.to_json();
                let mut error =
                    GraphQLError::new(json.message).with_code("GRAPHQL_VALIDATION_FAILED");
                error.locations = json
                    .locations
                    .iter()
                    .map(|l| crate::response::ErrorLocation {
                        line: l.line,
                        column: l.column,
                    })
                    .collect();
                error
            })
            .collect();
        OperationError::Invalid(errors)
    })?;
    Ok(ParsedDocument {
        document,
        tokens: parser.tokens_reached(),
    })
}

/// Picks the operation to run: by name, or the only one.
pub fn select_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Result<&'a Node<Operation>, OperationError> {
    match name {
        Some(name) => document
            .operations
            .named
            .get(name)
            .ok_or_else(|| OperationError::UnknownOperation(name.to_string())),
        None => {
            let count = document.operations.named.len()
                + usize::from(document.operations.anonymous.is_some());
            match count {
                0 => Err(OperationError::NoOperation),
                1 => Ok(document
                    .operations
                    .anonymous
                    .as_ref()
                    .or_else(|| document.operations.named.values().next())
                    .expect("one operation")),
                _ => Err(OperationError::OperationNameRequired),
            }
        }
    }
}

/// Coerces the request's variables as the spec's CoerceVariableValues does (defaults applied,
/// types checked), returning them as JSON.
pub fn coerce_variables(
    schema: &ApiSchema,
    document: &ExecutableDocument,
    operation: &Operation,
    variables: &Map<String, Value>,
) -> Result<Map<String, Value>, OperationError> {
    if operation.variables.is_empty() {
        return Ok(Map::new());
    }
    let input: apollo_compiler::response::JsonMap = variables
        .iter()
        .map(|(k, v)| (k.as_str().into(), serde_json_bytes::Value::from(v.clone())))
        .collect();
    let coerced =
        apollo_compiler::request::coerce_variable_values(schema.schema(), operation, &input)
            .map_err(|e| OperationError::InvalidVariables {
                message: e.message().to_string(),
                location: e
                    .location()
                    .and_then(|span| span.line_column(&document.sources))
                    .map(|lc| (lc.line, lc.column)),
            })?;
    Ok(coerced
        .into_inner()
        .into_iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                serde_json::to_value(v).unwrap_or(Value::Null),
            )
        })
        .collect())
}

/// The operation kind, as the planner and the HTTP layer need it.
pub fn is_mutation(operation: &Operation) -> bool {
    operation.operation_type == OperationType::Mutation
}
