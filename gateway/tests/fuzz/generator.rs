//! Valid GraphQL documents over an API schema, grown from its types: operations (queries and
//! mutations) with fields, arguments (literals and variables), nested selections, aliases,
//! inline fragments, named fragments that spread each other, `@skip`/`@include`, `__typename`
//! and introspection, several operations with an operation name, and the variables JSON.
//!
//! Valid by construction, so that the gateway rejecting one points at the gateway (or at this
//! generator): every rule the validator checks is kept here, the way noted at each place.

use std::collections::{BTreeSet, HashMap};

use apollo_compiler::ast::{FieldDefinition, OperationType, Type};
use apollo_compiler::{Name, Node, Schema};
use indexmap::IndexMap;
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use super::schema_view::SchemaView;
use super::values::{self, NoVariables, VariableSlot};

/// How big generated documents may grow.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Selection sets nest at most this deep (fragments count as a level).
    pub max_depth: usize,
    /// Selections per selection set, at most.
    pub max_width: usize,
    /// Named fragments per document, at most.
    pub max_fragments: usize,
    /// Operations per document, at most.
    pub max_operations: usize,
    /// The share of arguments given a value of the wrong type (0 for valid documents).
    pub wrong_arguments: f64,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            max_depth: 5,
            max_width: 4,
            max_fragments: 6,
            max_operations: 3,
            wrong_arguments: 0.0,
        }
    }
}

/// A generated document with the request parts that go with it.
pub struct Document {
    pub text: String,
    pub operation_name: Option<String>,
    /// Values of the right type for the variables of every operation (extra ones are ignored).
    pub variables: Map<String, Value>,
    /// Every variable declared somewhere in the document, with its type.
    pub variable_types: Vec<(String, Type)>,
}

pub fn generate(view: &SchemaView, rng: &mut ChaCha8Rng, knobs: &Knobs) -> Document {
    let mut builder = Builder {
        view,
        knobs,
        keys: HashMap::new(),
        aliases: Vec::new(),
        vars: Variables {
            schema: view.schema,
            defs: IndexMap::new(),
            usage: Vec::new(),
        },
        fragments: Vec::new(),
        fragments_started: 0,
    };
    let count = match rng.random_range(0..10) {
        0..=6 => 1,
        _ => rng.random_range(1..=knobs.max_operations.max(1)),
    };
    // A lone operation may be anonymous; several must all be named.
    let names: Vec<Option<String>> = (0..count)
        .map(|i| (count > 1 || rng.random_bool(0.5)).then(|| format!("Op{i}")))
        .collect();
    let mut definitions: Vec<String> = names
        .iter()
        .map(|name| builder.operation(rng, name.as_deref()))
        .collect();
    definitions.extend(builder.fragments.iter().map(|f| f.text.clone()));
    if rng.random_bool(0.3) {
        definitions.shuffle(rng);
    }
    let operation_name = match names.choose(rng).cloned().flatten() {
        Some(name) if count > 1 || rng.random_bool(0.5) => Some(name),
        _ => None,
    };
    let separator = if rng.random_bool(0.2) { "\n, " } else { "\n" };
    Document {
        text: definitions.join(separator),
        operation_name,
        variables: builder.vars.json(rng),
        variable_types: builder
            .vars
            .defs
            .iter()
            .map(|(name, def)| (name.clone(), def.ty.clone()))
            .collect(),
    }
}

struct Builder<'v, 's> {
    view: &'v SchemaView<'s>,
    knobs: &'v Knobs,
    /// Response key → (field name, arguments text, type text), for the whole document. Two
    /// fields with one response key then always select the same thing, so they merge wherever
    /// fragments bring them together (the validator's "fields in set can merge").
    keys: HashMap<String, (String, String, String)>,
    /// Aliases given so far: reusing one makes fields meet under one key on purpose.
    aliases: Vec<String>,
    vars: Variables<'s>,
    /// Finished fragments. Only these are spread again, so a fragment never reaches itself.
    fragments: Vec<Fragment>,
    fragments_started: usize,
}

