//! Shapes the merged subgraph data into the response the client asked for: keys in the
//! query's order (fields of fragments collected as the spec's CollectFields does), aliases,
//! `__typename`, nothing the gateway fetched for itself, and non-null violations propagated
//! to the nearest nullable parent with an error.

use apollo_compiler::Name;
use apollo_compiler::ast::Type;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::operation::selection::{Field, Selection, SelectionSet};
use crate::response::{GraphQLError, PathElement};
use crate::supergraph::{Supergraph, TypeKind};

/// A null that must propagate to the parent (the value was null where null is not allowed).
struct PropagateNull;

pub(super) struct Shaper<'a> {
    pub sg: &'a Supergraph,
    pub errors: &'a mut Vec<GraphQLError>,
    /// Introspection results (`__schema`, `__type`), already shaped by apollo-compiler.
    pub introspection: Option<&'a Map<String, Value>>,
}

impl Shaper<'_> {
    /// The response `data` for `selection` on the root type.
    pub fn shape_root(
        &mut self,
        root_type: &Name,
        selection: &SelectionSet,
        data: &Value,
    ) -> Value {
        let empty = Map::new();
        let object = data.as_object().unwrap_or(&empty);
        let mut path = Vec::new();
        match self.object(root_type, &[selection], object, &mut path, true) {
            Ok(map) => Value::Object(map),
            Err(PropagateNull) => Value::Null,
        }
    }

    fn is_abstract(&self, type_name: &str) -> bool {
        self.sg.type_def(type_name).is_some_and(|d| d.is_abstract())
    }

    fn is_leaf(&self, type_name: &str) -> bool {
        self.sg
            .type_def(type_name)
            .is_none_or(|d| matches!(d.kind, TypeKind::Scalar | TypeKind::Enum))
    }

    fn object(
        &mut self,
        type_name: &Name,
        selections: &[&SelectionSet],
        object: &Map<String, Value>,
        path: &mut Vec<PathElement>,
        is_root: bool,
    ) -> Result<Map<String, Value>, PropagateNull> {
        let runtime_type: Option<&str> = if self.is_abstract(type_name) {
            object.get("__typename").and_then(Value::as_str)
        } else {
            Some(type_name.as_str())
        };
        if runtime_type.is_some_and(|t| !self.sg.api_schema().types.contains_key(t)) {
            // An object of an `@inaccessible` type: clients cannot know it, so it is null.
            return Err(PropagateNull);
        }
        let mut grouped: IndexMap<&Name, Vec<&Field>> = IndexMap::new();
        for selection in selections {
            self.collect(selection, runtime_type, &mut grouped);
        }
        let mut out = Map::with_capacity(grouped.len());
        for (key, fields) in grouped {
            let field = fields[0];
            path.push(PathElement::Key(key.to_string()));
            let value = if field.name == "__typename" {
                runtime_type
                    .map(|t| Value::String(t.to_string()))
                    .unwrap_or(Value::Null)
            } else if is_root && matches!(field.name.as_str(), "__schema" | "__type") {
                self.introspection
                    .and_then(|i| i.get(key.as_str()))
                    .cloned()
                    .unwrap_or(Value::Null)
            } else {
                let raw = object.get(key.as_str()).unwrap_or(&Value::Null);
                let subselections: Vec<&SelectionSet> = fields
                    .iter()
                    .map(|f| &f.selection_set)
                    .filter(|s| !s.is_empty())
                    .collect();
                match self.complete(&field.ty, raw, &subselections, path, type_name, field) {
                    Ok(value) => value,
                    Err(PropagateNull) => {
                        path.pop();
                        return Err(PropagateNull);
                    }
                }
            };
            path.pop();
            out.insert(key.to_string(), value);
        }
        Ok(out)
    }

    fn collect<'s>(
        &self,
        selection: &'s SelectionSet,
        runtime_type: Option<&str>,
        grouped: &mut IndexMap<&'s Name, Vec<&'s Field>>,
    ) {
        for item in &selection.items {
            match item {
                Selection::Field(field) => {
                    grouped.entry(field.response_key()).or_default().push(field)
                }
                Selection::InlineFragment(fragment) => {
                    if runtime_type
                        .is_some_and(|t| self.sg.is_possible_type(&fragment.type_condition, t))
                    {
                        self.collect(&fragment.selection_set, runtime_type, grouped);
                    }
                }
            }
        }
    }

    fn complete(
        &mut self,
        ty: &Type,
        value: &Value,
        selections: &[&SelectionSet],
        path: &mut Vec<PathElement>,
        parent_type: &Name,
        field: &Field,
    ) -> Result<Value, PropagateNull> {
        match ty {
            Type::NonNullNamed(_) | Type::NonNullList(_) => {
                let completed = self.complete(
                    &ty.clone().nullable(),
                    value,
                    selections,
                    path,
                    parent_type,
                    field,
                )?;
                if completed.is_null() {
                    self.null_error(path, parent_type, field);
                    Err(PropagateNull)
                } else {
                    Ok(completed)
                }
            }
            Type::List(item_type) => match value {
                Value::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for (index, item) in items.iter().enumerate() {
                        path.push(PathElement::Index(index));
                        let completed =
                            self.complete(item_type, item, selections, path, parent_type, field);
                        path.pop();
                        match completed {
                            Ok(v) => out.push(v),
                            Err(PropagateNull) => return Ok(Value::Null),
                        }
                    }
                    Ok(Value::Array(out))
                }
                _ => Ok(Value::Null),
            },
            Type::Named(name) => match value {
                Value::Null => Ok(Value::Null),
                Value::Object(object) if !self.is_leaf(name) => {
                    match self.object(name, selections, object, path, false) {
                        Ok(map) => Ok(Value::Object(map)),
                        Err(PropagateNull) => Ok(Value::Null),
                    }
                }
                leaf if self.is_leaf(name) && !leaf.is_object() => Ok(self.leaf(name, leaf, path)),
                _ => Ok(Value::Null),
            },
        }
    }

    /// A scalar or enum value. Enum values the API schema does not have (an `@inaccessible`
    /// value, or one a subgraph invented) become null with an error.
    fn leaf(&mut self, type_name: &Name, value: &Value, path: &[PathElement]) -> Value {
        let Some(enum_type) = self.sg.api_schema().get_enum(type_name) else {
            return value.clone();
        };
        let valid = value
            .as_str()
            .is_some_and(|v| enum_type.values.contains_key(v));
        if valid {
            value.clone()
        } else {
            self.errors.push(
                GraphQLError::new(format!(
                    "Enum \"{type_name}\" cannot represent value: {value}"
                ))
                .with_path(path.to_vec()),
            );
            Value::Null
        }
    }

    /// Records a non-null violation, unless an error at or below this path already explains it.
    fn null_error(&mut self, path: &[PathElement], parent_type: &Name, field: &Field) {
        let explained = self.errors.iter().any(|e| {
            e.path
                .as_ref()
                .is_some_and(|p| p.len() >= path.len() && p[..path.len()] == *path)
        });
        if !explained {
            self.errors.push(
                GraphQLError::new(format!(
                    "Cannot return null for non-nullable field {parent_type}.{}",
                    field.name
                ))
                .with_path(path.to_vec()),
            );
        }
    }
}
