//! Who may see what: the security directives of the supergraph (`@authenticated`,
//! `@requiresScopes`, `@policy`, as Apollo's composition writes them, under their linked
//! names) read into data, per type and per field. Enforcing them is authorization's job.

use std::collections::{BTreeSet, HashMap};

use apollo_compiler::ast::{DirectiveList, Value};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use super::link::{AUTHENTICATED, POLICY, REQUIRES_SCOPES, SpecNames};

/// What a client must have to see a type or a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// `@authenticated`: any verified identity.
    pub authenticated: bool,
    /// One entry per `@requiresScopes` applied, each all of: alternatives (any one), each a
    /// set of scopes (all of them).
    pub scopes: Vec<Vec<Vec<String>>>,
    /// The same for `@policy`, with policy names.
    pub policies: Vec<Vec<Vec<String>>>,
}

impl Requirements {
    fn is_empty(&self) -> bool {
        !self.authenticated && self.scopes.is_empty() && self.policies.is_empty()
    }
}

/// The requirements of a supergraph's types and fields.
#[derive(Debug, Clone, Default)]
pub struct AccessRules {
    types: HashMap<Name, Requirements>,
    /// By type, then field.
    fields: HashMap<Name, HashMap<Name, Requirements>>,
    /// Every scope and policy some directive names.
    scopes: BTreeSet<String>,
    policies: BTreeSet<String>,
}

impl AccessRules {
    pub(super) fn read(schema: &Schema, names: &SpecNames) -> Self {
        let directive_names = Names {
            authenticated: names.directive(AUTHENTICATED, AUTHENTICATED),
            scopes: names.directive(REQUIRES_SCOPES, REQUIRES_SCOPES),
            policies: names.directive(POLICY, POLICY),
        };
        let mut rules = Self::default();
        if directive_names.none() {
            return rules;
        }
        for (type_name, ty) in &schema.types {
            if ty.is_built_in() {
                continue;
            }
            rules.add_type(type_name, directive_names.read_schema(ty.directives()));
            let fields = match ty {
                ExtendedType::Object(object) => &object.fields,
                ExtendedType::Interface(interface) => &interface.fields,
                _ => continue,
            };
            for (field_name, field) in fields {
                let requirements = directive_names.read_ast(&field.directives);
                if !requirements.is_empty() {
                    rules.collect_names(&requirements);
                    rules
                        .fields
                        .entry(type_name.clone())
                        .or_default()
                        .insert(field_name.clone(), requirements);
                }
            }
        }
        rules
    }

    fn add_type(&mut self, name: &Name, requirements: Requirements) {
        if !requirements.is_empty() {
            self.collect_names(&requirements);
            self.types.insert(name.clone(), requirements);
        }
    }

    fn collect_names(&mut self, requirements: &Requirements) {
        for (all, names) in [
            (&requirements.scopes, &mut self.scopes),
            (&requirements.policies, &mut self.policies),
        ] {
            names.extend(all.iter().flatten().flatten().cloned());
        }
    }

    /// No directive anywhere: nothing to enforce.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.fields.is_empty()
    }

    pub fn of_type(&self, type_name: &str) -> Option<&Requirements> {
        self.types.get(type_name)
    }

    pub fn of_field(&self, type_name: &str, field: &str) -> Option<&Requirements> {
        self.fields.get(type_name)?.get(field)
    }

    /// Every scope some `@requiresScopes` names.
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.scopes
    }

    /// Every policy some `@policy` names.
    pub fn policies(&self) -> &BTreeSet<String> {
        &self.policies
    }
}

struct Names {
    authenticated: Option<String>,
    scopes: Option<String>,
    policies: Option<String>,
}

impl Names {
    fn none(&self) -> bool {
        self.authenticated.is_none() && self.scopes.is_none() && self.policies.is_none()
    }

    fn read_schema(&self, directives: &apollo_compiler::schema::DirectiveList) -> Requirements {
        self.read(directives.iter().map(|d| d.as_ref()))
    }

    fn read_ast(&self, directives: &DirectiveList) -> Requirements {
        self.read(directives.iter().map(|d| d.as_ref()))
    }

    fn read<'d>(
        &self,
        directives: impl Iterator<Item = &'d apollo_compiler::ast::Directive> + Clone,
    ) -> Requirements {
        let named = |name: &Option<String>| {
            let name = name.clone();
            directives
                .clone()
                .filter(move |d| name.as_deref() == Some(d.name.as_str()))
        };
        Requirements {
            authenticated: named(&self.authenticated).next().is_some(),
            scopes: named(&self.scopes)
                .map(|d| nested_strings(d.specified_argument_by_name("scopes")))
                .collect(),
            policies: named(&self.policies)
                .map(|d| nested_strings(d.specified_argument_by_name("policies")))
                .collect(),
        }
    }
}

/// `[["a", "b"], ["c"]]` as lists of strings (anything else is skipped).
fn nested_strings(value: Option<&apollo_compiler::Node<Value>>) -> Vec<Vec<String>> {
    let Some(Value::List(alternatives)) = value.map(|v| v.as_ref()) else {
        return Vec::new();
    };
    alternatives
        .iter()
        .map(|alternative| match alternative.as_ref() {
            Value::List(all) => all
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            // A single value where a list is expected is coerced to a list of one.
            Value::String(one) => vec![one.clone()],
            _ => Vec::new(),
        })
        .collect()
}
