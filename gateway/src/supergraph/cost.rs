//! What the cost spec (`@cost`, `@listSize`, https://specs.apollo.dev/cost/v0.1) says of the
//! supergraph's types, fields, arguments and input fields, read into data under their linked
//! names, with the `@requires` selections a field costs beside its own. Estimating an operation's cost from it is the limits part's job (demand control).

use std::collections::HashMap;

use apollo_compiler::ast::{DirectiveList, Value};
use apollo_compiler::executable::SelectionSet;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use super::TypeDef;
use super::link::SpecNames;

const COST: &str = "cost";

/// `@listSize` on a field that returns a list (or a connection with `sizedFields`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSize {
    pub assumed_size: Option<u64>,
    /// Arguments whose value is the list's size (the largest one given).
    pub slicing_arguments: Vec<Name>,
    /// Fields of the returned type whose lists the slicing arguments size (connections).
    pub sized_fields: Vec<Name>,
    pub require_one_slicing_argument: bool,
}

/// The cost directives of a supergraph. Empty (and every lookup `None`) when it uses none.
#[derive(Debug, Clone, Default)]
pub struct CostRules {
    /// `@cost(weight:)` on types (objects, interfaces, unions, enums, scalars, input objects).
    types: HashMap<Name, f64>,
    /// `@cost(weight:)` on fields and input fields, by type then field.
    fields: HashMap<Name, HashMap<Name, f64>>,
    /// `@cost(weight:)` on field arguments, by (type, field) then argument.
    arguments: HashMap<(Name, Name), HashMap<Name, f64>>,
    list_sizes: HashMap<(Name, Name), ListSize>,
    /// `@requires` selections, by (type, field): what the gateway fetches for the field
    /// beyond what the client selected (every subgraph's, when several resolve it).
    requirements: HashMap<(Name, Name), Vec<SelectionSet>>,
}

impl CostRules {
    pub(super) fn read(schema: &Schema, names: &SpecNames) -> Self {
        let mut rules = Self::default();
        let cost = names.directive(COST, COST);
        let list_size = names.directive(COST, "listSize");
        if cost.is_none() && list_size.is_none() {
            return rules;
        }
        let weight = |directives: &DirectiveList| -> Option<f64> {
            let cost = cost.as_deref()?;
            directives
                .iter()
                .find(|d| d.name == cost)
                .and_then(|d| d.specified_argument_by_name("weight"))
                .and_then(|v| number(v))
        };
        for (type_name, ty) in &schema.types {
            if ty.is_built_in() {
                continue;
            }
            let type_directives = ty.directives();
            if let Some(cost) = cost.as_deref()
                && let Some(w) = type_directives
                    .iter()
                    .find(|d| d.name == cost)
                    .and_then(|d| d.specified_argument_by_name("weight"))
                    .and_then(|v| number(v))
            {
                rules.types.insert(type_name.clone(), w);
            }
            match ty {
                ExtendedType::Object(_) | ExtendedType::Interface(_) => {
                    let fields = match ty {
                        ExtendedType::Object(o) => &o.fields,
                        ExtendedType::Interface(i) => &i.fields,
                        _ => unreachable!(),
                    };
                    for (field_name, field) in fields {
                        if let Some(w) = weight(&field.directives) {
                            rules
                                .fields
                                .entry(type_name.clone())
                                .or_default()
                                .insert(field_name.clone(), w);
                        }
                        for argument in &field.arguments {
                            if let Some(w) = weight(&argument.directives) {
                                rules
                                    .arguments
                                    .entry((type_name.clone(), field_name.clone()))
                                    .or_default()
                                    .insert(argument.name.clone(), w);
                            }
                        }
                        let list = list_size
                            .as_deref()
                            .and_then(|name| field.directives.iter().find(|d| d.name == name));
                        if let Some(directive) = list {
                            let names_of = |argument: &str| -> Vec<Name> {
                                match directive.specified_argument_by_name(argument).map(|v| &**v) {
                                    Some(Value::List(items)) => items
                                        .iter()
                                        .filter_map(|v| v.as_str())
                                        .filter_map(|s| Name::new(s).ok())
                                        .collect(),
                                    _ => Vec::new(),
                                }
                            };
                            rules.list_sizes.insert(
                                (type_name.clone(), field_name.clone()),
                                ListSize {
                                    assumed_size: directive
                                        .specified_argument_by_name("assumedSize")
                                        .and_then(|v| v.to_i32())
                                        .map(|n| n.max(0) as u64),
                                    slicing_arguments: names_of("slicingArguments"),
                                    sized_fields: names_of("sizedFields"),
                                    require_one_slicing_argument: directive
                                        .specified_argument_by_name("requireOneSlicingArgument")
                                        .and_then(|v| v.to_bool())
                                        .unwrap_or(true),
                                },
                            );
                        }
                    }
                }
                ExtendedType::InputObject(input) => {
                    for (field_name, field) in &input.fields {
                        if let Some(w) = weight(&field.directives) {
                            rules
                                .fields
                                .entry(type_name.clone())
                                .or_default()
                                .insert(field_name.clone(), w);
                        }
                    }
                }
                _ => {}
            }
        }
        rules
    }

    /// `@cost(weight:)` of a type.
    pub fn type_weight(&self, type_name: &str) -> Option<f64> {
        self.types.get(type_name).copied()
    }

    /// `@cost(weight:)` of a field or an input field.
    pub fn field_weight(&self, type_name: &str, field: &str) -> Option<f64> {
        self.fields.get(type_name)?.get(field).copied()
    }

    /// `@cost(weight:)` of a field's argument.
    pub fn argument_weight(&self, type_name: &Name, field: &Name, argument: &str) -> Option<f64> {
        self.arguments
            .get(&(type_name.clone(), field.clone()))?
            .get(argument)
            .copied()
    }

    /// Whether a field has argument weights at all (skips the per-argument lookups).
    pub fn has_argument_weights(&self, type_name: &Name, field: &Name) -> bool {
        !self.arguments.is_empty()
            && self
                .arguments
                .contains_key(&(type_name.clone(), field.clone()))
    }

    /// Records the `@requires` selections of every field (whether or not any `@cost` is set:
    /// a required selection costs its defaults too).
    pub(super) fn read_requirements<'a>(&mut self, types: impl Iterator<Item = &'a TypeDef>) {
        for ty in types {
            for field in ty.fields.values() {
                let required: Vec<SelectionSet> = field
                    .sources
                    .iter()
                    .flatten()
                    .filter_map(|source| source.requires.clone())
                    .collect();
                if !required.is_empty() {
                    self.requirements
                        .insert((ty.name.clone(), field.name.clone()), required);
                }
            }
        }
    }

    /// The `@requires` selections of a field, one per subgraph that requires something for it.
    pub fn requirements(&self, type_name: &Name, field: &Name) -> &[SelectionSet] {
        if self.requirements.is_empty() {
            return &[];
        }
        self.requirements
            .get(&(type_name.clone(), field.clone()))
            .map_or(&[], Vec::as_slice)
    }

    pub fn list_size(&self, type_name: &Name, field: &Name) -> Option<&ListSize> {
        if self.list_sizes.is_empty() {
            return None;
        }
        self.list_sizes.get(&(type_name.clone(), field.clone()))
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => i.try_to_f64().ok(),
        Value::Float(f) => f.try_to_f64().ok(),
        // The spec types `weight` as a String in v0.1 drafts; accept a number written so.
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