struct Fragment {
    name: String,
    condition: Name,
    text: String,
    /// The variables its selections use, its spreads' included: every operation spreading
    /// it must declare them.
    variables: BTreeSet<String>,
}

impl Builder<'_, '_> {
    fn operation(&mut self, rng: &mut ChaCha8Rng, name: Option<&str>) -> String {
        let kind = if self.view.root(OperationType::Mutation).is_some() && rng.random_bool(0.2) {
            OperationType::Mutation
        } else {
            OperationType::Query
        };
        let root = self
            .view
            .root(kind)
            .expect("the API schema has a query type");
        self.vars.usage.push(BTreeSet::new());
        let body = self.selection_set(rng, root, 0);
        // Declared at the end: exactly the variables used, so none is unused or undefined.
        let used = self.vars.usage.pop().unwrap_or_default();
        let declarations: Vec<String> = used
            .iter()
            .map(|name| self.vars.declaration(name))
            .collect();
        let keyword = match kind {
            OperationType::Mutation => "mutation",
            _ => "query",
        };
        match (name, declarations.is_empty()) {
            (None, true) if kind == OperationType::Query && rng.random_bool(0.5) => body,
            (name, true) => format!("{keyword} {} {body}", name.unwrap_or_default()),
            (name, false) => format!(
                "{keyword} {}({}) {body}",
                name.unwrap_or_default(),
                declarations.join(", ")
            ),
        }
    }

    fn selection_set(&mut self, rng: &mut ChaCha8Rng, parent: &Name, depth: usize) -> String {
        let width = rng.random_range(1..=self.knobs.max_width.max(1));
        let mut items: Vec<String> = (0..width)
            .filter_map(|_| self.selection(rng, parent, depth))
            .collect();
        if items.is_empty() {
            // Unions have no fields of their own; `__typename` is always selectable.
            items.push("__typename".into());
        }
        format!("{{ {} }}", items.join(" "))
    }

    fn selection(&mut self, rng: &mut ChaCha8Rng, parent: &Name, depth: usize) -> Option<String> {
        let nests = depth + 1 < self.knobs.max_depth;
        let on_query_root = self.view.root(OperationType::Query) == Some(parent);
        match rng.random_range(0..20) {
            0..=1 => Some(self.typename(rng)),
            2..=3 if nests => self.inline_fragment(rng, parent, depth),
            4..=5 if nests => self.fragment_spread(rng, parent, depth),
            6 if nests && on_query_root => Some(self.introspection(rng, depth)),
            _ => self.field(rng, parent, depth),
        }
    }

    fn typename(&mut self, rng: &mut ChaCha8Rng) -> String {
        let key = self.response_key(rng, "__typename", "", "String!", None);
        format!("{key}__typename{}", self.directives(rng))
    }

    fn field(&mut self, rng: &mut ChaCha8Rng, parent: &Name, depth: usize) -> Option<String> {
        let fields = self.view.fields(parent);
        let field = *fields.choose(rng)?;
        let arguments = self.arguments(rng, field);
        let other = fields.choose(rng).map(|f| f.name.as_str());
        let key = self.response_key(rng, &field.name, &arguments, &field.ty.to_string(), other);
        let directives = self.directives(rng);
        let sub = self.sub_selection(rng, &field.ty, depth);
        Some(format!("{key}{}{arguments}{directives}{sub}", field.name))
    }

    /// The selection a field of type `ty` needs: none for leaves, at least `__typename` for
    /// composites (even at the depth limit).
    fn sub_selection(&mut self, rng: &mut ChaCha8Rng, ty: &Type, depth: usize) -> String {
        if !self.view.is_composite(ty) {
            String::new()
        } else if depth + 1 >= self.knobs.max_depth {
            " { __typename }".into()
        } else {
            format!(
                " {}",
                self.selection_set(rng, ty.inner_named_type(), depth + 1)
            )
        }
    }

