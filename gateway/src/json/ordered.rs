//! Comparing and hashing values with object entries taken in order.

use std::hash::{Hash, Hasher};

use super::{Object, Str, Value};

/// A value whose equality and hash take object entries in order: cheaper than JSON equality
/// (which ignores the order), and exact for values built the same way, such as the
/// representations one key selection projects. Two JSON-equal values in different orders are
/// merely told apart.
#[derive(Clone, Debug)]
pub struct Ordered(pub Value);

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        ordered_eq(&self.0, &other.0)
    }
}

impl Eq for Ordered {}

impl Hash for Ordered {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_ordered(&self.0, state);
    }
}

fn ordered_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| ordered_eq(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, va), (kb, vb))| ka == kb && ordered_eq(va, vb))
        }
        _ => a == b,
    }
}

/// What `hash_ordered` writes first for a value of each kind.
fn kind(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => STRING,
        Value::Array(_) => 4,
        Value::Object(_) => OBJECT,
    }
}

const STRING: u8 = 3;
const OBJECT: u8 = 5;

fn hash_ordered<H: Hasher>(value: &Value, state: &mut H) {
    state.write_u8(kind(value));
    match value {
        Value::Null => {}
        Value::Bool(b) => b.hash(state),
        Value::Number(n) => n.hash(state),
        Value::String(s) => s.hash(state),
        Value::Array(items) => {
            state.write_usize(items.len());
            for item in items {
                hash_ordered(item, state);
            }
        }
        Value::Object(object) => {
            state.write_usize(object.len());
            for (key, value) in object {
                key.hash(state);
                hash_ordered(value, state);
            }
        }
    }
}

/// An object not built yet, given by its entries: a first one whose value is a string (a
/// representation's `__typename`), then borrowed values. It hashes and compares exactly as the
/// [`Ordered`] object [`OrderedEntries::to_value`] builds, so a set of `Ordered` values can be
/// searched for it first and only what is missing gets built: most objects of a response share
/// their entity with others.
pub struct OrderedEntries<'a> {
    pub first: (&'a str, &'a str),
    pub rest: &'a [(&'a str, &'a Value)],
}

impl OrderedEntries<'_> {
    /// The object of these entries, in order. Keys must be distinct, as in any [`Object`].
    pub fn to_value(&self) -> Value {
        let (key, text) = self.first;
        let mut entries = Vec::with_capacity(1 + self.rest.len());
        entries.push((Str::new(key), Value::String(Str::new(text))));
        entries.extend(
            self.rest
                .iter()
                .map(|(key, value)| (Str::new(key), (*value).clone())),
        );
        Value::Object(Object::from_entries(entries))
    }
}

impl Hash for OrderedEntries<'_> {
    /// What [`hash_ordered`] writes for the object of these entries.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(OBJECT);
        state.write_usize(1 + self.rest.len());
        let (key, text) = self.first;
        key.hash(state);
        state.write_u8(STRING);
        text.hash(state);
        for (key, value) in self.rest {
            key.hash(state);
            hash_ordered(value, state);
        }
    }
}

impl indexmap::Equivalent<Ordered> for OrderedEntries<'_> {
    fn equivalent(&self, built: &Ordered) -> bool {
        let Value::Object(object) = &built.0 else {
            return false;
        };
        let mut entries = object.iter();
        let first_matches = entries.next().is_some_and(|(key, value)| {
            key == self.first.0 && value.as_str() == Some(self.first.1)
        });
        first_matches
            && object.len() == 1 + self.rest.len()
            && entries
                .zip(self.rest)
                .all(|((key, value), (expected_key, expected))| {
                    key == expected_key && ordered_eq(value, expected)
                })
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use indexmap::Equivalent;

    use super::*;

    #[test]
    fn equal_in_order_means_equal_hashes_and_order_tells_apart() {
        let parse = |text: &str| Ordered(serde_json::from_str::<Value>(text).unwrap());
        let hasher = std::collections::hash_map::RandomState::new();
        let a = parse(r#"{"__typename": "P", "upc": "1", "dims": {"w": 1, "h": [2]}}"#);
        let same = parse(r#"{"__typename": "P", "upc": "1", "dims": {"w": 1, "h": [2]}}"#);
        assert_eq!(a, same);
        assert_eq!(hasher.hash_one(&a), hasher.hash_one(&same));
        let reordered = parse(r#"{"upc": "1", "__typename": "P", "dims": {"w": 1, "h": [2]}}"#);
        assert_ne!(a, reordered);
        assert_eq!(a.0, reordered.0, "still equal as JSON");
        assert_ne!(
            a,
            parse(r#"{"__typename": "P", "upc": "2", "dims": {"w": 1, "h": [2]}}"#)
        );
    }

    #[test]
    fn entries_hash_and_compare_as_the_object_they_build() {
        let hasher = std::collections::hash_map::RandomState::new();
        let id = Value::String("7".into());
        let dims: Value = serde_json::from_str(r#"{"w": 1, "h": [2, null]}"#).unwrap();
        let rest = [("id", &id), ("dims", &dims)];
        let entries = OrderedEntries {
            first: ("__typename", "Product"),
            rest: &rest,
        };
        let built = Ordered(entries.to_value());
        assert_eq!(
            built.0,
            serde_json::from_str::<Value>(
                r#"{"__typename": "Product", "id": "7", "dims": {"w": 1, "h": [2, null]}}"#
            )
            .unwrap()
        );
        assert_eq!(hasher.hash_one(&entries), hasher.hash_one(&built));
        assert!(entries.equivalent(&built));

        let other_id = Value::String("8".into());
        let differs = [("id", &other_id), ("dims", &dims)];
        let fewer = [("id", &id)];
        for rest in [&differs[..], &fewer[..]] {
            let other = OrderedEntries {
                first: ("__typename", "Product"),
                rest,
            };
            assert!(!other.equivalent(&built));
        }
        let other_type = OrderedEntries {
            first: ("__typename", "User"),
            rest: &rest,
        };
        assert!(!other_type.equivalent(&built));
        assert!(!entries.equivalent(&Ordered(Value::Null)));
    }
}
