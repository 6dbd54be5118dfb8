//! The heart of the planner: decides, location by location, which subgraph resolves each
//! selected field, and where the plan must jump from one subgraph to another through an entity
//! key. Everything here is pure: a call returns what it planned and the caller decides whether
//! to keep it, which is how alternatives are compared by cost.
//!
//! A *location* is a point in one subgraph fetch's selection (a subgraph and the type found
//! there). Planning a selection at a location yields:
//! - the fields the fetch selects there (its own, plus keys and `@requires` inputs that later
//!   fetches need),
//! - the *jumps*: entity fetches to other subgraphs that hang off this location,
//! - the *leftover*: what neither this subgraph nor a jump from here can resolve; the caller
//!   retries it one level up (e.g. a shareable field fetched again from another subgraph).

use std::cell::{Cell, RefCell};

use apollo_compiler::Name;
use apollo_compiler::ast::Type;

use super::field_set::from_field_set;
use super::plan::PathSegment;
use crate::operation::selection::{Field, InlineFragment, Selection, SelectionSet};
use crate::supergraph::{OverrideLabels, SubgraphId, Supergraph, TypeKind};

pub(super) type JumpId = u32;

/// The cost of one more fetch, against which a field fetched through a jump weighs 1.
pub(super) const FETCH_COST: u32 = 1000;

/// How many locations one plan may explore by default. Comparing alternatives can grow quickly
/// with deeply nested shareable paths; past the budget planning stops instead of hogging a core.
pub const DEFAULT_LOCATION_BUDGET: u32 = 200_000;

/// What one subgraph fetch does at one location, and the entity fetches that follow from it.
#[derive(Debug, Clone, Default)]
pub(super) struct Planned {
    pub selection: SelectionSet,
    pub jumps: Vec<Jump>,
    /// What alternatives are compared by: [`FETCH_COST`] per fetch this part of the plan adds,
    /// plus one per field those fetches select (less crossing between subgraphs wins ties).
    pub cost: u32,
}

/// An entity fetch from a location to another subgraph.
#[derive(Debug, Clone)]
pub(super) struct Jump {
    pub id: JumpId,
    /// Where the entities are, relative to the location that holds this jump.
    pub path: Vec<PathSegment>,
    pub subgraph: SubgraphId,
    /// The type the target subgraph resolves (`... on X`, and the representations'
    /// `__typename`); an interface when the target models it with `@interfaceObject`.
    pub entity_type: Name,
    /// The key and `@requires` fields copied from each object into its representation.
    pub requires: SelectionSet,
    /// What the target selects on each entity, and the jumps that follow from there.
    pub inner: Planned,
    /// Sibling jumps that fetch this jump's `@requires` (or key) inputs.
    pub depends_on: Vec<JumpId>,
    /// The contextual variables the target's selection uses (see `contexts`): each
    /// representation carries its own values.
    pub contexts: Vec<Name>,
}

#[derive(Debug, Default)]
pub(super) struct Located {
    pub planned: Planned,
    pub leftover: SelectionSet,
}

/// A selection that cannot be planned from where it was tried.
#[derive(Debug)]
pub(super) struct Unplannable;

impl Planned {
    fn absorb(&mut self, other: Planned) {
        for item in other.selection.items {
            self.selection.merge_in(item);
        }
        self.jumps.extend(other.jumps);
        self.cost += other.cost;
    }

    /// Every jump id in this plan, nested ones included.
    pub fn all_jump_ids(&self, out: &mut Vec<JumpId>) {
        for jump in &self.jumps {
            out.push(jump.id);
            jump.inner.all_jump_ids(out);
        }
    }
}

fn prefixed(jumps: Vec<Jump>, prefix: &[PathSegment]) -> impl Iterator<Item = Jump> + '_ {
    jumps.into_iter().map(move |mut jump| {
        let mut path = prefix.to_vec();
        path.append(&mut jump.path);
        jump.path = path;
        jump
    })
}

/// The path segments a field adds: its response key, then one list step per list wrapper.
pub(super) fn field_path(field: &Field) -> Vec<PathSegment> {
    let mut path = vec![PathSegment::Field(field.response_key().clone())];
    let mut ty = &field.ty;
    while let Type::List(inner) | Type::NonNullList(inner) = ty {
        path.push(PathSegment::List);
        ty = inner;
    }
    path
}

