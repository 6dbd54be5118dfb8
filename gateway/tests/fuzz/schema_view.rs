//! What the generators need to know about an API schema, read once from apollo-compiler's
//! `Schema`: which types a selection can be made on, which type conditions apply where, and
//! the names a mutation can borrow. Nothing here is specific to one supergraph.

use std::collections::{BTreeSet, HashMap};

use apollo_compiler::ast::{FieldDefinition, OperationType, Type};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node, Schema};

pub struct SchemaView<'s> {
    pub schema: &'s Schema,
    /// The object types a value of each composite type can have.
    possible: HashMap<Name, BTreeSet<Name>>,
    /// Object, interface and union types, introspection types included (fragments on
    /// `__Type` inside `__schema` are valid).
    composites: Vec<Name>,
    /// Every type, field, argument and enum value name: the vocabulary of text mutations.
    pub vocabulary: Vec<String>,
}

impl<'s> SchemaView<'s> {
    pub fn new(schema: &'s Schema) -> Self {
        let mut possible: HashMap<Name, BTreeSet<Name>> = HashMap::new();
        let mut composites = Vec::new();
        let mut vocabulary = BTreeSet::new();
        for (name, ty) in &schema.types {
            vocabulary.insert(name.to_string());
            match ty {
                ExtendedType::Object(object) => {
                    composites.push(name.clone());
                    possible
                        .entry(name.clone())
                        .or_default()
                        .insert(name.clone());
                    for interface in &object.implements_interfaces {
                        possible
                            .entry(interface.name.clone())
                            .or_default()
                            .insert(name.clone());
                    }
                    for field in object.fields.values() {
                        add_field_words(&mut vocabulary, field);
                    }
                }
                ExtendedType::Interface(interface) => {
                    composites.push(name.clone());
                    possible.entry(name.clone()).or_default();
                    for field in interface.fields.values() {
                        add_field_words(&mut vocabulary, field);
                    }
                }
                ExtendedType::Union(union) => {
                    composites.push(name.clone());
                    possible
                        .entry(name.clone())
                        .or_default()
                        .extend(union.members.iter().map(|m| m.name.clone()));
                }
                ExtendedType::Enum(enum_type) => {
                    vocabulary.extend(enum_type.values.keys().map(|v| v.to_string()));
                }
                ExtendedType::InputObject(input) => {
                    vocabulary.extend(input.fields.keys().map(|f| f.to_string()));
                }
                ExtendedType::Scalar(_) => {}
            }
        }
        Self {
            schema,
            possible,
            composites,
            vocabulary: vocabulary.into_iter().collect(),
        }
    }

    pub fn root(&self, kind: OperationType) -> Option<&'s Name> {
        self.schema.root_operation(kind)
    }

    /// The fields a selection on `type_name` may pick (none on a union).
    pub fn fields(&self, type_name: &str) -> Vec<&'s Node<FieldDefinition>> {
        match self.schema.types.get(type_name) {
            Some(ExtendedType::Object(object)) => object.fields.values().map(|f| &f.node).collect(),
            Some(ExtendedType::Interface(interface)) => {
                interface.fields.values().map(|f| &f.node).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether a field of this type needs a sub-selection.
    pub fn is_composite(&self, ty: &Type) -> bool {
        self.possible.contains_key(ty.inner_named_type())
    }

    /// Type conditions a fragment inside a selection on `parent` may have: those sharing at
    /// least one possible object type with it (the spec's "fragment spread is possible").
    pub fn applicable_conditions(&self, parent: &str) -> Vec<&Name> {
        let Some(parent_objects) = self.possible.get(parent) else {
            return Vec::new();
        };
        self.composites
            .iter()
            .filter(|candidate| {
                self.possible
                    .get(candidate.as_str())
                    .is_some_and(|objects| !objects.is_disjoint(parent_objects))
            })
            .collect()
    }

    /// Whether a fragment on `condition` may be spread inside a selection on `parent`.
    pub fn applies(&self, condition: &str, parent: &str) -> bool {
        match (self.possible.get(condition), self.possible.get(parent)) {
            (Some(a), Some(b)) => !a.is_disjoint(b),
            _ => false,
        }
    }

    /// A chain of composite fields to walk down for deep nesting, starting at `parent`:
    /// the first composite field of each type (cycles in the schema make it endless).
    pub fn composite_field(&self, parent: &str, pick: usize) -> Option<&'s Node<FieldDefinition>> {
        let candidates: Vec<_> = self
            .fields(parent)
            .into_iter()
            .filter(|f| self.is_composite(&f.ty))
            .collect();
        if candidates.is_empty() {
            None
        } else {
            Some(candidates[pick % candidates.len()])
        }
    }
}

fn add_field_words(vocabulary: &mut BTreeSet<String>, field: &FieldDefinition) {
    vocabulary.insert(field.name.to_string());
    vocabulary.extend(field.arguments.iter().map(|a| a.name.to_string()));
}
