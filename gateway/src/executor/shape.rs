//! Shapes the merged subgraph data into the response the client asked for, written straight to
//! JSON bytes: keys in the query's order (fields of fragments collected as the spec's
//! CollectFields does), aliases, `__typename`, nothing the gateway fetched for itself, enum
//! values the API schema lacks nulled, and non-null violations propagated to the nearest
//! nullable parent with an error.
//!
//! What depends only on the operation (which fields, under which keys, of which types, for
//! which runtime type) is computed once per plan, as a [`ResponseShape`]; per request, the
//! writer only walks data.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apollo_compiler::Name;
use apollo_compiler::ast::Type;
use apollo_compiler::schema::ExtendedType;
use indexmap::IndexMap;
use serde_json::value::RawValue;

use crate::json::{Object, Value, write_str};
use crate::operation::selection::{Field, Selection, SelectionSet};
use crate::operation::{ApiSchema, NormalizedOperation};
use crate::response::{GraphQLError, PathElement};

/// The response an operation produces, independent of the data.
#[derive(Debug)]
pub struct ResponseShape {
    root: Arc<ObjectShape>,
    /// The size of the last response written: the next one starts with room for it rather
    /// than growing (and copying) its buffer a dozen times.
    last_size: AtomicUsize,
    /// Each deferred fragment's part, by the fragment's id: its selection on one object.
    deferred: Vec<(usize, Arc<ObjectShape>)>,
}

/// The fields of a selection set, for each runtime type it may meet.
#[derive(Debug)]
struct ObjectShape {
    /// For an object type: its fields. For an abstract type: the fields for an object whose
    /// `__typename` is unknown (only those selected on the abstract type itself).
    fields: Vec<FieldShape>,
    /// For an abstract type: the fields for each possible runtime type.
    by_type: HashMap<Name, Vec<FieldShape>>,
    /// Types clients cannot know (`@inaccessible`): such objects are null.
    hidden: bool,
    /// The static type, for errors.
    type_name: Name,
    /// For an abstract type: whether what is written depends on the runtime type (a
    /// `__typename`, or fields only some types have). Without `__typename` in the data, such
    /// an object cannot be written; the others are written from `fields`.
    needs_runtime_type: bool,
}

#[derive(Debug)]
struct FieldShape {
    /// `"key":`, escaped once.
    key_json: Box<str>,
    key: Name,
    parent: Name,
    name: Name,
    value: ValueShape,
}

#[derive(Debug)]
enum ValueShape {
    Typename,
    /// `__schema`/`__type` at the root: already computed.
    Introspection,
    Data(TypeShape),
    /// A field the request may not see (authorization): `null` with an error, propagated when
    /// the field is non-null.
    Unauthorized {
        non_null: bool,
    },
    /// A root field the planner could not plan (see `QueryPlan::unplannable`): `null` with
    /// this error, propagated when the field is non-null.
    Unplannable {
        non_null: bool,
        message: Arc<str>,
    },
}

/// The code of the error a root field that could not be planned answers with.
pub const UNPLANNABLE_CODE: &str = "QUERY_PLANNING_FAILED";

/// The error of a field the request may not see, as Apollo Router words it.
const UNAUTHORIZED: &str = "Unauthorized field or type";
pub const UNAUTHORIZED_CODE: &str = "UNAUTHORIZED_FIELD_OR_TYPE";

#[derive(Debug)]
enum TypeShape {
    NonNull(Box<TypeShape>),
    List(Box<TypeShape>),
    Scalar,
    /// An enum and the values the API schema accepts.
    Enum(Name, Arc<HashSet<String>>),
    Object(Arc<ObjectShape>),
}