pub(super) struct Walker<'a> {
    pub sg: &'a Supergraph,
    /// The progressive override labels active for the plan being made.
    pub labels: &'a OverrideLabels,
    next_jump: Cell<JumpId>,
    /// (subgraph, type, field) triples currently being resolved through a jump: seeking one
    /// again while resolving it (a key or `@requires` cycle) is a dead end, not a loop.
    seeking: RefCell<Vec<(SubgraphId, Name, Name)>>,
    /// For the location being planned: the subgraphs that could serve it instead of the
    /// chosen one (through shareable fields and entity keys since the last entity jump).
    /// Only union members all of them know are safe to select (see `plan_abstract`).
    alternatives: RefCell<Vec<Vec<SubgraphId>>>,
    /// Locations planned so far, against `budget`.
    explored: Cell<u32>,
    budget: u32,
    /// The variables that bind contextual arguments in this operation (see `contexts`).
    contextual: Vec<Name>,
}

impl<'a> Walker<'a> {
    pub fn new(sg: &'a Supergraph, labels: &'a OverrideLabels, budget: u32) -> Self {
        Self {
            sg,
            labels,
            next_jump: Cell::new(0),
            seeking: RefCell::new(Vec::new()),
            alternatives: RefCell::new(vec![sg.subgraphs().iter().map(|s| s.id).collect()]),
            explored: Cell::new(0),
            budget,
            contextual: Vec::new(),
        }
    }

    /// Names the variables that bind contextual arguments (see `contexts`).
    pub fn with_contextual(mut self, variables: Vec<Name>) -> Self {
        self.contextual = variables;
        self
    }

    /// The contextual variables the fields of `selection` (an entity's) pass as arguments.
    pub(super) fn contexts_of(&self, selection: &SelectionSet) -> Vec<Name> {
        let mut out = Vec::new();
        if self.contextual.is_empty() {
            return out;
        }
        let fields = selection
            .fields()
            .chain(selection.fragments().flat_map(|f| f.selection_set.fields()));
        for field in fields {
            for (_, value) in &field.arguments {
                if let apollo_compiler::ast::Value::Variable(variable) = value.as_ref()
                    && self.contextual.contains(variable)
                    && !out.contains(variable)
                {
                    out.push(variable.clone());
                }
            }
        }
        out
    }

    /// Plans `selection` at a location of type `parent` in subgraph `s`. `provided` is what an
    /// enclosing `@provides` lets `s` resolve here although it is `@external`.
    pub fn plan_at(
        &self,
        s: SubgraphId,
        parent: &Name,
        selection: &SelectionSet,
        provided: Option<&SelectionSet>,
    ) -> Located {
        self.plan_location(s, parent, selection, provided, false)
    }

    /// Plans `selection` on the entities of type `entity` that an `_entities` fetch to `s`
    /// returns (a deferred fragment's own fetch), with the `@requires` inputs its
    /// representations need besides a key.
    pub fn plan_entity(
        &self,
        s: SubgraphId,
        entity: &Name,
        selection: &SelectionSet,
    ) -> (Located, SelectionSet) {
        let located = self.plan_location(s, entity, selection, None, true);
        let required = self.requires_of(s, entity, selection);
        (located, required)
    }

    /// Like [`Self::plan_at`]; `entity_root` says the location is the entity of an
    /// `_entities` fetch, where fields with `@requires` can be resolved (their inputs arrive
    /// in the representation).
    fn plan_location(
        &self,
        s: SubgraphId,
        parent: &Name,
        selection: &SelectionSet,
        provided: Option<&SelectionSet>,
        entity_root: bool,
    ) -> Located {
        self.explored.set(self.explored.get().saturating_add(1));
        let def = self.sg.type_def(parent).filter(|_| !self.exhausted());
        let Some(def) = def else {
            return Located {
                leftover: selection.clone(),
                ..Default::default()
            };
        };
        match def.kind {
            TypeKind::Object => {
                self.plan_object(s, parent, selection, provided, false, entity_root)
            }
            TypeKind::Interface if def.in_subgraph(s).is_some_and(|t| t.is_interface_object) => {
                self.plan_object(s, parent, selection, provided, true, entity_root)
            }
            TypeKind::Interface | TypeKind::Union => {
                self.plan_abstract(s, parent, selection, provided, entity_root)
            }
            _ => Located::default(),
        }
    }

    /// Whether values of `type_name` are objects (an object, interface or union type).
    fn is_composite(&self, type_name: &Name) -> bool {
        use apollo_compiler::schema::ExtendedType;
        matches!(
            self.sg.schema().types.get(type_name),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
        )
    }

    /// Whether planning ran out of its budget (the plan is then abandoned).
    pub fn exhausted(&self) -> bool {
        self.explored.get() > self.budget
    }

