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

/// JSON the gateway wrote itself (the shaped `data`), kept as text: it goes to the client as
/// is, never parsed again.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonText(String);

impl JsonText {
    /// Wraps JSON the caller guarantees is valid (the response writer's output).
    pub(crate) fn new_unchecked(text: String) -> Self {
        Self(text)
    }

    pub fn null() -> Self {
        Self("null".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses it, for tests and tools that want a tree.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// A complete GraphQL response. `data` is absent (not null) for request errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub data: Option<JsonText>,
    pub errors: Vec<GraphQLError>,
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

    /// The response body in pieces: the head, `data` as written (not copied), and the rest
    /// serialised. Concatenated, they are [`Response::to_bytes`].
    pub fn into_chunks(mut self) -> Vec<bytes::Bytes> {
        let Some(data) = self.data.take() else {
            return vec![bytes::Bytes::from(self.to_bytes())];
        };
        let mut tail = Vec::new();
        self.write_rest(&mut tail, false);
        vec![
            bytes::Bytes::from_static(b"{\"data\":"),
            bytes::Bytes::from(data.0.into_bytes()),
            bytes::Bytes::from(tail),
        ]
    }

    /// The response body: `data` copied as written, the rest serialised.
    pub fn to_bytes(&self) -> Vec<u8> {
        let data_len = self.data.as_ref().map_or(0, |d| d.0.len());
        let mut out = Vec::with_capacity(data_len + 64);
        out.push(b'{');
        if let Some(data) = &self.data {
            out.extend_from_slice(b"\"data\":");
            out.extend_from_slice(data.0.as_bytes());
        }
        self.write_rest(&mut out, self.data.is_none());
        out
    }

    /// Writes the members after `data` (`errors`, `extensions`, each after a comma unless it
    /// comes first) and closes the object.
    fn write_rest(&self, out: &mut Vec<u8>, mut first: bool) {
        if !self.errors.is_empty() {
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(b"\"errors\":");
            let _ = serde_json::to_writer(&mut *out, &self.errors);
            first = false;
        }
        if !self.extensions.is_empty() {
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(b"\"extensions\":");
            let _ = serde_json::to_writer(&mut *out, &self.extensions);
        }
        out.push(b'}');
    }
}

impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        let mut map = serializer.serialize_map(None)?;
        if let Some(data) = &self.data {
            let raw = serde_json::value::RawValue::from_string(data.0.clone())
                .map_err(S::Error::custom)?;
            map.serialize_entry("data", &raw)?;
        }
        if !self.errors.is_empty() {
            map.serialize_entry("errors", &self.errors)?;
        }
        if !self.extensions.is_empty() {
            map.serialize_entry("extensions", &self.extensions)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chunks_are_the_bytes() {
        let data = || Some(JsonText::new_unchecked(r#"{"a":[1,"x"]}"#.into()));
        let error = || vec![GraphQLError::new("boom").with_code("SOME_CODE")];
        let mut extensions = Map::new();
        extensions.insert("cache".into(), Value::Bool(true));
        let cases = [
            Response {
                data: data(),
                ..Default::default()
            },
            Response {
                data: data(),
                errors: error(),
                extensions: extensions.clone(),
            },
            Response {
                data: Some(JsonText::null()),
                extensions,
                ..Default::default()
            },
            Response::request_errors(error()),
        ];
        for response in cases {
            let bytes = response.to_bytes();
            let chunks: Vec<u8> = response.into_chunks().concat();
            assert_eq!(
                String::from_utf8(chunks).unwrap(),
                String::from_utf8(bytes).unwrap()
            );
        }
    }
}