impl ResponseShape {
    pub fn new(schema: &ApiSchema, operation: &NormalizedOperation) -> Self {
        let builder = Builder { schema };
        Self {
            root: Arc::new(builder.object(&operation.root_type, &[&operation.selection_set], true)),
            last_size: AtomicUsize::new(0),
            deferred: operation
                .deferred
                .iter()
                .map(|d| {
                    let shape = builder.object(&d.parent_type, &[&d.selection], false);
                    (d.id, Arc::new(shape))
                })
                .collect(),
        }
    }
}

impl ResponseShape {
    /// The shape with the given root fields (by response key) answering null with an error
    /// (`QueryPlan::unplannable`). Called on a shape just built, before it is shared.
    pub fn with_unplannable(mut self, fields: &[(Name, String)]) -> Self {
        if fields.is_empty() {
            return self;
        }
        let Some(root) = Arc::get_mut(&mut self.root) else {
            return self;
        };
        for field in &mut root.fields {
            let Some((_, reason)) = fields.iter().find(|(key, _)| *key == field.key) else {
                continue;
            };
            let non_null = match &field.value {
                ValueShape::Data(ty) => matches!(ty, TypeShape::NonNull(_)),
                _ => false,
            };
            field.value = ValueShape::Unplannable {
                non_null,
                message: format!("cannot plan the field: {reason}").into(),
            };
        }
        self
    }
}

struct Builder<'a> {
    schema: &'a ApiSchema,
}

impl Builder<'_> {
    fn is_abstract(&self, name: &str) -> bool {
        self.schema.is_abstract(name)
    }

    fn object(&self, type_name: &Name, selections: &[&SelectionSet], root: bool) -> ObjectShape {
        if self.is_abstract(type_name) {
            let by_type: HashMap<Name, Vec<FieldShape>> = self
                .schema
                .possible_types(type_name)
                .iter()
                .map(|object| {
                    (
                        object.clone(),
                        self.fields(object, Some(object), selections, root),
                    )
                })
                .collect();
            let fields = self.fields(type_name, None, selections, root);
            // A runtime type's fields are those of `fields` and more.
            let needs_runtime_type = fields
                .iter()
                .any(|f| matches!(f.value, ValueShape::Typename))
                || by_type.values().any(|typed| typed.len() != fields.len());
            ObjectShape {
                fields,
                by_type,
                hidden: false,
                type_name: type_name.clone(),
                needs_runtime_type,
            }
        } else {
            ObjectShape {
                fields: self.fields(type_name, Some(type_name), selections, root),
                by_type: HashMap::new(),
                hidden: !self.schema.schema().types.contains_key(type_name),
                type_name: type_name.clone(),
                needs_runtime_type: false,
            }
        }
    }

    /// CollectFields for `runtime_type` (`None`: unknown), then one shape per response key.
    fn fields(
        &self,
        static_type: &Name,
        runtime_type: Option<&Name>,
        selections: &[&SelectionSet],
        root: bool,
    ) -> Vec<FieldShape> {
        let mut grouped: IndexMap<&Name, Vec<&Field>> = IndexMap::new();
        for selection in selections {
            self.collect(selection, runtime_type, &mut grouped);
        }
        let parent = runtime_type.unwrap_or(static_type).clone();
        grouped
            .into_iter()
            .map(|(key, fields)| {
                let field = fields[0];
                // Seen through another selection (outside a protected fragment), a field the
                // request may not see somewhere is still its to see.
                let authorized: Vec<&Field> =
                    fields.iter().copied().filter(|f| !f.unauthorized).collect();
                let value = if authorized.is_empty() {
                    ValueShape::Unauthorized {
                        non_null: field.ty.is_non_null(),
                    }
                } else if field.name == "__typename" {
                    ValueShape::Typename
                } else if root && matches!(field.name.as_str(), "__schema" | "__type") {
                    ValueShape::Introspection
                } else {
                    let subselections: Vec<&SelectionSet> = authorized
                        .iter()
                        .map(|f| &f.selection_set)
                        .filter(|s| !s.is_empty())
                        .collect();
                    ValueShape::Data(self.type_shape(&field.ty, &subselections))
                };
                FieldShape {
                    key_json: format!("{}:", serde_json::Value::String(key.to_string()))
                        .into_boxed_str(),
                    key: key.clone(),
                    parent: parent.clone(),
                    name: field.name.clone(),
                    value,
                }
            })
            .collect()
    }

    fn collect<'s>(
        &self,
        selection: &'s SelectionSet,
        runtime_type: Option<&Name>,
        grouped: &mut IndexMap<&'s Name, Vec<&'s Field>>,
    ) {
        for item in &selection.items {
            match item {
                Selection::Field(field) => {
                    grouped.entry(field.response_key()).or_default().push(field)
                }
                Selection::InlineFragment(fragment) => {
                    if runtime_type
                        .is_some_and(|t| self.schema.is_possible_type(&fragment.type_condition, t))
                    {
                        self.collect(&fragment.selection_set, runtime_type, grouped);
                    }
                }
            }
        }
    }

    fn type_shape(&self, ty: &Type, selections: &[&SelectionSet]) -> TypeShape {
        match ty {
            Type::NonNullNamed(_) | Type::NonNullList(_) => TypeShape::NonNull(Box::new(
                self.type_shape(&ty.clone().nullable(), selections),
            )),
            Type::List(item) => TypeShape::List(Box::new(self.type_shape(item, selections))),
            Type::Named(name) => match self.schema.schema().types.get(name) {
                Some(ExtendedType::Enum(enum_type)) => TypeShape::Enum(
                    name.clone(),
                    Arc::new(enum_type.values.keys().map(|v| v.to_string()).collect()),
                ),
                Some(
                    ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_),
                ) => TypeShape::Object(Arc::new(self.object(name, selections, false))),
                _ => TypeShape::Scalar,
            },
        }
    }
}