    /// Plans at an object type, or at an interface that `s` models as an `@interfaceObject`
    /// (`interface_object`): there `s` does not know the concrete types, so `__typename` and
    /// fragments on concrete types must come from a subgraph that does.
    fn plan_object(
        &self,
        s: SubgraphId,
        parent: &Name,
        selection: &SelectionSet,
        provided: Option<&SelectionSet>,
        interface_object: bool,
        entity_root: bool,
    ) -> Located {
        let mut unresolved_fragments = Vec::new();
        let fields = self.collect_fields(
            selection,
            parent,
            interface_object,
            &mut unresolved_fragments,
        );
        let provided_here =
            provided.map(|p| self.collect_fields(p, parent, false, &mut Vec::new()));
        let mut out = Located::default();
        let mut nonlocal = SelectionSet::default();
        for field in fields.fields() {
            if field.name == "__typename" {
                if interface_object {
                    nonlocal.merge_in(Selection::Field(field.clone()));
                } else {
                    out.planned
                        .selection
                        .merge_in(Selection::Field(field.clone()));
                }
                continue;
            }
            let Some(child_provided) =
                self.local(s, parent, field, provided_here.as_ref(), entity_root)
            else {
                nonlocal.merge_in(Selection::Field(field.clone()));
                continue;
            };
            if field.selection_set.is_empty() {
                let mut field = field.clone();
                if self.is_composite(field.ty.inner_named_type()) {
                    // Every selection under it was skipped: the client gets `{}`, but the
                    // subgraph still needs a selection set to be sent valid GraphQL.
                    field
                        .selection_set
                        .items
                        .push(Selection::Field(Field::typename()));
                }
                out.planned.selection.merge_in(Selection::Field(field));
                continue;
            }
            let alternatives = self.child_alternatives(s, parent, &field.name);
            self.alternatives.borrow_mut().push(alternatives);
            let child = self.plan_at(
                s,
                field.ty.inner_named_type(),
                &field.selection_set,
                child_provided.as_ref(),
            );
            self.alternatives.borrow_mut().pop();
            if child.planned.selection.is_empty() {
                // Nothing of it resolvable here: the whole field goes elsewhere.
                nonlocal.merge_in(Selection::Field(Field {
                    selection_set: child.leftover,
                    ..field.clone()
                }));
                continue;
            }
            let path = field_path(field);
            out.planned.selection.merge_in(Selection::Field(Field {
                selection_set: child.planned.selection,
                ..field.clone()
            }));
            out.planned
                .jumps
                .extend(prefixed(child.planned.jumps, &path));
            out.planned.cost += child.planned.cost;
            if !child.leftover.is_empty() {
                nonlocal.merge_in(Selection::Field(Field {
                    selection_set: child.leftover,
                    ..field.clone()
                }));
            }
        }
        for fragment in unresolved_fragments {
            nonlocal.merge_in(Selection::InlineFragment(fragment));
        }
        if !nonlocal.is_empty() {
            let (additions, leftover) = self.jump_from(
                s,
                parent,
                interface_object,
                &nonlocal,
                provided_here.as_ref(),
                &fields,
            );
            out.planned.absorb(additions);
            out.leftover = leftover;
        }
        out
    }

