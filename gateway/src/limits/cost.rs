//! Demand control: an operation's cost estimated before planning from the cost directives
//! (`@cost`, `@listSize`), and its actual cost measured from the response, by the same rules
//! (the IBM GraphQL cost spec as Apollo Router applies it; docs/demand-control.md):
//!
//! - a field costs its `@cost(weight:)`, else its type's `@cost`, else 1 for an object,
//!   interface or union and 0 for a scalar or enum; its sub-selection adds to that;
//! - a list field multiplies that by its size: the largest slicing argument given
//!   (`@listSize(slicingArguments:)`, literal or variable), else `assumedSize`, else the
//!   configured default; with `sizedFields`, the size applies to those child fields instead;
//! - arguments add their `@cost` (or their type's), an input object 1 plus its fields', a list
//!   the sum of its items;
//! - a field with `@requires` adds the cost of the required selection (once);
//! - a mutation adds 10.
//!
//! The actual cost walks the response data: each list counts its real length, a null
//! counts nothing below it.

use apollo_compiler::ast::Value as AstValue;
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{ExecutableDocument, Name, Schema};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::response::GraphQLError;
use crate::supergraph::{CostRules, ListSize};

/// The code of the error an operation over `demand_control.max` gets in enforce mode.
pub const COST_ESTIMATED_TOO_EXPENSIVE: &str = "COST_ESTIMATED_TOO_EXPENSIVE";

/// The code of an operation the estimator cannot size: a list field whose
/// `@listSize(requireOneSlicingArgument: true)` (the directive's default) gets no slicing
/// argument or more than one (Apollo Router's code for it).
pub const COST_QUERY_PARSE_FAILURE: &str = "COST_QUERY_PARSE_FAILURE";

/// A list field given another number of slicing arguments than the one its `@listSize`
/// requires.
#[derive(Debug, Clone, PartialEq)]
pub struct SlicingViolation {
    /// `Type.field`.
    pub coordinate: String,
    /// Slicing arguments given (non-null).
    pub given: usize,
}

impl SlicingViolation {
    pub fn error(&self) -> GraphQLError {
        GraphQLError::new(format!(
            "exactly one slicing argument is required on \"{}\" (@listSize(requireOneSlicingArgument: true)), but {} were given",
            self.coordinate, self.given
        ))
        .with_code(COST_QUERY_PARSE_FAILURE)
    }
}

/// What a mutation costs by itself.
const MUTATION_COST: f64 = 10.0;

/// `demand_control.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandControlMode {
    /// Estimate and measure, export the numbers, refuse nothing.
    #[default]
    Measure,
    /// Refuse operations estimated over `max` before planning.
    Enforce,
}

/// The `demand_control:` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemandControlConfig {
    /// Off by default: nothing is estimated or measured.
    pub enabled: bool,
    pub mode: DemandControlMode,
    /// The largest estimated cost an operation may have in enforce mode.
    pub max: f64,
    /// The size assumed for a list field without `@listSize` (or whose `@listSize` gives no
    /// size for this request).
    pub list_size: u64,
}

impl Default for DemandControlConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            mode: DemandControlMode::Measure,
            max: 1000.0,
            list_size: 10,
        }
    }
}

impl DemandControlConfig {
    /// The error for an operation estimated at `estimate` (enforce mode, over `max`).
    pub fn refusal(&self, estimate: f64) -> GraphQLError {
        GraphQLError::new(format!(
            "the operation's estimated cost {estimate} is over the maximum of {} (demand_control.max)",
            self.max
        ))
        .with_code(COST_ESTIMATED_TOO_EXPENSIVE)
        .with_extension("cost.estimated", estimate)
        .with_extension("cost.max", self.max)
    }

    /// Whether an operation estimated at `estimate` is refused.
    pub fn refuses(&self, estimate: f64) -> bool {
        self.mode == DemandControlMode::Enforce && estimate > self.max
    }
}

/// An argument value as the cost rules read it: written in the document, or a variable's.
#[derive(Clone, Copy)]
enum InputValue<'v> {
    Ast(&'v AstValue),
    Json(&'v Value),
}

/// Estimates and measures costs of operations of one document.
pub struct CostCalculator<'a> {
    pub schema: &'a Schema,
    pub rules: &'a CostRules,
    pub document: &'a ExecutableDocument,
    pub variables: &'a Map<String, Value>,
    pub default_list_size: u64,
}

