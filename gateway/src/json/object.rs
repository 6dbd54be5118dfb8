//! A JSON object: its entries in order, keys unique.

use std::collections::HashMap;

use super::{Str, Value};

/// Above this many entries, duplicate keys are found with a hash map rather than by comparing
/// every pair (a parse must stay linear whatever a subgraph sends).
const PAIRWISE_LIMIT: usize = 16;

/// A JSON object: entries in insertion order, each key once. Lookups are linear, which beats
/// hashing or a tree for the handful of fields GraphQL objects have.
#[derive(Clone, Debug, Default)]
pub struct Object {
    entries: Vec<(Str, Value)>,
}

impl PartialEq for Object {
    /// Equal when they hold the same keys with equal values, in any order (as JSON means it).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, value)| other.get(key).is_some_and(|v| v == value))
    }
}

impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    /// An object of `entries` as a parser met them: of duplicated keys, the last one wins.
    pub fn from_entries(mut entries: Vec<(Str, Value)>) -> Self {
        if entries.len() <= PAIRWISE_LIMIT {
            let mut i = 0;
            while i < entries.len() {
                let key = &entries[i].0;
                if entries[i + 1..].iter().any(|(later, _)| later == key) {
                    entries.remove(i);
                } else {
                    i += 1;
                }
            }
        } else {
            let mut last: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
            for (index, (key, _)) in entries.iter().enumerate() {
                last.insert(key.as_str(), index);
            }
            if last.len() < entries.len() {
                let keep: Vec<bool> = (0..entries.len())
                    .map(|index| last[entries[index].0.as_str()] == index)
                    .collect();
                let mut keep = keep.into_iter();
                entries.retain(|_| keep.next().unwrap_or(false));
            }
        }
        Self { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Like [`Object::get`], searching from `*cursor` on (then from the start) and leaving the
    /// cursor past the entry found: reading fields in the order they are stored, as the
    /// response writer mostly does, costs one comparison each.
    pub fn get_from(&self, key: &str, cursor: &mut usize) -> Option<&Value> {
        let start = (*cursor).min(self.entries.len());
        let (before, after) = self.entries.split_at(start);
        let found = after
            .iter()
            .position(|(k, _)| k == key)
            .map(|i| start + i)
            .or_else(|| before.iter().position(|(k, _)| k == key))?;
        *cursor = found + 1;
        Some(&self.entries[found].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Sets `key` to `value`, in place when the key is there (returning the old value), else
    /// at the end.
    pub fn insert(&mut self, key: impl Into<Str>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.position(&key) {
            Some(index) => Some(std::mem::replace(&mut self.entries[index].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Merges `source`'s entries in: `merge(existing, value)` where the key is already here,
    /// else a new entry from `entry(key, value)` at the end. Linear whatever the sizes, as a
    /// subgraph's answer may be anything: keys are matched through a hash index when this
    /// object is large, and never against the entries just added (`source` has unique keys).
    pub fn merge_entries<K: AsRef<str>, V>(
        &mut self,
        source: impl IntoIterator<Item = (K, V)>,
        mut merge: impl FnMut(&mut Value, V),
        mut entry: impl FnMut(K, V) -> (Str, Value),
    ) {
        let existing = self.entries.len();
        let index: Option<HashMap<Str, usize>> = (existing > PAIRWISE_LIMIT).then(|| {
            self.entries
                .iter()
                .enumerate()
                .map(|(i, (key, _))| (key.clone(), i))
                .collect()
        });
        let source = source.into_iter();
        // Merged entities mostly bring fields the object lacks: one allocation for them
        // rather than growing (and copying the entries) step by step.
        self.entries.reserve(source.size_hint().0);
        for (key, value) in source {
            let found = match &index {
                Some(index) => index.get(key.as_ref()).copied(),
                None => self.entries[..existing]
                    .iter()
                    .position(|(k, _)| k == key.as_ref()),
            };
            match found {
                Some(i) => merge(&mut self.entries[i].1, value),
                None => self.entries.push(entry(key, value)),
            }
        }
    }

    /// Takes `key` out, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.position(key).map(|index| self.entries.remove(index).1)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Str, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Str> {
        self.entries.iter().map(|(k, _)| k)
    }
}

impl IntoIterator for Object {
    type Item = (Str, Value);
    type IntoIter = std::vec::IntoIter<(Str, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a Str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Str, Value)>,
        fn(&'a (Str, Value)) -> (&'a Str, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Into<Str>> FromIterator<(K, Value)> for Object {
    /// Of duplicated keys, the last one wins.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        Self::from_entries(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(n: u64) -> Value {
        Value::Number(n.into())
    }

    #[test]
    fn insert_replaces_in_place_and_remove_keeps_the_order() {
        let mut object = Object::new();
        object.insert("a", number(1));
        object.insert("b", number(2));
        object.insert("c", number(3));
        assert_eq!(object.insert("a", number(4)), Some(number(1)));
        assert_eq!(object.remove("b"), Some(number(2)));
        let keys: Vec<&str> = object.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["a", "c"]);
        assert_eq!(object.get("a"), Some(&number(4)));
        assert_eq!(object.remove("b"), None);
    }

    #[test]
    fn get_from_finds_keys_before_and_after_the_cursor() {
        let object: Object = ["a", "b", "c"]
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, number(i as u64)))
            .collect();
        let mut cursor = 0;
        assert_eq!(object.get_from("b", &mut cursor), Some(&number(1)));
        assert_eq!(cursor, 2);
        assert_eq!(object.get_from("a", &mut cursor), Some(&number(0)));
        assert_eq!(cursor, 1);
        assert_eq!(object.get_from("z", &mut cursor), None);
        assert_eq!(cursor, 1, "a miss leaves the cursor");
        let mut past_the_end = 9;
        assert_eq!(object.get_from("c", &mut past_the_end), Some(&number(2)));
    }

    #[test]
    fn merging_matches_keys_small_and_large() {
        for size in [3u64, 40] {
            let mut target: Object = (0..size).map(|i| (format!("k{i}"), number(i))).collect();
            let source: Object = [("k1", number(100)), ("new", number(7))]
                .into_iter()
                .collect();
            target.merge_entries(
                source,
                |existing, value| *existing = value,
                |key, value| (key, value),
            );
            assert_eq!(target.len(), size as usize + 1, "size {size}");
            assert_eq!(target.get("k1"), Some(&number(100)));
            assert_eq!(target.get("new"), Some(&number(7)));
            assert_eq!(target.keys().last().map(|k| k.as_str()), Some("new"));
        }
    }

    /// A hostile answer (a huge object merged into another) must not make merging quadratic:
    /// 100,000 keys would take billions of comparisons.
    #[test]
    fn merging_huge_objects_matches_every_key_once() {
        let huge = |offset: u64| -> Object {
            (0..100_000u64)
                .map(|i| (format!("k{}", i + offset), number(i)))
                .collect()
        };
        let mut small: Object = [("k5", number(0))].into_iter().collect();
        small.merge_entries(huge(0), |e, v| *e = v, |k, v| (k, v));
        assert_eq!(small.len(), 100_000);
        let mut large = huge(0);
        large.merge_entries(huge(50_000), |e, v| *e = v, |k, v| (k, v));
        assert_eq!(large.len(), 150_000);
        assert_eq!(large.get("k60000"), Some(&number(10_000)));
    }

    #[test]
    fn objects_are_equal_whatever_their_order() {
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        let a = parse(r#"{"x": 1, "y": {"p": [1, 2], "q": null}}"#);
        assert_eq!(a, parse(r#"{"y": {"q": null, "p": [1, 2]}, "x": 1}"#));
        assert_ne!(
            a,
            parse(r#"{"y": {"q": null, "p": [2, 1]}, "x": 1}"#),
            "list order matters"
        );
        assert_ne!(a, parse(r#"{"x": 1}"#));
    }

    #[test]
    fn the_last_of_duplicated_keys_wins_small_and_large() {
        for size in [3, 40] {
            let mut entries: Vec<(Str, Value)> = (0..size)
                .map(|i| (Str::from(format!("k{i}")), number(i)))
                .collect();
            entries.push(("k1".into(), number(100)));
            entries.push(("k0".into(), number(200)));
            let object = Object::from_entries(entries);
            assert_eq!(object.len(), size as usize, "size {size}");
            assert_eq!(object.get("k1"), Some(&number(100)));
            assert_eq!(object.get("k0"), Some(&number(200)));
            assert_eq!(object.get("k2"), Some(&number(2)));
        }
    }
}