/// A null that must propagate to the parent (the value was null where null is not allowed).
struct PropagateNull;

/// One step of the path being written, borrowed until an error needs it.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Introspection results (`__schema`, `__type`) by response key, as apollo-compiler wrote them.
pub type Introspection = Vec<(String, Box<RawValue>)>;

/// Writes `data` shaped by `shape` as JSON; records errors.
pub(super) fn write_data(
    shape: &ResponseShape,
    data: &Value,
    introspection: Option<&Introspection>,
    errors: &mut Vec<GraphQLError>,
) -> Vec<u8> {
    // Responses of one operation tend to have similar sizes; a little more room than the
    // last one saves growing at the end. Capped so that one huge answer does not make every
    // later request reserve as much.
    let last = shape.last_size.load(Ordering::Relaxed);
    let mut out = Vec::with_capacity((last + last / 8).clamp(256, 4 << 20));
    write_data_into(shape, data, introspection, errors, &mut out);
    shape.last_size.store(out.len(), Ordering::Relaxed);
    out
}

fn write_data_into(
    shape: &ResponseShape,
    data: &Value,
    introspection: Option<&Introspection>,
    errors: &mut Vec<GraphQLError>,
    out: &mut Vec<u8>,
) {
    let empty = Object::new();
    let object = data.as_object().unwrap_or(&empty);
    let mut writer = Writer {
        out,
        errors,
        introspection,
        path: Vec::new(),
        prefix: Vec::new(),
    };
    let start = writer.out.len();
    if writer.object(&shape.root, object).is_err() {
        writer.out.truncate(start);
        writer.out.extend_from_slice(b"null");
    }
}

/// Writes deferred fragment `id`'s part for `object` (found at `at` in the response); `None`
/// when a null propagates to the object itself (the part's data is then null).
pub(super) fn write_part(
    shape: &ResponseShape,
    id: usize,
    object: &Object,
    at: Vec<PathElement>,
    errors: &mut Vec<GraphQLError>,
) -> Option<Vec<u8>> {
    let (_, part) = shape.deferred.iter().find(|(d, _)| *d == id)?;
    let mut out = Vec::with_capacity(256);
    let mut writer = Writer {
        out: &mut out,
        errors,
        introspection: None,
        path: Vec::new(),
        prefix: at,
    };
    writer.object(part, object).ok()?;
    Some(out)
}