/// How deep fragments may nest before the calculator stops (a validated document has no
/// fragment cycles; this only bounds the recursion).
const MAX_DEPTH: usize = 512;

impl CostCalculator<'_> {
    /// The estimated cost of an operation.
    pub fn estimate(&self, operation: &apollo_compiler::executable::Operation) -> f64 {
        let base = if operation.operation_type == apollo_compiler::ast::OperationType::Mutation {
            MUTATION_COST
        } else {
            0.0
        };
        base + self.estimate_set(&operation.selection_set, None, 0)
    }

    /// The list fields of `operation` that `@listSize(requireOneSlicingArgument: true)`
    /// wants exactly one slicing argument for and that get another number (a null counts as
    /// not given): the estimate cannot size them as the schema says.
    pub fn slicing_violations(
        &self,
        operation: &apollo_compiler::executable::Operation,
    ) -> Vec<SlicingViolation> {
        let mut found = Vec::new();
        self.violations_in(&operation.selection_set, 0, &mut found);
        found
    }

    fn violations_in(&self, set: &SelectionSet, depth: usize, found: &mut Vec<SlicingViolation>) {
        if depth > MAX_DEPTH {
            return;
        }
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if let Some(list_size) = self.rules.list_size(&set.ty, &field.name)
                        && list_size.require_one_slicing_argument
                        && !list_size.slicing_arguments.is_empty()
                    {
                        let given = self.slicing_arguments_given(field, list_size);
                        if given != 1 {
                            found.push(SlicingViolation {
                                coordinate: format!("{}.{}", set.ty, field.name),
                                given,
                            });
                        }
                    }
                    self.violations_in(&field.selection_set, depth + 1, found);
                }
                Selection::InlineFragment(inline) => {
                    self.violations_in(&inline.selection_set, depth + 1, found)
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name) {
                        self.violations_in(&fragment.selection_set, depth + 1, found);
                    }
                }
            }
        }
    }

    fn slicing_arguments_given(&self, field: &Field, list_size: &ListSize) -> usize {
        list_size
            .slicing_arguments
            .iter()
            .filter(|name| {
                field
                    .arguments
                    .iter()
                    .find(|a| a.name == **name)
                    .is_some_and(|argument| match &*argument.value {
                        AstValue::Null => false,
                        AstValue::Variable(variable) => self
                            .variables
                            .get(variable.as_str())
                            .is_some_and(|value| !value.is_null()),
                        _ => true,
                    })
            })
            .count()
    }

    /// `sized`: the size a parent's `@listSize(sizedFields:)` gives to some of these fields.
    fn estimate_set(&self, set: &SelectionSet, sized: Option<(&[Name], u64)>, depth: usize) -> f64 {
        if depth > MAX_DEPTH {
            return 0.0;
        }
        let mut cost = 0.0;
        for selection in &set.selections {
            cost += match selection {
                Selection::Field(field) => self.estimate_field(&set.ty, field, sized, depth),
                Selection::InlineFragment(inline) => {
                    self.estimate_set(&inline.selection_set, sized, depth + 1)
                }
                Selection::FragmentSpread(spread) => self
                    .document
                    .fragments
                    .get(&spread.fragment_name)
                    .map_or(0.0, |f| {
                        self.estimate_set(&f.selection_set, sized, depth + 1)
                    }),
            };
        }
        cost
    }

    fn estimate_field(
        &self,
        parent: &Name,
        field: &Field,
        sized: Option<(&[Name], u64)>,
        depth: usize,
    ) -> f64 {
        if field.name.starts_with("__") {
            return 0.0;
        }
        let list_size = self.rules.list_size(parent, &field.name);
        let slicing = list_size.and_then(|l| self.slicing_size(field, l));
        let children_sized = list_size
            .filter(|l| !l.sized_fields.is_empty())
            .and_then(|l| {
                slicing
                    .or(l.assumed_size)
                    .map(|size| (&l.sized_fields[..], size))
            });
        let instances = if field.definition.ty.is_list() {
            let from_parent = sized
                .filter(|(fields, _)| fields.contains(&field.name))
                .map(|(_, size)| size);
            let own = list_size
                .filter(|l| l.sized_fields.is_empty())
                .and_then(|l| slicing.or(l.assumed_size));
            from_parent.or(own).unwrap_or(self.default_list_size) as f64
        } else {
            1.0
        };
        let children = self.estimate_set(&field.selection_set, children_sized, depth + 1);
        instances * (self.type_cost(parent, field) + children)
            + self.arguments_cost(parent, field)
            + self.requirements_cost(parent, field, depth)
    }

    /// What a field's `@requires` selection costs: the gateway fetches it whether or not the
    /// client selects it. Counted once per field, as Apollo Router does; when several
    /// subgraphs resolve the field with different requirements, the dearest counts.
    fn requirements_cost(&self, parent: &Name, field: &Field, depth: usize) -> f64 {
        self.rules
            .requirements(parent, &field.name)
            .iter()
            .map(|required| self.estimate_set(required, None, depth + 1))
            .fold(0.0, f64::max)
    }

    /// The largest slicing argument the field is given (literal or variable).
    fn slicing_size(&self, field: &Field, list_size: &ListSize) -> Option<u64> {
        list_size
            .slicing_arguments
            .iter()
            .filter_map(|name| {
                let value = field.arguments.iter().find(|a| a.name == *name)?;
                match &*value.value {
                    AstValue::Int(i) => i.try_to_i32().ok().map(|n| n.max(0) as u64),
                    AstValue::Variable(variable) => self
                        .variables
                        .get(variable.as_str())
                        .and_then(Value::as_i64)
                        .map(|n| n.max(0) as u64),
                    _ => None,
                }
            })
            .max()
    }

    /// What one value of the field costs by itself: its `@cost`, its type's, or the default.
    fn type_cost(&self, parent: &Name, field: &Field) -> f64 {
        let named = field.definition.ty.inner_named_type();
        self.rules
            .field_weight(parent, &field.name)
            .or_else(|| self.rules.type_weight(named))
            .unwrap_or_else(|| match self.schema.types.get(named) {
                Some(
                    ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_),
                ) => 1.0,
                _ => 0.0,
            })
    }

    fn arguments_cost(&self, parent: &Name, field: &Field) -> f64 {
        let mut cost = 0.0;
        for definition in &field.definition.arguments {
            let given = field
                .arguments
                .iter()
                .find(|a| a.name == definition.name)
                .map(|a| &*a.value);
            let Some(given) = given else { continue };
            let weight = self
                .rules
                .argument_weight(parent, &field.name, &definition.name);
            cost += self.input_cost(
                InputValue::Ast(given),
                definition.ty.inner_named_type(),
                weight,
                0,
            );
        }
        cost
    }

    /// An argument or input field value of type `type_name`; `weight`: its own `@cost`.
    /// What an argument value adds: its list items, or an input object (1, or its type's
    /// `@cost`) and its fields, literal in the document or from the variables alike.
    fn input_cost(
        &self,
        value: InputValue<'_>,
        type_name: &Name,
        weight: Option<f64>,
        depth: usize,
    ) -> f64 {
        if depth > MAX_DEPTH {
            return 0.0;
        }
        match value {
            InputValue::Ast(AstValue::Null) | InputValue::Json(Value::Null) => 0.0,
            InputValue::Ast(AstValue::Variable(name)) => {
                self.variables.get(name.as_str()).map_or(0.0, |v| {
                    self.input_cost(InputValue::Json(v), type_name, weight, depth)
                })
            }
            InputValue::Ast(AstValue::List(items)) => self.list_cost(
                items.iter().map(|item| InputValue::Ast(item)),
                type_name,
                weight,
                depth,
            ),
            InputValue::Json(Value::Array(items)) => {
                self.list_cost(items.iter().map(InputValue::Json), type_name, weight, depth)
            }
            InputValue::Ast(AstValue::Object(fields)) => self.object_cost(
                fields
                    .iter()
                    .map(|(name, v)| (name.as_str(), InputValue::Ast(v))),
                type_name,
                weight,
                depth,
            ),
            InputValue::Json(Value::Object(fields)) => self.object_cost(
                fields
                    .iter()
                    .map(|(name, v)| (name.as_str(), InputValue::Json(v))),
                type_name,
                weight,
                depth,
            ),
            _ => weight
                .or_else(|| self.rules.type_weight(type_name))
                .unwrap_or(0.0),
        }
    }

    fn list_cost<'v>(
        &self,
        items: impl Iterator<Item = InputValue<'v>>,
        type_name: &Name,
        weight: Option<f64>,
        depth: usize,
    ) -> f64 {
        weight.unwrap_or(0.0)
            + items
                .map(|item| self.input_cost(item, type_name, None, depth + 1))
                .sum::<f64>()
    }

    fn object_cost<'v>(
        &self,
        fields: impl Iterator<Item = (&'v str, InputValue<'v>)>,
        type_name: &Name,
        weight: Option<f64>,
        depth: usize,
    ) -> f64 {
        let mut cost = weight
            .or_else(|| self.rules.type_weight(type_name))
            .unwrap_or(1.0);
        if let Some(ExtendedType::InputObject(input)) = self.schema.types.get(type_name) {
            for (name, value) in fields {
                if let Some(def) = input.fields.get(name) {
                    cost += self.input_cost(
                        value,
                        def.ty.inner_named_type(),
                        self.rules.field_weight(type_name, name),
                        depth + 1,
                    );
                }
            }
        }
        cost
    }

    /// The actual cost of an operation's response `data`.
    pub fn actual(&self, operation: &apollo_compiler::executable::Operation, data: &Value) -> f64 {
        let base = if operation.operation_type == apollo_compiler::ast::OperationType::Mutation {
            MUTATION_COST
        } else {
            0.0
        };
        match data {
            Value::Object(object) => {
                base + self.actual_set(&operation.selection_set, object, &mut Vec::new(), 0)
            }
            _ => base,
        }
    }

    /// `counted`: response keys of `object` already counted (a key selected in several
    /// fragments is one value).
    fn actual_set(
        &self,
        set: &SelectionSet,
        object: &Map<String, Value>,
        counted: &mut Vec<Name>,
        depth: usize,
    ) -> f64 {
        if depth > MAX_DEPTH {
            return 0.0;
        }
        let typename = object.get("__typename").and_then(Value::as_str);
        let applies = |condition: Option<&Name>| match (condition, typename) {
            (Some(condition), Some(typename)) => {
                condition == typename
                    || self
                        .schema
                        .get_object(typename)
                        .is_some_and(|_| self.schema.is_subtype(condition, typename))
            }
            _ => true,
        };
        let mut cost = 0.0;
        for selection in &set.selections {
            cost += match selection {
                Selection::Field(field) => {
                    let key = field.response_key();
                    if counted.contains(key) {
                        continue;
                    }
                    let Some(value) = object.get(key.as_str()) else {
                        continue;
                    };
                    counted.push(key.clone());
                    self.actual_field(&set.ty, field, value, depth)
                }
                Selection::InlineFragment(inline) => {
                    if !applies(inline.type_condition.as_ref()) {
                        continue;
                    }
                    self.actual_set(&inline.selection_set, object, counted, depth + 1)
                }
                Selection::FragmentSpread(spread) => {
                    let Some(fragment) = self.document.fragments.get(&spread.fragment_name) else {
                        continue;
                    };
                    if !applies(Some(fragment.type_condition())) {
                        continue;
                    }
                    self.actual_set(&fragment.selection_set, object, counted, depth + 1)
                }
            };
        }
        cost
    }

    fn actual_field(&self, parent: &Name, field: &Field, value: &Value, depth: usize) -> f64 {
        if field.name.starts_with("__") {
            return 0.0;
        }
        let arguments = self.arguments_cost(parent, field);
        let own = self.type_cost(parent, field);
        arguments + self.actual_value(field, own, value, depth)
    }

    fn actual_value(&self, field: &Field, own: f64, value: &Value, depth: usize) -> f64 {
        match value {
            Value::Null => 0.0,
            Value::Array(items) => items
                .iter()
                .map(|item| self.actual_value(field, own, item, depth + 1))
                .sum(),
            Value::Object(object) => {
                own + self.actual_set(&field.selection_set, object, &mut Vec::new(), depth + 1)
            }
            _ => own,
        }
    }
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;
