//! Comparing and hashing values with object entries taken in order.

use std::hash::{Hash, Hasher};

use super::Value;

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

fn hash_ordered<H: Hasher>(value: &Value, state: &mut H) {
    std::mem::discriminant(value).hash(state);
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

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

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
}