    fn arguments(&mut self, rng: &mut ChaCha8Rng, field: &Node<FieldDefinition>) -> String {
        let schema = self.view.schema;
        let mut parts = Vec::new();
        for argument in &field.arguments {
            let required = argument.ty.is_non_null() && argument.default_value.is_none();
            if required || rng.random_bool(0.4) {
                let value = if rng.random_bool(self.knobs.wrong_arguments) {
                    values::wrong_literal(schema, rng, &argument.ty)
                } else {
                    values::literal(schema, rng, &argument.ty, &mut self.vars, 0)
                };
                parts.push(format!("{}: {value}", argument.name));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    }

    /// `alias: ` or nothing. Mostly the field's own name; sometimes an alias given before
    /// (fields meeting under one key), another field's name (`name: email`), or a new one.
    fn response_key(
        &mut self,
        rng: &mut ChaCha8Rng,
        name: &str,
        arguments: &str,
        ty: &str,
        other_field: Option<&str>,
    ) -> String {
        let identity = (name.to_string(), arguments.to_string(), ty.to_string());
        let wanted = match rng.random_range(0..10) {
            0..=5 => name.to_string(),
            6..=7 if !self.aliases.is_empty() => self.aliases.choose(rng).expect("aliases").clone(),
            8 if other_field.is_some() => other_field.expect("other field").to_string(),
            _ => self.fresh_alias(),
        };
        let key = match self.keys.get(&wanted) {
            Some(taken) if *taken != identity => self.fresh_alias(),
            _ => wanted,
        };
        self.keys.insert(key.clone(), identity);
        if key == name {
            String::new()
        } else {
            if !self.aliases.contains(&key) {
                self.aliases.push(key.clone());
            }
            format!("{key}: ")
        }
    }

    fn fresh_alias(&self) -> String {
        // `fz` keeps it clear of the schema's field names.
        format!("fz{}", self.keys.len())
    }

    fn directives(&mut self, rng: &mut ChaCha8Rng) -> String {
        let condition = |rng: &mut ChaCha8Rng, vars: &mut Variables| {
            if rng.random_bool(0.5) {
                rng.random_bool(0.5).to_string()
            } else {
                let boolean = Type::NonNullNamed(Name::new("Boolean").expect("name"));
                vars.variable(rng, &boolean).expect("variables allowed")
            }
        };
        match rng.random_range(0..12) {
            0 => format!(" @skip(if: {})", condition(rng, &mut self.vars)),
            1 => format!(" @include(if: {})", condition(rng, &mut self.vars)),
            2 => format!(
                " @include(if: {}) @skip(if: {})",
                condition(rng, &mut self.vars),
                condition(rng, &mut self.vars)
            ),
            _ => String::new(),
        }
    }

    fn inline_fragment(
        &mut self,
        rng: &mut ChaCha8Rng,
        parent: &Name,
        depth: usize,
    ) -> Option<String> {
        let condition = if rng.random_bool(0.2) {
            None
        } else {
            Some(
                self.view
                    .applicable_conditions(parent)
                    .choose(rng)?
                    .to_owned()
                    .clone(),
            )
        };
        let directives = self.directives(rng);
        let on = condition.as_ref().unwrap_or(parent);
        let body = self.selection_set(rng, on, depth + 1);
        Some(match condition {
            Some(condition) => format!("... on {condition}{directives} {body}"),
            None => format!("...{directives} {body}"),
        })
    }

    fn fragment_spread(
        &mut self,
        rng: &mut ChaCha8Rng,
        parent: &Name,
        depth: usize,
    ) -> Option<String> {
        let reusable: Vec<usize> = (0..self.fragments.len())
            .filter(|&i| self.view.applies(&self.fragments[i].condition, parent))
            .collect();
        let room = self.fragments_started < self.knobs.max_fragments;
        let index = match reusable.choose(rng) {
            Some(&index) if !room || rng.random_bool(0.5) => index,
            _ if room => self.new_fragment(rng, parent, depth)?,
            _ => return None,
        };
        let fragment = &self.fragments[index];
        let (name, variables) = (fragment.name.clone(), fragment.variables.clone());
        if let Some(usage) = self.vars.usage.last_mut() {
            usage.extend(variables);
        }
        Some(format!("...{name}{}", self.directives(rng)))
    }

    fn new_fragment(&mut self, rng: &mut ChaCha8Rng, parent: &Name, depth: usize) -> Option<usize> {
        let condition = self
            .view
            .applicable_conditions(parent)
            .choose(rng)?
            .to_owned()
            .clone();
        let name = format!("F{}", self.fragments_started);
        self.fragments_started += 1;
        self.vars.usage.push(BTreeSet::new());
        let body = self.selection_set(rng, &condition, depth + 1);
        let variables = self.vars.usage.pop().unwrap_or_default();
        self.fragments.push(Fragment {
            text: format!("fragment {name} on {condition} {body}"),
            name,
            condition,
            variables,
        });
        Some(self.fragments.len() - 1)
    }

    /// `__schema { … }` or `__type(name: …) { … }`, answered by the gateway itself.
    fn introspection(&mut self, rng: &mut ChaCha8Rng, depth: usize) -> String {
        let (field, arguments, ty) = if rng.random_bool(0.4) {
            ("__schema", String::new(), "__Schema!")
        } else {
            let names: Vec<_> = self.view.schema.types.keys().collect();
            let name = match names.choose(rng) {
                Some(name) if rng.random_bool(0.9) => format!("\"{name}\""),
                _ => "\"NoSuchType\"".into(),
            };
            ("__type", format!("(name: {name})"), "__Type")
        };
        let key = self.response_key(rng, field, &arguments, ty, None);
        let ty = Type::Named(Name::new(ty.trim_end_matches('!')).expect("name"));
        let sub = self.sub_selection(rng, &ty, depth);
        format!("{key}{field}{arguments}{sub}")
    }
}

/// The document's variables: declared once each with one type, shared by operations and
/// fragments; `usage` has one set per operation or fragment being generated.
struct Variables<'s> {
    schema: &'s Schema,
    defs: IndexMap<String, VariableDef>,
    usage: Vec<BTreeSet<String>>,
}

struct VariableDef {
    ty: Type,
    default: Option<String>,
}

impl Variables<'_> {
    fn declaration(&self, name: &str) -> String {
        let def = &self.defs[name];
        match &def.default {
            Some(default) => format!("${name}: {} = {default}", def.ty),
            None => format!("${name}: {}", def.ty),
        }
    }