    /// Plans at an interface or union that `s` knows as such. Keeps the selection on the
    /// abstract type when `s` resolves every field the same way for all its implementations,
    /// and otherwise splits it into one fragment per concrete type `s` can return.
    fn plan_abstract(
        &self,
        s: SubgraphId,
        parent: &Name,
        selection: &SelectionSet,
        provided: Option<&SelectionSet>,
        entity_root: bool,
    ) -> Located {
        let mut possible = self.sg.possible_types_in(parent, s);
        let is_union = self
            .sg
            .type_def(parent)
            .is_some_and(|d| d.kind == TypeKind::Union);
        if is_union {
            // A member some alternative subgraph lacks may not be selected: which subgraph
            // serves this path is not fixed, so only members all of them share are safe.
            let alternatives = self
                .alternatives
                .borrow()
                .last()
                .cloned()
                .unwrap_or_default();
            possible.retain(|member| {
                alternatives
                    .iter()
                    .all(|a| self.sg.possible_types_in(parent, *a).contains(member))
            });
        }
        let is_interface = self
            .sg
            .type_def(parent)
            .is_some_and(|d| d.kind == TypeKind::Interface);
        let uniform = selection.fields().all(|field| {
            field.name == "__typename"
                || (is_interface
                    && (self.local_uniform(s, parent, field, &possible, provided, entity_root)
                        || self.added_by_interface_object(s, parent, &field.name)))
        });
        let mut out = Located::default();
        out.planned
            .selection
            .merge_in(Selection::Field(Field::typename()));
        let plan_for_object = |object: &Name, items: &SelectionSet, out: &mut Located| {
            let provided_here =
                provided.map(|p| self.collect_fields(p, object, false, &mut Vec::new()));
            let located = self.plan_location(s, object, items, provided_here.as_ref(), entity_root);
            let path = [PathSegment::TypeCondition(vec![object.clone()])];
            if !located.planned.selection.is_empty() {
                out.planned
                    .selection
                    .merge_in(Selection::InlineFragment(InlineFragment {
                        type_condition: object.clone(),
                        selection_set: located.planned.selection,
                    }));
            }
            out.planned
                .jumps
                .extend(prefixed(located.planned.jumps, &path));
            out.planned.cost += located.planned.cost;
            if !located.leftover.is_empty() {
                out.leftover
                    .merge_in(Selection::InlineFragment(InlineFragment {
                        type_condition: object.clone(),
                        selection_set: located.leftover,
                    }));
            }
        };
        if uniform {
            let direct = SelectionSet {
                items: selection
                    .fields()
                    .map(|f| Selection::Field(f.clone()))
                    .collect(),
            };
            let located = self.plan_object(s, parent, &direct, provided, false, entity_root);
            out.planned.absorb(located.planned);
            for item in located.leftover.items {
                out.leftover.merge_in(item);
            }
            for fragment in selection.fragments() {
                for object in &possible {
                    if self.sg.is_subtype_or_same(&fragment.type_condition, object) {
                        plan_for_object(object, &fragment.selection_set, &mut out);
                    }
                }
            }
        } else {
            if possible.is_empty() && selection.fields().any(|f| f.name != "__typename") {
                // No implementation here can answer a field of the interface.
                return Located {
                    planned: Planned::default(),
                    leftover: selection.clone(),
                };
            }
            for object in &possible {
                plan_for_object(object, selection, &mut out);
            }
            // A field selected on the interface itself is resolved for all implementations by
            // this subgraph or not at all: its value must not be pieced together from
            // different subgraphs type by type.
            let interface_fields: Vec<&Name> =
                selection.fields().map(|f| f.response_key()).collect();
            let split = out.leftover.fragments().any(|fragment| {
                fragment
                    .selection_set
                    .fields()
                    .any(|f| interface_fields.contains(&f.response_key()))
            });
            if split {
                return Located {
                    planned: Planned::default(),
                    leftover: selection.clone(),
                };
            }
        }
        out
    }

    /// The subgraphs that could serve `parent.field` here: those of the current alternatives
    /// that resolve it, plus any a key jump could reach when `parent` is an entity.
    fn child_alternatives(&self, s: SubgraphId, parent: &Name, field: &Name) -> Vec<SubgraphId> {
        let current = self
            .alternatives
            .borrow()
            .last()
            .cloned()
            .unwrap_or_default();
        let def = self.sg.type_def(parent);
        let entity_in = |subgraph: SubgraphId| {
            def.and_then(|d| d.in_subgraph(subgraph))
                .is_some_and(|t| t.resolvable_keys().next().is_some())
        };
        let mut alternatives: Vec<SubgraphId> = self
            .sg
            .subgraphs_resolving(parent, field, self.labels)
            .into_iter()
            .filter(|r| current.contains(r) || (entity_in(s) && entity_in(*r)))
            .collect();
        if !alternatives.contains(&s) {
            alternatives.push(s);
        }
        alternatives
    }

    /// Flattens `selection` for objects of type `parent`: fields directly selected plus those of
    /// fragments that always apply. For an `@interfaceObject`, fragments on concrete types are
    /// returned in `unresolved` instead; for an object, fragments that cannot apply are dropped.
    fn collect_fields(
        &self,
        selection: &SelectionSet,
        parent: &Name,
        interface_object: bool,
        unresolved: &mut Vec<InlineFragment>,
    ) -> SelectionSet {
        let mut out = SelectionSet::default();
        self.collect_into(selection, parent, interface_object, unresolved, &mut out);
        out
    }

    fn collect_into(
        &self,
        selection: &SelectionSet,
        parent: &Name,
        interface_object: bool,
        unresolved: &mut Vec<InlineFragment>,
        out: &mut SelectionSet,
    ) {
        for item in &selection.items {
            match item {
                Selection::Field(field) => out.merge_in(Selection::Field(field.clone())),
                Selection::InlineFragment(fragment) => {
                    let condition = &fragment.type_condition;
                    let applies = if interface_object {
                        // The concrete type is unknown here: only a fragment on the interface
                        // itself, or on an abstract type covering all its implementations, applies.
                        condition == parent
                            || (self.sg.type_def(condition).is_some_and(|d| d.is_abstract())
                                && self
                                    .sg
                                    .possible_types(parent)
                                    .iter()
                                    .all(|o| self.sg.is_subtype_or_same(condition, o)))
                    } else {
                        self.sg.is_subtype_or_same(condition, parent)
                    };
                    if applies {
                        self.collect_into(
                            &fragment.selection_set,
                            parent,
                            interface_object,
                            unresolved,
                            out,
                        );
                    } else if interface_object {
                        unresolved.push(fragment.clone());
                    }
                }
            }
        }
    }