struct Writer<'o, 'a> {
    out: &'o mut Vec<u8>,
    errors: &'o mut Vec<GraphQLError>,
    introspection: Option<&'a Introspection>,
    /// Where the writer is, for errors; borrowed from the shape and the data.
    path: Vec<Step<'a>>,
    /// Where the object written is (a deferred part's); empty for a whole response.
    prefix: Vec<PathElement>,
}

impl<'o, 'a> Writer<'o, 'a> {
    fn object(&mut self, shape: &'a ObjectShape, object: &'a Object) -> Result<(), PropagateNull> {
        let typename = object.get("__typename").and_then(Value::as_str);
        let fields = if shape.by_type.is_empty() {
            if shape.hidden {
                return Err(PropagateNull);
            }
            &shape.fields
        } else {
            match typename {
                Some(t) => match shape.by_type.get(t) {
                    Some(fields) => fields,
                    // An object of an `@inaccessible` type: clients cannot know it.
                    None => return Err(PropagateNull),
                },
                // Without `__typename` the runtime type is unknown (an `@interfaceObject`
                // subgraph cannot tell it, and the fetch that could failed). Where the answer
                // depends on it, writing the abstract type's name or leaving fragments out
                // would answer a type no object has: the object is null, as peers answer.
                None if shape.needs_runtime_type => {
                    self.unknown_type_error(shape);
                    return Err(PropagateNull);
                }
                None => &shape.fields,
            }
        };
        self.out.push(b'{');
        // Fields are mostly stored in the order the shape writes them.
        let mut cursor = 0;
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(field.key_json.as_bytes());
            match &field.value {
                ValueShape::Typename => {
                    let name = if shape.by_type.is_empty() {
                        field.parent.as_str()
                    } else {
                        typename.unwrap_or(field.parent.as_str())
                    };
                    write_str(self.out, name);
                }
                ValueShape::Introspection => {
                    let raw = self.introspection.and_then(|entries| {
                        entries
                            .iter()
                            .find(|(key, _)| key == field.key.as_str())
                            .map(|(_, raw)| raw)
                    });
                    match raw {
                        Some(raw) => self.out.extend_from_slice(raw.get().as_bytes()),
                        None => self.out.extend_from_slice(b"null"),
                    }
                }
                ValueShape::Data(ty) => {
                    let value = object
                        .get_from(field.key.as_str(), &mut cursor)
                        .unwrap_or(&Value::Null);
                    self.path.push(Step::Key(field.key.as_str()));
                    let written = self.value(ty, value, field);
                    self.path.pop();
                    written?;
                }
                ValueShape::Unplannable { non_null, message } => {
                    self.path.push(Step::Key(field.key.as_str()));
                    let path = self.owned_path();
                    self.path.pop();
                    self.errors.push(
                        GraphQLError::new(message.to_string())
                            .with_code(UNPLANNABLE_CODE)
                            .with_path(path),
                    );
                    if *non_null {
                        return Err(PropagateNull);
                    }
                    self.out.extend_from_slice(b"null");
                }
                ValueShape::Unauthorized { non_null } => {
                    self.path.push(Step::Key(field.key.as_str()));
                    let path = self.owned_path();
                    self.path.pop();
                    self.errors.push(
                        GraphQLError::new(UNAUTHORIZED)
                            .with_code(UNAUTHORIZED_CODE)
                            .with_path(path),
                    );
                    if *non_null {
                        return Err(PropagateNull);
                    }
                    self.out.extend_from_slice(b"null");
                }
            }
        }
        self.out.push(b'}');
        Ok(())
    }

    /// Writes a value; `Ok(true)` when it wrote `null`.
    fn value(
        &mut self,
        ty: &'a TypeShape,
        value: &'a Value,
        field: &'a FieldShape,
    ) -> Result<bool, PropagateNull> {
        match ty {
            TypeShape::NonNull(inner) => {
                let start = self.out.len();
                if self.value(inner, value, field)? {
                    self.out.truncate(start);
                    self.null_error(field);
                    return Err(PropagateNull);
                }
                Ok(false)
            }
            TypeShape::List(item) => {
                let Value::Array(items) = value else {
                    self.out.extend_from_slice(b"null");
                    return Ok(true);
                };
                let start = self.out.len();
                self.out.push(b'[');
                for (index, element) in items.iter().enumerate() {
                    if index > 0 {
                        self.out.push(b',');
                    }
                    self.path.push(Step::Index(index));
                    let written = self.value(item, element, field);
                    self.path.pop();
                    if written.is_err() {
                        self.out.truncate(start);
                        self.out.extend_from_slice(b"null");
                        return Ok(true);
                    }
                }
                self.out.push(b']');
                Ok(false)
            }
            TypeShape::Object(shape) => match value {
                Value::Object(object) => {
                    let start = self.out.len();
                    match self.object(shape, object) {
                        Ok(()) => Ok(false),
                        Err(PropagateNull) => {
                            self.out.truncate(start);
                            self.out.extend_from_slice(b"null");
                            Ok(true)
                        }
                    }
                }
                _ => {
                    self.out.extend_from_slice(b"null");
                    Ok(true)
                }
            },
            TypeShape::Enum(enum_name, values) => match value {
                Value::String(v) if values.contains(v.as_str()) => {
                    write_str(self.out, v);
                    Ok(false)
                }
                Value::Null => {
                    self.out.extend_from_slice(b"null");
                    Ok(true)
                }
                other => {
                    let message = format!("Enum \"{enum_name}\" cannot represent value: {other}");
                    self.errors
                        .push(GraphQLError::new(message).with_path(self.owned_path()));
                    self.out.extend_from_slice(b"null");
                    Ok(true)
                }
            },
            TypeShape::Scalar => match value {
                Value::Null | Value::Object(_) => {
                    self.out.extend_from_slice(b"null");
                    Ok(true)
                }
                Value::String(text) => {
                    write_str(self.out, text);
                    Ok(false)
                }
                other => {
                    let _ = serde_json::to_writer(&mut *self.out, other);
                    Ok(false)
                }
            },
        }
    }

    fn owned_path(&self) -> Vec<PathElement> {
        self.prefix
            .iter()
            .cloned()
            .chain(self.path.iter().map(|step| match step {
                Step::Key(key) => PathElement::Key(key.to_string()),
                Step::Index(index) => PathElement::Index(*index),
            }))
            .collect()
    }

    /// Records that an object of an abstract type came without its runtime type, unless an
    /// error at or below this path already explains why (the failed fetch's, usually).
    fn unknown_type_error(&mut self, shape: &ObjectShape) {
        let path = self.owned_path();
        if !self.explained(&path) {
            self.errors.push(
                GraphQLError::new(format!(
                    "Could not determine the runtime type of a value of abstract type {}",
                    shape.type_name
                ))
                .with_path(path),
            );
        }
    }

    /// Whether an error at or below `path` is already recorded.
    fn explained(&self, path: &[PathElement]) -> bool {
        self.errors.iter().any(|e| {
            e.path
                .as_ref()
                .is_some_and(|p| p.len() >= path.len() && p[..path.len()] == *path)
        })
    }

    /// Records a non-null violation, unless an error at or below this path already explains it.
    fn null_error(&mut self, field: &FieldShape) {
        let path = self.owned_path();
        if !self.explained(&path) {
            self.errors.push(
                GraphQLError::new(format!(
                    "Cannot return null for non-nullable field {}.{}",
                    field.parent, field.name
                ))
                .with_path(path),
            );
        }
    }
}
