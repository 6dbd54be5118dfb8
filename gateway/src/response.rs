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
    /// What the HTTP response says besides the body.
    pub meta: ResponseMeta,
}

impl Response {
    /// A response to a request that failed before execution: errors only, no `data` key.
    pub fn request_errors(errors: Vec<GraphQLError>) -> Self {
        Self {
            data: None,
            errors,
            extensions: Map::new(),
            meta: ResponseMeta::default(),
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

/// What the HTTP response carries besides the body: its `Cache-Control`, and headers taken
/// from subgraph answers by the header rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseMeta {
    pub cache: CachePolicy,
    pub headers: Vec<PropagatedHeader>,
}

/// How long a client (or a CDN) may keep a response: the strictest of its parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CachePolicy {
    /// Not to be kept: what the gateway answers unless every part said otherwise.
    #[default]
    NoStore,
    /// Fresh for `seconds`; `private`: for this user only (not in a shared cache).
    MaxAge { seconds: u64, private: bool },
}

impl CachePolicy {
    /// The policy of a response made of parts under `self` and `other`: the shorter life,
    /// private if either is.
    pub fn and(self, other: CachePolicy) -> CachePolicy {
        match (self, other) {
            (
                CachePolicy::MaxAge {
                    seconds: a,
                    private: p,
                },
                CachePolicy::MaxAge {
                    seconds: b,
                    private: q,
                },
            ) if a.min(b) > 0 => CachePolicy::MaxAge {
                seconds: a.min(b),
                private: p || q,
            },
            _ => CachePolicy::NoStore,
        }
    }

    /// The `Cache-Control` header value.
    pub fn header_value(&self) -> http::HeaderValue {
        match self {
            CachePolicy::NoStore => http::HeaderValue::from_static("no-store"),
            CachePolicy::MaxAge { seconds, private } => {
                let scope = if *private { "private" } else { "public" };
                http::HeaderValue::from_str(&format!("max-age={seconds}, {scope}"))
                    .unwrap_or_else(|_| http::HeaderValue::from_static("no-store"))
            }
        }
    }
}

/// How values of one header from several subgraph answers combine, in the order the answers
/// arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// The first answer's value.
    First,
    /// The last answer's value.
    #[default]
    Last,
    /// Every value, as repeated header lines.
    Append,
    /// Space-separated words, each once, in one line (surrogate keys; not for config).
    #[serde(skip)]
    Words,
}

/// The longest surrogate-key line written (CDNs cap theirs: Fastly at 16 KB, Cloudflare's
/// `Cache-Tag` at 16 KB in all).
const MAX_WORDS_BYTES: usize = 8 * 1024;

/// A client response header taken from a subgraph's answer by a header rule.
#[derive(Debug, Clone, PartialEq)]
pub struct PropagatedHeader {
    pub name: http::HeaderName,
    pub value: http::HeaderValue,
    pub algorithm: Algorithm,
}

impl ResponseMeta {
    /// Writes the propagated headers into `headers`, combining repeated ones by their
    /// algorithm.
    pub fn write_headers(&self, headers: &mut http::HeaderMap) {
        let mut seen: Vec<&http::HeaderName> = Vec::new();
        let mut words: Vec<(&http::HeaderName, std::collections::BTreeSet<&str>)> = Vec::new();
        for header in &self.headers {
            let first_time = !seen.contains(&&header.name);
            match header.algorithm {
                Algorithm::Words => {
                    let text = header.value.to_str().unwrap_or_default();
                    match words.iter_mut().find(|(name, _)| **name == header.name) {
                        Some((_, set)) => set.extend(text.split(' ')),
                        None => words.push((&header.name, text.split(' ').collect())),
                    }
                }
                Algorithm::First if first_time => {
                    headers.insert(header.name.clone(), header.value.clone());
                }
                Algorithm::First => {}
                Algorithm::Last => {
                    headers.insert(header.name.clone(), header.value.clone());
                }
                Algorithm::Append if first_time => {
                    headers.insert(header.name.clone(), header.value.clone());
                }
                Algorithm::Append => {
                    headers.append(header.name.clone(), header.value.clone());
                }
            }
            if first_time {
                seen.push(&header.name);
            }
        }
        for (name, set) in words {
            let mut line = set.iter().copied().collect::<Vec<_>>().join(" ");
            if line.len() > MAX_WORDS_BYTES {
                // Too many entities to name: their types still purge them all.
                line = set
                    .iter()
                    .filter(|word| !word.contains('{'))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            if let Ok(value) = http::HeaderValue::from_str(&line) {
                headers.insert(name.clone(), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_lives_as_long_as_its_shortest_lived_part() {
        let age = |seconds, private| CachePolicy::MaxAge { seconds, private };
        assert_eq!(age(60, false).and(age(30, false)), age(30, false));
        assert_eq!(age(60, true).and(age(90, false)), age(60, true));
        assert_eq!(
            age(60, false).and(CachePolicy::NoStore),
            CachePolicy::NoStore
        );
        assert_eq!(age(0, false).and(age(10, false)), CachePolicy::NoStore);
        assert_eq!(age(30, true).header_value(), "max-age=30, private");
        assert_eq!(CachePolicy::NoStore.header_value(), "no-store");
    }

    #[test]
    fn propagated_headers_combine_by_their_algorithm() {
        let header = |name: &'static str, value: &'static str, algorithm| PropagatedHeader {
            name: http::HeaderName::from_static(name),
            value: http::HeaderValue::from_static(value),
            algorithm,
        };
        let meta = ResponseMeta {
            headers: vec![
                header("x-first", "1", Algorithm::First),
                header("x-last", "1", Algorithm::Last),
                header("x-all", "1", Algorithm::Append),
                header("x-first", "2", Algorithm::First),
                header("x-last", "2", Algorithm::Last),
                header("x-all", "2", Algorithm::Append),
            ],
            ..Default::default()
        };
        let mut headers = http::HeaderMap::new();
        headers.insert("x-all", http::HeaderValue::from_static("old"));
        meta.write_headers(&mut headers);
        let all = |name| {
            headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(all("x-first"), ["1"]);
        assert_eq!(all("x-last"), ["2"]);
        assert_eq!(all("x-all"), ["1", "2"]);
    }

    #[test]
    fn surrogate_keys_are_one_line_of_distinct_words_with_types_kept_when_too_long() {
        let words = |value: String| PropagatedHeader {
            name: http::HeaderName::from_static("surrogate-key"),
            value: http::HeaderValue::from_str(&value).unwrap(),
            algorithm: Algorithm::Words,
        };
        let meta = ResponseMeta {
            headers: vec![
                words("p:Product p:Product:{\"upc\":\"1\"}".into()),
                words("i:Product p:Product".into()),
            ],
            ..Default::default()
        };
        let mut headers = http::HeaderMap::new();
        meta.write_headers(&mut headers);
        assert_eq!(
            headers["surrogate-key"],
            "i:Product p:Product p:Product:{\"upc\":\"1\"}"
        );
        let many = (0..2000)
            .map(|i| format!("p:Product:{{\"upc\":\"{i}\"}}"))
            .collect::<Vec<_>>()
            .join(" ");
        let meta = ResponseMeta {
            headers: vec![words(format!("p:Product {many}"))],
            ..Default::default()
        };
        let mut headers = http::HeaderMap::new();
        meta.write_headers(&mut headers);
        assert_eq!(headers["surrogate-key"], "p:Product");
    }

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
                ..Default::default()
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