    /// Whether `s` resolves `parent.field` itself at this location; if so, what `@provides`
    /// makes resolvable under it.
    fn local(
        &self,
        s: SubgraphId,
        parent: &Name,
        field: &Field,
        provided: Option<&SelectionSet>,
        entity_root: bool,
    ) -> Option<Option<SelectionSet>> {
        let in_subgraph = self.sg.field_in_subgraph(parent, &field.name, s)?;
        if (in_subgraph.requires.is_some() || !in_subgraph.context_arguments.is_empty())
            && !entity_root
        {
            // Its resolver reads the required fields from a representation: only an entity
            // fetch (possibly back into `s`) can call it. So does a field with contextual
            // arguments: their values are bound per representation (see `contexts`).
            return None;
        }
        let provided_field = provided.and_then(|p| {
            p.fields()
                .find(|f| f.name == field.name)
                .map(|f| f.selection_set.clone())
        });
        if !in_subgraph.resolves(self.labels) && provided_field.is_none() {
            return None;
        }
        let own_provides = in_subgraph.provides.as_ref().map(from_field_set);
        Some(match (provided_field, own_provides) {
            (None, None) => None,
            (Some(a), None) | (None, Some(a)) => Some(a),
            (Some(mut a), Some(b)) => {
                for item in b.items {
                    a.merge_in(item);
                }
                Some(a)
            }
        })
    }

    /// `s` resolves `parent.field` on the interface and on every implementation it knows.
    fn local_uniform(
        &self,
        s: SubgraphId,
        parent: &Name,
        field: &Field,
        possible: &[Name],
        provided: Option<&SelectionSet>,
        entity_root: bool,
    ) -> bool {
        let provided_here = provided.map(|p| SelectionSet {
            items: p.fields().map(|f| Selection::Field(f.clone())).collect(),
        });
        self.local(s, parent, field, provided_here.as_ref(), entity_root)
            .is_some()
            && possible.iter().all(|object| {
                let provided_object =
                    provided.map(|p| self.collect_fields(p, object, false, &mut Vec::new()));
                self.local(s, object, field, provided_object.as_ref(), entity_root)
                    .is_some()
            })
    }

    /// Every subgraph an entity jump from (`s`, `parent`) could reach to resolve `item` whole
    /// (keys and requires plannable), whether or not a plan would choose it.
    pub fn jump_targets(&self, s: SubgraphId, parent: &Name, item: &Selection) -> Vec<SubgraphId> {
        let interface_object = self.sg.type_def(parent).is_some_and(|d| {
            d.kind == TypeKind::Interface && d.in_subgraph(s).is_some_and(|t| t.is_interface_object)
        });
        let single = SelectionSet {
            items: vec![item.clone()],
        };
        let mut targets = Vec::new();
        for (target, entity) in self.jump_candidates(s, parent, interface_object, item) {
            let built = self.build_jump(s, parent, None, &single, target, &entity, &single);
            if built.is_ok_and(|b| b.inner_leftover.is_empty()) && !targets.contains(&target) {
                targets.push(target);
            }
        }
        targets
    }

    /// Whether another subgraph adds `interface.field` as an `@interfaceObject`: a jump from the
    /// interface itself serves every implementation at once.
    fn added_by_interface_object(&self, s: SubgraphId, interface: &Name, field: &Name) -> bool {
        self.sg.type_def(interface).is_some_and(|def| {
            def.subgraphs.iter().any(|t| {
                t.subgraph != s
                    && t.is_interface_object
                    && t.resolvable_keys().next().is_some()
                    && self
                        .sg
                        .resolves_field(interface, field, t.subgraph, self.labels)
            })
        })
    }

