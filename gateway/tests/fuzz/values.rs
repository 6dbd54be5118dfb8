//! Input values of a given GraphQL input type, as GraphQL literals (arguments, variable
//! defaults) and as JSON (the request's `variables`): of the right type, or deliberately of
//! the wrong one.

use apollo_compiler::Schema;
use apollo_compiler::ast::Type;
use apollo_compiler::schema::ExtendedType;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

/// Input objects nest at most this deep (they may be recursive).
const MAX_INPUT_DEPTH: usize = 3;

/// Where a literal may take a variable instead of a value: arguments yes, defaults no.
pub trait VariableSlot {
    /// `Some("$name")` to use a variable of type `ty` at this position.
    fn variable(&mut self, rng: &mut ChaCha8Rng, ty: &Type) -> Option<String>;
}

/// For constant positions.
pub struct NoVariables;

impl VariableSlot for NoVariables {
    fn variable(&mut self, _: &mut ChaCha8Rng, _: &Type) -> Option<String> {
        None
    }
}

/// A GraphQL literal of type `ty`.
pub fn literal(
    schema: &Schema,
    rng: &mut ChaCha8Rng,
    ty: &Type,
    slot: &mut dyn VariableSlot,
    depth: usize,
) -> String {
    if rng.random_bool(0.25)
        && let Some(variable) = slot.variable(rng, ty)
    {
        return variable;
    }
    if !ty.is_non_null() && rng.random_bool(0.1) {
        return "null".into();
    }
    if ty.is_list() {
        // Input coercion accepts one item where a list is expected.
        if rng.random_bool(0.2) {
            return literal(schema, rng, ty.item_type(), slot, depth);
        }
        let items: Vec<String> = (0..rng.random_range(0..=3))
            .map(|_| literal(schema, rng, ty.item_type(), slot, depth))
            .collect();
        return format!("[{}]", items.join(", "));
    }
    let name = ty.inner_named_type();
    match schema.types.get(name) {
        Some(ExtendedType::Enum(enum_type)) => {
            let values: Vec<_> = enum_type.values.keys().collect();
            values
                .choose(rng)
                .map(|v| v.to_string())
                .unwrap_or_default()
        }
        Some(ExtendedType::InputObject(input)) => {
            let mut fields = Vec::new();
            for field in input.fields.values() {
                let required = field.ty.is_non_null() && field.default_value.is_none();
                if required || (depth < MAX_INPUT_DEPTH && rng.random_bool(0.5)) {
                    let value = literal(schema, rng, &field.ty, slot, depth + 1);
                    fields.push(format!("{}: {value}", field.name));
                }
            }
            format!("{{{}}}", fields.join(", "))
        }
        _ => scalar_literal(rng, name.as_str()),
    }
}

fn scalar_literal(rng: &mut ChaCha8Rng, scalar: &str) -> String {
    match scalar {
        "Int" => int(rng).to_string(),
        "Float" => match rng.random_range(0..4) {
            0 => int(rng).to_string(),
            1 => "1.5e3".into(),
            2 => "-0.0".into(),
            _ => format!("{:.3}", rng.random_range(-1e6..1e6)),
        },
        "Boolean" => rng.random_bool(0.5).to_string(),
        "ID" if rng.random_bool(0.3) => int(rng).abs().to_string(),
        // String, ID and custom scalars (which accept any literal).
        _ => string_literal(rng),
    }
}

fn int(rng: &mut ChaCha8Rng) -> i64 {
    match rng.random_range(0..10) {
        0 => i32::MAX as i64,
        1 => i32::MIN as i64,
        2 => 0,
        3 => -1,
        _ => rng.random_range(1..100),
    }
}

/// A string literal with escapes and non-ASCII text, sometimes a block string.
fn string_literal(rng: &mut ChaCha8Rng) -> String {
    const PIECES: &[&str] = &[
        "1", "2", "a", "upc", "hello", " ", "\\\"", "\\\\", "\\n", "\\u00e9", "é", "日本", "🦀",
        "\\u0000", "\\/", "\\t",
    ];
    let body: String = (0..rng.random_range(0..6))
        .map(|_| *PIECES.choose(rng).expect("pieces"))
        .collect();
    if rng.random_bool(0.1) {
        format!("\"\"\"\n  {}\n\"\"\"", body.replace(['\\', '"'], ""))
    } else {
        format!("\"{body}\"")
    }
}

