//! The GraphQL response as the client receives it: `data`, `errors` with locations, paths and
//! `extensions.code`, and `extensions`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One segment of a response path: an object key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathElement {
    Index(usize),
    Key(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorLocation {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphQLError {
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<ErrorLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<PathElement>>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extensions: Map<String, Value>,
}

impl GraphQLError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            locations: Vec::new(),
            path: None,
            extensions: Map::new(),
        }
    }

    /// Sets `extensions.code`, the machine-readable kind of error.
    pub fn with_code(mut self, code: &str) -> Self {
        self.extensions
            .insert("code".into(), Value::String(code.into()));
        self
    }

    pub fn with_path(mut self, path: Vec<PathElement>) -> Self {
        self.path = Some(path);
        self
    }

    pub fn with_location(mut self, line: usize, column: usize) -> Self {
        self.locations.push(ErrorLocation { line, column });
        self
    }

    pub fn with_extension(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.into(), value.into());
        self
    }
}

/// A complete GraphQL response. `data` is absent (not null) for request errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<GraphQLError>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extensions: Map<String, Value>,
}

impl Response {
    /// A response to a request that failed before execution: errors only, no `data` key.
    pub fn request_errors(errors: Vec<GraphQLError>) -> Self {
        Self {
            data: None,
            errors,
            extensions: Map::new(),
        }
    }
}