    /// Resolves `nonlocal` (selections at a location of `s` that `s` cannot resolve) with
    /// entity jumps to other subgraphs. Returns what the location must add (keys, requires
    /// inputs, the jumps) and what no jump can resolve. A selection one target resolves only
    /// in part is split: the rest is tried again on the other targets.
    fn jump_from(
        &self,
        s: SubgraphId,
        parent: &Name,
        interface_object: bool,
        nonlocal: &SelectionSet,
        provided: Option<&SelectionSet>,
        user_selection: &SelectionSet,
    ) -> (Planned, SelectionSet) {
        struct Group {
            target: SubgraphId,
            entity: Name,
            with_requires: bool,
            selection: SelectionSet,
            /// The `@requires` inputs of the group's fields: one representation carries them.
            requires: SelectionSet,
            excluded: Vec<SubgraphId>,
        }
        let fits = |g: &Group,
                    target: SubgraphId,
                    entity: &Name,
                    with_requires: bool,
                    requires: &SelectionSet| {
            g.target == target
                && g.entity == *entity
                && g.with_requires == with_requires
                && !requirements_conflict(&g.requires, requires)
        };
        let mut pending: Vec<(Selection, Vec<SubgraphId>)> = nonlocal
            .items
            .iter()
            .map(|i| (i.clone(), Vec::new()))
            .collect();
        let mut additions = Planned::default();
        let mut leftover = SelectionSet::default();
        while !pending.is_empty() {
            let mut groups: Vec<Group> = Vec::new();
            for (item, excluded) in pending.drain(..) {
                let key = (s, parent.clone(), sought_name(&item));
                if self.seeking.borrow().contains(&key) {
                    leftover.merge_in(item);
                    continue;
                }
                self.seeking.borrow_mut().push(key);
                let single = SelectionSet {
                    items: vec![item.clone()],
                };
                let wanted = count_leaves(&single);
                let mut best: Option<((usize, u32), SubgraphId, Name, bool)> = None;
                for (target, entity) in self.jump_candidates(s, parent, interface_object, &item) {
                    if excluded.contains(&target) {
                        continue;
                    }
                    let requires = self.requires_of(target, &entity, &single);
                    let with_requires = !requires.is_empty();
                    if std::env::var("PLAN_DEBUG").is_ok() {
                        eprintln!("candidate {target:?} {entity} for {item:?}");
                    }
                    let Ok(built) = self.build_jump(
                        s,
                        parent,
                        provided,
                        user_selection,
                        target,
                        &entity,
                        &single,
                    ) else {
                        continue;
                    };
                    let missing = count_leaves(&built.inner_leftover);
                    if missing >= wanted {
                        continue;
                    }
                    let joins_group = groups
                        .iter()
                        .any(|g| fits(g, target, &entity, with_requires, &requires));
                    let score = (missing, built.cost - FETCH_COST * u32::from(joins_group));
                    if best.as_ref().is_none_or(|(b, ..)| score < *b) {
                        best = Some((score, target, entity, with_requires));
                    }
                }
                self.seeking.borrow_mut().pop();
                let Some((_, target, entity, with_requires)) = best else {
                    leftover.merge_in(item);
                    continue;
                };
                let requires = self.requires_of(target, &entity, &single);
                match groups
                    .iter_mut()
                    .find(|g| fits(g, target, &entity, with_requires, &requires))
                {
                    Some(group) => {
                        group.selection.merge_in(item);
                        for required in requires.items {
                            group.requires.merge_in(required);
                        }
                        group.excluded.extend(excluded);
                    }
                    None => groups.push(Group {
                        target,
                        entity,
                        with_requires,
                        selection: single,
                        requires,
                        excluded,
                    }),
                }
            }
            for group in groups {
                let sought: Vec<_> = group
                    .selection
                    .items
                    .iter()
                    .map(|item| (s, parent.clone(), sought_name(item)))
                    .collect();
                let depth = self.seeking.borrow().len();
                self.seeking.borrow_mut().extend(sought);
                let built = self.build_jump(
                    s,
                    parent,
                    provided,
                    user_selection,
                    group.target,
                    &group.entity,
                    &group.selection,
                );
                self.seeking.borrow_mut().truncate(depth);
                let mut excluded = group.excluded;
                excluded.push(group.target);
                match built {
                    Ok(built) => {
                        additions.absorb(built.parent_additions);
                        additions.jumps.push(built.jump);
                        additions.cost += built.own_cost + built.jump_inner_cost;
                        for item in built.inner_leftover.items {
                            pending.push((item, excluded.clone()));
                        }
                    }
                    Err(Unplannable) => {
                        for item in group.selection.items {
                            pending.push((item, excluded.clone()));
                        }
                    }
                }
            }
        }
        (additions, leftover)
    }