/// A literal of another type than `ty` (or an input object missing or adding fields).
pub fn wrong_literal(schema: &Schema, rng: &mut ChaCha8Rng, ty: &Type) -> String {
    let name = ty.inner_named_type();
    let choices: &[&str] = match schema.types.get(name) {
        Some(ExtendedType::Enum(_)) => &["\"QUOTED\"", "NOT_A_VALUE", "1", "true"],
        Some(ExtendedType::InputObject(_)) => &["{}", "{ unknownField: 1 }", "\"object\"", "[{}]"],
        _ => match name.as_str() {
            "Int" => &[
                "\"1\"",
                "1.5",
                "2147483648",
                "-2147483649",
                "true",
                "ENUM",
                "{}",
            ],
            "Float" => &["\"1.0\"", "true", "NaN", "1e400", "[1.0]"],
            "Boolean" => &["1", "\"true\"", "TRUE", "null"],
            "String" | "ID" => &["1.5", "true", "[\"a\", 2]", "{ a: 1 }", "ENUM"],
            _ => &["$undefinedVariable"],
        },
    };
    let wrong = *choices.choose(rng).expect("choices");
    if ty.is_non_null() && rng.random_bool(0.2) {
        "null".into()
    } else {
        wrong.into()
    }
}

/// A JSON value of type `ty`, as a client sends it in `variables`.
pub fn json_value(schema: &Schema, rng: &mut ChaCha8Rng, ty: &Type, depth: usize) -> Value {
    if !ty.is_non_null() && rng.random_bool(0.1) {
        return Value::Null;
    }
    if ty.is_list() {
        if rng.random_bool(0.15) {
            return json_value(schema, rng, ty.item_type(), depth);
        }
        return (0..rng.random_range(0..=3))
            .map(|_| json_value(schema, rng, ty.item_type(), depth))
            .collect();
    }
    let name = ty.inner_named_type();
    match schema.types.get(name) {
        Some(ExtendedType::Enum(enum_type)) => {
            let values: Vec<_> = enum_type.values.keys().collect();
            values
                .choose(rng)
                .map(|v| Value::String(v.to_string()))
                .unwrap_or(Value::Null)
        }
        Some(ExtendedType::InputObject(input)) => {
            let mut object = Map::new();
            for field in input.fields.values() {
                let required = field.ty.is_non_null() && field.default_value.is_none();
                if required || (depth < MAX_INPUT_DEPTH && rng.random_bool(0.5)) {
                    let value = json_value(schema, rng, &field.ty, depth + 1);
                    object.insert(field.name.to_string(), value);
                }
            }
            Value::Object(object)
        }
        _ => match name.as_str() {
            "Int" => json!(int(rng)),
            "Float" => json!(rng.random_range(-1e6..1e6)),
            "Boolean" => json!(rng.random_bool(0.5)),
            "ID" if rng.random_bool(0.3) => json!(int(rng).abs()),
            "String" | "ID" => json!(["1", "upc-1", "", "é 🦀", "\u{0}"].choose(rng)),
            // A custom scalar accepts any JSON.
            _ => garbage_json(rng, 2),
        },
    }
}

/// A JSON value of no particular type, nested up to `depth`.
pub fn garbage_json(rng: &mut ChaCha8Rng, depth: usize) -> Value {
    match rng.random_range(0..if depth == 0 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => [
            json!(i64::MIN),
            json!(u64::MAX),
            json!(f64::MAX),
            json!(-0.0),
            json!(1e-300),
        ]
        .choose(rng)
        .cloned()
        .expect("numbers"),
        3 => json!(rng.random_range(-10..10)),
        4 => json!(["", "x", "\u{feff}", "\u{10ffff}", "{", "$v"].choose(rng)),
        5 => json!("w".repeat(rng.random_range(0..3) * 10_000)),
        6 => (0..rng.random_range(0..4))
            .map(|_| garbage_json(rng, depth - 1))
            .collect(),
        _ => {
            let object: Map<String, Value> = (0..rng.random_range(0..4))
                .map(|i| (format!("k{i}"), garbage_json(rng, depth - 1)))
                .collect();
            Value::Object(object)
        }
    }
}
