//! The normalised form of a client operation that the planner and the response shaper read:
//! fragments inlined, `@skip`/`@include` applied, fields merged by response key, every field
//! annotated with its type.

use std::fmt;

use apollo_compiler::ast::{Type, Value};
use apollo_compiler::{Name, Node};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SelectionSet {
    pub items: Vec<Selection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selection {
    Field(Field),
    InlineFragment(InlineFragment),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    pub alias: Option<Name>,
    pub name: Name,
    pub arguments: Vec<(Name, Node<Value>)>,
    /// The field's type in the API schema (for `__typename`: `String!`).
    pub ty: Type,
    /// Empty for leaf fields.
    pub selection_set: SelectionSet,
    /// The request may not see it (authorization): never planned, answered `null` with an
    /// error. Set only in the operation the response is shaped by.
    pub unauthorized: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InlineFragment {
    pub type_condition: Name,
    pub selection_set: SelectionSet,
}

impl Field {
    /// `__typename`, as the gateway adds it where a selection needs something to select.
    pub fn typename() -> Self {
        Field {
            alias: None,
            name: apollo_compiler::name!("__typename"),
            arguments: Vec::new(),
            ty: Type::NonNullNamed(apollo_compiler::name!("String")),
            selection_set: SelectionSet::default(),
            unauthorized: false,
        }
    }

    /// The key under which the field's value appears in the response.
    pub fn response_key(&self) -> &Name {
        self.alias.as_ref().unwrap_or(&self.name)
    }

    /// Same field and arguments (aliases aside): the two can share one response key.
    pub fn same_field_as(&self, other: &Field) -> bool {
        self.name == other.name && self.arguments == other.arguments
    }
}

impl SelectionSet {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.items.iter().filter_map(|s| match s {
            Selection::Field(f) => Some(f),
            Selection::InlineFragment(_) => None,
        })
    }

    pub fn fragments(&self) -> impl Iterator<Item = &InlineFragment> {
        self.items.iter().filter_map(|s| match s {
            Selection::InlineFragment(f) => Some(f),
            Selection::Field(_) => None,
        })
    }

    /// Adds selections as [`SelectionSet::merge_in`] does one by one, in time linear in their
    /// number: the response keys and type conditions already present are indexed once, so
    /// thousands of aliases on one object do not cost a search each.
    pub fn merge_all(&mut self, selections: impl IntoIterator<Item = Selection>) {
        #[derive(PartialEq, Eq, Hash)]
        enum Key {
            Field(Name),
            Fragment(Name),
        }
        fn key(selection: &Selection) -> Key {
            match selection {
                Selection::Field(f) => Key::Field(f.response_key().clone()),
                Selection::InlineFragment(f) => Key::Fragment(f.type_condition.clone()),
            }
        }
        let mut index: std::collections::HashMap<Key, usize> = self
            .items
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (key(s), i))
            .collect();
        for selection in selections {
            let found = index.get(&key(&selection)).copied();
            match (found.map(|i| &mut self.items[i]), selection) {
                (Some(Selection::Field(existing)), Selection::Field(field))
                    if existing.same_field_as(&field) =>
                {
                    existing.selection_set.merge_all(field.selection_set.items);
                }
                (
                    Some(Selection::InlineFragment(existing)),
                    Selection::InlineFragment(fragment),
                ) => {
                    existing
                        .selection_set
                        .merge_all(fragment.selection_set.items);
                }
                // A key the set does not have, or a field under the same key with other
                // arguments (valid only in exclusive type conditions): merged the slow way.
                (found, selection) => {
                    if found.is_none() {
                        index.insert(key(&selection), self.items.len());
                        self.items.push(selection);
                    } else {
                        self.merge_in(selection);
                    }
                }
            }
        }
    }

    /// Adds a selection, merging it into an existing one with the same response key (fields)
    /// or type condition (fragments).
    pub fn merge_in(&mut self, selection: Selection) {
        match selection {
            Selection::Field(field) => {
                let existing = self.items.iter_mut().find_map(|s| match s {
                    Selection::Field(f)
                        if f.response_key() == field.response_key() && f.same_field_as(&field) =>
                    {
                        Some(f)
                    }
                    _ => None,
                });
                match existing {
                    Some(existing) => {
                        for item in field.selection_set.items {
                            existing.selection_set.merge_in(item);
                        }
                    }
                    None => self.items.push(Selection::Field(field)),
                }
            }
            Selection::InlineFragment(fragment) => {
                let existing = self.items.iter_mut().find_map(|s| match s {
                    Selection::InlineFragment(f) if f.type_condition == fragment.type_condition => {
                        Some(f)
                    }
                    _ => None,
                });
                match existing {
                    Some(existing) => {
                        for item in fragment.selection_set.items {
                            existing.selection_set.merge_in(item);
                        }
                    }
                    None => self.items.push(Selection::InlineFragment(fragment)),
                }
            }
        }
    }
}

impl fmt::Display for SelectionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for item in &self.items {
            f.write_str(" ")?;
            match item {
                Selection::Field(field) => {
                    if let Some(alias) = &field.alias {
                        write!(f, "{alias}: ")?;
                    }
                    f.write_str(&field.name)?;
                    write_arguments(f, &field.arguments)?;
                    if !field.selection_set.is_empty() {
                        write!(f, " {}", field.selection_set)?;
                    }
                }
                Selection::InlineFragment(fragment) => {
                    write!(
                        f,
                        "... on {} {}",
                        fragment.type_condition, fragment.selection_set
                    )?;
                }
            }
        }
        f.write_str(" }")
    }
}

/// Writes `(name: value, ...)` in GraphQL syntax; nothing for no arguments.
pub fn write_arguments(f: &mut impl fmt::Write, arguments: &[(Name, Node<Value>)]) -> fmt::Result {
    if arguments.is_empty() {
        return Ok(());
    }
    f.write_char('(')?;
    for (i, (name, value)) in arguments.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{name}: {value}")?;
    }
    f.write_char(')')
}