    /// The (subgraph, entity type) pairs a jump from `s` could go to for `item`.
    fn jump_candidates(
        &self,
        s: SubgraphId,
        parent: &Name,
        interface_object: bool,
        item: &Selection,
    ) -> Vec<(SubgraphId, Name)> {
        let mut candidates = Vec::new();
        let needs_requires = |target: SubgraphId, entity: &Name| match item {
            Selection::Field(f) => self
                .sg
                .field_in_subgraph(entity, &f.name, target)
                .is_some_and(|f| f.requires.is_some() || !f.context_arguments.is_empty()),
            Selection::InlineFragment(_) => false,
        };
        let reachable = |target: SubgraphId, entity: &Name| {
            (target != s || needs_requires(target, entity))
                && self.sg.type_def(entity).is_some_and(|def| {
                    def.in_subgraph(target)
                        .is_some_and(|t| t.resolvable_keys().next().is_some())
                })
        };
        let wants_concrete_type = match item {
            Selection::InlineFragment(_) => true,
            Selection::Field(f) => f.name == "__typename",
        };
        if wants_concrete_type {
            // Only a subgraph that knows the concrete types can say which one an object has.
            if interface_object && let Some(def) = self.sg.type_def(parent) {
                for t in &def.subgraphs {
                    if !t.is_interface_object && reachable(t.subgraph, parent) {
                        candidates.push((t.subgraph, parent.clone()));
                    }
                }
            }
            return candidates;
        }
        let Selection::Field(field) = item else {
            return candidates;
        };
        for target in self
            .sg
            .subgraphs_resolving(parent, &field.name, self.labels)
        {
            if reachable(target, parent) {
                candidates.push((target, parent.clone()));
            }
        }
        // Fields an @interfaceObject adds to an interface reach every implementation.
        if let Some(def) = self.sg.type_def(parent)
            && def.kind == TypeKind::Object
        {
            let mut interfaces: Vec<&Name> = def.implements.iter().map(|(_, i)| i).collect();
            interfaces.sort();
            interfaces.dedup();
            for interface in interfaces {
                let Some(interface_def) = self.sg.type_def(interface) else {
                    continue;
                };
                for t in &interface_def.subgraphs {
                    if t.is_interface_object
                        && self
                            .sg
                            .resolves_field(interface, &field.name, t.subgraph, self.labels)
                        && reachable(t.subgraph, interface)
                        && !candidates.contains(&(t.subgraph, interface.clone()))
                    {
                        candidates.push((t.subgraph, interface.clone()));
                    }
                }
            }
        }
        candidates
    }

    /// The `@requires` inputs `target` needs to resolve `selection` on `entity`.
    fn requires_of(
        &self,
        target: SubgraphId,
        entity: &Name,
        selection: &SelectionSet,
    ) -> SelectionSet {
        let mut required = SelectionSet::default();
        for field in selection.fields() {
            if let Some(requires) = self
                .sg
                .field_in_subgraph(entity, &field.name, target)
                .and_then(|f| f.requires)
            {
                for item in from_field_set(&requires).items {
                    required.merge_in(item);
                }
            }
        }
        required
    }