    /// Values for every variable: of the right type, or left out when they may be.
    fn json(&self, rng: &mut ChaCha8Rng) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, def) in &self.defs {
            let optional = !def.ty.is_non_null() || def.default.is_some();
            if optional && rng.random_bool(0.2) {
                continue;
            }
            out.insert(
                name.clone(),
                values::json_value(self.schema, rng, &def.ty, 0),
            );
        }
        out
    }
}

impl VariableSlot for Variables<'_> {
    /// A variable usable where `ty` is expected: one declared with that very type (or its
    /// non-null form, which is allowed anywhere the nullable one is), or a new one.
    fn variable(&mut self, rng: &mut ChaCha8Rng, ty: &Type) -> Option<String> {
        let wanted = ty.to_string();
        let strict = format!("{wanted}!");
        let reusable: Vec<&String> = self
            .defs
            .iter()
            .filter(|(_, def)| {
                let declared = def.ty.to_string();
                declared == wanted || (declared == strict && def.default.is_none())
            })
            .map(|(name, _)| name)
            .collect();
        let name = match reusable.choose(rng) {
            Some(name) if rng.random_bool(0.5) => (*name).clone(),
            _ => {
                let name = format!("v{}", self.defs.len());
                let declared = if !ty.is_non_null() && rng.random_bool(0.3) {
                    ty.clone().non_null()
                } else {
                    ty.clone()
                };
                let default = (rng.random_bool(0.2))
                    .then(|| values::literal(self.schema, rng, &declared, &mut NoVariables, 0));
                self.defs.insert(
                    name.clone(),
                    VariableDef {
                        ty: declared,
                        default,
                    },
                );
                name
            }
        };
        if let Some(usage) = self.usage.last_mut() {
            usage.insert(name.clone());
        }
        Some(format!("${name}"))
    }
}
