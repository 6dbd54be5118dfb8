//! The JSON value the executor, the fetchers and the cache hold subgraph data in.
//!
//! `serde_json::Value` keeps objects in B-trees and every key and string on the heap: a
//! three-field object costs a 600-byte tree node plus one allocation per key, and building
//! those nodes was the largest single cost of parsing subgraph answers under load. GraphQL
//! objects are small, so here an object is a vector of entries in the order the subgraph sent
//! them, found by a linear search, and keys and short strings live inline (up to 24 bytes,
//! [`compact_str`]). Field names and ids rarely allocate; a whole object is one allocation.
//!
//! Objects never hold a key twice: parsing keeps the last of duplicated keys, as serde_json
//! does, and [`Object::insert`] replaces.

mod convert;
mod object;
mod ordered;
mod serde_impl;
mod write;

pub use compact_str::CompactString as Str;
pub use object::Object;
pub use ordered::{Ordered, OrderedEntries};
pub use serde_json::Number;
pub use write::write_str;

/// A JSON value; see the module documentation for how it is stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Str),
    Array(Vec<Value>),
    Object(Object),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(object) => Some(object),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The field `key` of an object (`None` for anything else).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|object| object.get(key))
    }
}

impl std::ops::Index<&str> for Value {
    type Output = Value;

    /// The field `key` of an object; null when there is none (as with serde_json).
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl std::fmt::Display for Value {
    /// Compact JSON text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_four_words_and_short_strings_stay_inline() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
        let Value::String(text) = Value::from(serde_json::json!("a-typical-field-name")) else {
            panic!("a string");
        };
        assert!(!text.is_heap_allocated());
    }
}