    /// Builds the jump from a location (`s`, `parent`) to `target` for `selection`: the target's
    /// plan, the cheapest key, and the `@requires` inputs planned back at the location.
    #[allow(clippy::too_many_arguments)]
    fn build_jump(
        &self,
        s: SubgraphId,
        parent: &Name,
        provided: Option<&SelectionSet>,
        user_selection: &SelectionSet,
        target: SubgraphId,
        entity: &Name,
        selection: &SelectionSet,
    ) -> Result<BuiltJump, Unplannable> {
        self.alternatives.borrow_mut().push(vec![target]);
        let inner = self.plan_location(target, entity, selection, None, true);
        self.alternatives.borrow_mut().pop();
        let required = self.requires_of(target, entity, selection);
        let keys = self
            .sg
            .type_def(entity)
            .and_then(|d| d.in_subgraph(target))
            .map(|t| t.resolvable_keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let mut best_key: Option<(Planned, SelectionSet)> = None;
        for key in &keys {
            let key_selection = from_field_set(&key.fields);
            if let Ok(found) =
                self.plan_requirement(s, parent, provided, user_selection, &key_selection)
                && best_key.as_ref().is_none_or(|(b, _)| found.0.cost < b.cost)
            {
                best_key = Some(found);
            }
        }
        let (mut parent_additions, mut requires) = best_key.ok_or(Unplannable)?;
        if !required.is_empty() {
            let (planned, projection) =
                self.plan_requirement(s, parent, provided, user_selection, &required)?;
            parent_additions.absorb(planned);
            for item in projection.items {
                requires.merge_in(item);
            }
        }
        let mut depends_on = Vec::new();
        parent_additions.all_jump_ids(&mut depends_on);
        let id = self.next_jump.get();
        self.next_jump.set(id + 1);
        let jump_inner_cost = inner.planned.cost;
        let own_cost = FETCH_COST + count_leaves(&inner.planned.selection) as u32;
        let cost = own_cost + jump_inner_cost + parent_additions.cost;
        Ok(BuiltJump {
            jump: Jump {
                id,
                path: Vec::new(),
                subgraph: target,
                entity_type: entity.clone(),
                requires,
                contexts: self.contexts_of(&inner.planned.selection),
                inner: inner.planned,
                depends_on,
            },
            parent_additions,
            jump_inner_cost,
            own_cost,
            cost,
            inner_leftover: inner.leftover,
        })
    }

    /// Plans fields the gateway needs at a location (a key, `@requires` inputs). Returns the
    /// plan and the selection as it will be read back from the response (aliases included).
    fn plan_requirement(
        &self,
        s: SubgraphId,
        parent: &Name,
        provided: Option<&SelectionSet>,
        user_selection: &SelectionSet,
        requirement: &SelectionSet,
    ) -> Result<(Planned, SelectionSet), Unplannable> {
        let aliased = alias_requirement(requirement, user_selection);
        let located = self.plan_at(s, parent, &aliased, provided);
        if !located.leftover.is_empty() {
            return Err(Unplannable);
        }
        Ok((located.planned, aliased))
    }
}

/// Whether two sets of representation inputs ask for the same field with different
/// arguments: one representation has room for only one value per field name.
pub(super) fn requirements_conflict(a: &SelectionSet, b: &SelectionSet) -> bool {
    a.items.iter().any(|x| {
        b.items.iter().any(|y| match (x, y) {
            (Selection::Field(x), Selection::Field(y)) if x.name == y.name => {
                x.arguments != y.arguments
                    || requirements_conflict(&x.selection_set, &y.selection_set)
            }
            (Selection::InlineFragment(x), Selection::InlineFragment(y))
                if x.type_condition == y.type_condition =>
            {
                requirements_conflict(&x.selection_set, &y.selection_set)
            }
            _ => false,
        })
    })
}

/// What a nonlocal selection item seeks: a field by name, or a concrete type's fragment.
fn sought_name(item: &Selection) -> Name {
    match item {
        Selection::Field(f) => f.name.clone(),
        Selection::InlineFragment(f) => f.type_condition.clone(),
    }
}

struct BuiltJump {
    jump: Jump,
    /// Keys and requires inputs the location must select, and the jumps that fetch them.
    parent_additions: Planned,
    jump_inner_cost: u32,
    /// The fetch itself and the fields it selects.
    own_cost: u32,
    /// Total fetches this jump adds, its inputs included.
    cost: u32,
    /// What the target could not resolve of the selection it was given.
    inner_leftover: SelectionSet,
}

/// The number of leaf fields in a selection: how much of it is (un)resolved.
pub(super) fn count_leaves(selection: &SelectionSet) -> usize {
    selection
        .items
        .iter()
        .map(|item| match item {
            Selection::Field(f) if f.selection_set.is_empty() => 1,
            Selection::Field(f) => count_leaves(&f.selection_set),
            Selection::InlineFragment(f) => count_leaves(&f.selection_set),
        })
        .sum()
}

/// Gives requirement fields an alias where they would collide in the response with a
/// different field the client selected under the same key, and always when they take
/// arguments (two requirements may ask for the same field with different arguments).
fn alias_requirement(requirement: &SelectionSet, user: &SelectionSet) -> SelectionSet {
    let mut out = SelectionSet::default();
    for item in &requirement.items {
        match item {
            Selection::Field(field) => {
                let clash = user
                    .fields()
                    .find(|u| u.response_key() == field.response_key());
                let mut field = field.clone();
                match clash {
                    Some(user_field) if user_field.same_field_as(&field) => {
                        field.selection_set =
                            alias_requirement(&field.selection_set, &user_field.selection_set);
                    }
                    Some(_) => field.alias = Some(internal_alias(&field)),
                    None if !field.arguments.is_empty() => {
                        field.alias = Some(internal_alias(&field))
                    }
                    None => {}
                }
                out.merge_in(Selection::Field(field));
            }
            Selection::InlineFragment(fragment) => {
                out.merge_in(Selection::InlineFragment(fragment.clone()))
            }
        }
    }
    out
}

/// A deterministic alias for a gateway-internal field, derived from its name and arguments.
fn internal_alias(field: &Field) -> Name {
    // FNV-1a: stable across builds, so plans and snapshots are too.
    let mut hash: u32 = 0x811c_9dc5;
    let mut feed = |text: &str| {
        for byte in text.bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    };
    feed(&field.name);
    for (name, value) in &field.arguments {
        feed(name);
        feed(&value.to_string());
    }
    let alias = format!("{}__{hash:08x}", field.name);
    Name::new(&alias).unwrap_or_else(|_| field.name.clone())
}
