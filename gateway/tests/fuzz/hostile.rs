//! Documents shaped to cost the gateway as much as possible for their size: deep nesting,
//! very many aliases, fragments whose spreads double per level, fragment cycles, huge
//! literals, thousands of operations, variables, directives or errors.
//!
//! The largest sizes were too expensive before the operation limits (docs/config.md, `limits`)
//! refused them early; they are generated unless [`Shape::known_slow`] is off (`FUZZ_SMALL=1`),
//! which keeps to sizes the engine handles fast with every limit off.

use apollo_compiler::ast::OperationType;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::schema_view::SchemaView;

/// A hostile document and what it is, for reports.
pub struct Hostile {
    pub label: String,
    pub text: String,
    pub operation_name: Option<String>,
    pub variables: Map<String, Value>,
}

/// Which shapes and sizes to generate.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Allow the sizes that exceed the time bound without the operation limits:
    /// fragment spreads doubling over more than [`MAX_FAST_DOUBLING`] levels, more than
    /// [`MAX_FAST_REPEATS`] aliases or repeated fields, more than [`MAX_FAST_UNBALANCED`]
    /// unclosed brackets, fields nested deeper than [`MAX_FAST_DEEP_FIELDS`], more than
    /// [`MAX_FAST_FRAGMENTS`] fragments side by side.
    pub known_slow: bool,
}

/// Doubling fragments beyond this many levels are known to be exponential in normalisation.
pub const MAX_FAST_DOUBLING: usize = 10;
/// More aliases (or copies of one field) than this are known to be quadratic.
pub const MAX_FAST_REPEATS: usize = 2_000;
/// Unclosed `{` (or `(`, `[`) beyond this many give three errors each, all returned.
pub const MAX_FAST_UNBALANCED: usize = 1_000;
/// Fields nested past the parser's recursion limit give an error per level beyond it: 20,000
/// levels take 0.5–2 s.
pub const MAX_FAST_DEEP_FIELDS: usize = 2_000;
/// 10,000 fragments spread side by side take 0.3–0.8 s in release, too close to the bound.
pub const MAX_FAST_FRAGMENTS: usize = 1_000;

pub fn generate(view: &SchemaView, rng: &mut ChaCha8Rng, shape: Shape) -> Hostile {
    let query_root = view
        .root(OperationType::Query)
        .expect("query type")
        .to_string();
    let pick = |rng: &mut ChaCha8Rng, sizes: &[usize]| *sizes.choose(rng).expect("sizes");
    let repeats: &[usize] = if shape.known_slow {
        &[10, 100, 1_000, 5_000, 20_000, 50_000]
    } else {
        &[10, 100, 1_000, MAX_FAST_REPEATS]
    };
    let doubling: &[usize] = if shape.known_slow {
        &[2, 5, 10, 15, 20, 25, 30]
    } else {
        &[2, 5, MAX_FAST_DOUBLING]
    };
    let unbalanced: &[usize] = if shape.known_slow {
        &[100, 1_000, 10_000, 100_000]
    } else {
        &[10, 100, MAX_FAST_UNBALANCED]
    };
    let deep: &[usize] = if shape.known_slow {
        &[10, 100, 300, 499, 501, 2_000, 20_000]
    } else {
        &[10, 100, 300, 499, 501, MAX_FAST_DEEP_FIELDS]
    };
    let wide: &[usize] = if shape.known_slow {
        &[100, 1_000, 10_000]
    } else {
        &[100, MAX_FAST_FRAGMENTS]
    };
    let (label, text) = match rng.random_range(0..17) {
        0 => {
            let depth = pick(rng, deep);
            (
                format!("deep fields {depth}"),
                deep_fields(view, &query_root, depth, rng),
            )
        }
        1 => {
            let depth = pick(rng, &[10, 100, 499, 501, 5_000, 100_000]);
            (
                format!("deep inline fragments {depth}"),
                deep_inline_fragments(depth),
            )
        }
        2 => {
            let depth = pick(rng, unbalanced);
            let open = ["{", "(", "[", "{ a(b: [", "{ a(b: {c: "]
                .choose(rng)
                .expect("open");
            (format!("unbalanced {open:?} × {depth}"), open.repeat(depth))
        }
        3 => {
            let count = pick(rng, repeats);
            (format!("aliases {count}"), aliases(count))
        }
        4 => {
            let count = pick(rng, repeats);
            (
                format!("repeated field {count}"),
                repeated_field(view, &query_root, count),
            )
        }
        5 => {
            let levels = pick(rng, doubling);
            (
                format!("doubling fragments {levels}"),
                doubling_fragments(&query_root, levels),
            )
        }
        6 => {
            let length = pick(rng, &[1, 2, 3, 50]);
            (
                format!("fragment cycle {length}"),
                fragment_cycle(&query_root, length),
            )
        }
        7 => {
            let count = pick(rng, wide);
            (
                format!("wide fragments {count}"),
                wide_fragments(&query_root, count),
            )
        }
        8 => {
            let count = pick(rng, &[100, 1_000, 10_000]);
            let text = (0..count)
                .map(|i| format!("query Q{i} {{ __typename }}"))
                .collect::<Vec<_>>()
                .join("\n");
            return Hostile {
                label: format!("operations {count}"),
                text,
                operation_name: Some(format!("Q{}", count - 1)),
                variables: Map::new(),
            };
        }
        9 => return condition_variables(pick(rng, &[63, 64, 65, 200, 2_000]), rng),
        10 => {
            let length = pick(rng, &[10_000, 100_000, 1_000_000]);
            (format!("string of {length}"), huge_string(length))
        }
        11 => {
            let (label, literal) = [
                ("huge int", "9".repeat(10_000)),
                ("huge float", format!("1{}.5e99999", "0".repeat(1_000))),
                ("lone surrogate", r#""\uD800""#.to_string()),
                ("surrogate pair", r#""\uD83E\uDD80""#.to_string()),
                ("braced escape", r#""\u{10FFFF}""#.to_string()),
                ("negative zero", "-0".to_string()),
                ("many escapes", format!("\"{}\"", r"\u0000".repeat(10_000))),
            ]
            .choose(rng)
            .expect("literals")
            .clone();
            (
                label.to_string(),
                format!("{{ __type(name: {literal}) {{ name }} }}"),
            )
        }
        12 => {
            let count = pick(rng, &[100, 1_000, 10_000]);
            let directives = " @skip(if: false)".repeat(count);
            (
                format!("directives {count}"),
                format!("{{ __typename{directives} }}"),
            )
        }
        13 => {
            let count = pick(rng, &[100, 1_000, 10_000]);
            let arguments = vec!["name: \"Query\""; count].join(", ");
            (
                format!("arguments {count}"),
                format!("{{ __type({arguments}) {{ name }} }}"),
            )
        }
        14 => {
            let count = pick(rng, &[100, 1_000, 10_000]);
            let unknown = (0..count)
                .map(|i| format!("unknown{i}"))
                .collect::<Vec<_>>();
            (
                format!("unknown fields {count}"),
                format!("{{ {} }}", unknown.join(" ")),
            )
        }
        15 => {
            let count = pick(rng, &[100, 1_000, 10_000]);
            let declared = (0..count)
                .map(|i| format!("$unused{i}: [[String!]!]"))
                .collect::<Vec<_>>();
            (
                format!("unused variables {count}"),
                format!("query Q({}) {{ __typename }}", declared.join(", ")),
            )
        }
        _ => {
            let (width, depth) = *[(2, 10), (3, 7), (10, 3)].choose(rng).expect("fan-outs");
            (
                format!("alias fan-out {width}^{depth}"),
                fan_out(view, &query_root, width, depth),
            )
        }
    };
    Hostile {
        label,
        text,
        operation_name: None,
        variables: Map::new(),
    }
}

/// A chain of composite fields `depth` deep (through the schema's cycles), or inline
/// fragments once no composite field is left.
fn deep_fields(view: &SchemaView, root: &str, depth: usize, rng: &mut ChaCha8Rng) -> String {
    let mut open = String::new();
    let mut parent = root.to_string();
    let mut levels = 0;
    let choice = rng.random_range(0..8);
    while levels < depth {
        let Some(field) = view.composite_field(&parent, choice + levels) else {
            break;
        };
        let arguments: Vec<String> = field
            .arguments
            .iter()
            .filter(|a| a.ty.is_non_null() && a.default_value.is_none())
            .map(|a| format!("{}: {}", a.name, placeholder(view, &a.ty)))
            .collect();
        open.push_str(&field.name);
        if !arguments.is_empty() {
            open.push_str(&format!("({})", arguments.join(", ")));
        }
        open.push_str(" { ");
        parent = field.ty.inner_named_type().to_string();
        levels += 1;
    }
    let rest = depth - levels;
    format!(
        "{{ {open}{}__typename{} {} }}",
        "... { ".repeat(rest),
        " }".repeat(rest),
        "}".repeat(levels)
    )
}

/// A literal for a required argument: the first enum value, else a string or number.
fn placeholder(view: &SchemaView, ty: &apollo_compiler::ast::Type) -> String {
    use apollo_compiler::schema::ExtendedType;
    let base = match view.schema.types.get(ty.inner_named_type()) {
        Some(ExtendedType::Enum(e)) => e.values.keys().next().map(|v| v.to_string()),
        Some(ExtendedType::InputObject(_)) => Some("{}".into()),
        _ => None,
    };
    let base = base.unwrap_or_else(|| match ty.inner_named_type().as_str() {
        "Int" | "Float" => "1".into(),
        "Boolean" => "true".into(),
        _ => "\"1\"".into(),
    });
    if ty.is_list() {
        format!("[{base}]")
    } else {
        base
    }
}

fn deep_inline_fragments(depth: usize) -> String {
    format!(
        "{{ {}__typename{} }}",
        "... { ".repeat(depth),
        " }".repeat(depth)
    )
}

fn aliases(count: usize) -> String {
    let fields: Vec<String> = (0..count).map(|i| format!("a{i}: __typename")).collect();
    format!("{{ {} }}", fields.join(" "))
}

/// One field (the root's first leaf, else `__typename`) `count` times under one key.
fn repeated_field(view: &SchemaView, root: &str, count: usize) -> String {
    let leaf = view
        .fields(root)
        .into_iter()
        .find(|f| !view.is_composite(&f.ty) && f.arguments.iter().all(|a| !a.ty.is_non_null()))
        .map(|f| f.name.to_string())
        .unwrap_or_else(|| "__typename".into());
    format!("{{ {} }}", vec![leaf; count].join(" "))
}

/// `F0 { __typename }`, `Fn { ...Fn-1 ...Fn-1 }`: 2^levels spreads once inlined.
fn doubling_fragments(root: &str, levels: usize) -> String {
    let mut text = format!("{{ ...F{levels} }}\nfragment F0 on {root} {{ __typename }}\n");
    for level in 1..=levels {
        let below = level - 1;
        text.push_str(&format!(
            "fragment F{level} on {root} {{ ...F{below} ... {{ ...F{below} }} }}\n"
        ));
    }
    text
}

/// F0 → F1 → … → F(length-1) → F0 (invalid: the validator must catch it).
fn fragment_cycle(root: &str, length: usize) -> String {
    let mut text = "{ ...F0 }\n".to_string();
    for i in 0..length {
        let next = (i + 1) % length;
        text.push_str(&format!(
            "fragment F{i} on {root} {{ __typename ...F{next} }}\n"
        ));
    }
    text
}

fn wide_fragments(root: &str, count: usize) -> String {
    let spreads: Vec<String> = (0..count).map(|i| format!("...F{i}")).collect();
    let mut text = format!("{{ {} }}\n", spreads.join(" "));
    for i in 0..count {
        text.push_str(&format!("fragment F{i} on {root} {{ a{i}: __typename }}\n"));
    }
    text
}

/// More `@include` conditions than the plan cache's 64-bit key holds.
fn condition_variables(count: usize, rng: &mut ChaCha8Rng) -> Hostile {
    let declared: Vec<String> = (0..count).map(|i| format!("$c{i}: Boolean!")).collect();
    let fields: Vec<String> = (0..count)
        .map(|i| format!("f{i}: __typename @include(if: $c{i})"))
        .collect();
    let variables = (0..count)
        .map(|i| (format!("c{i}"), json!(rng.random_bool(0.5))))
        .collect();
    Hostile {
        label: format!("condition variables {count}"),
        text: format!(
            "query Q({}) {{ {} }}",
            declared.join(", "),
            fields.join(" ")
        ),
        operation_name: None,
        variables,
    }
}

fn huge_string(length: usize) -> String {
    format!("{{ __type(name: \"{}\") {{ name }} }}", "x".repeat(length))
}

/// Each level selects the same composite field under `width` aliases: width^depth fields
/// in the response for width·depth of text per branch (the text itself grows too).
fn fan_out(view: &SchemaView, root: &str, width: usize, depth: usize) -> String {
    fn level(view: &SchemaView, parent: &str, width: usize, depth: usize) -> String {
        let field = view.composite_field(parent, 0);
        match field {
            Some(field) if depth > 0 && field.arguments.iter().all(|a| !a.ty.is_non_null()) => {
                let inner = level(view, field.ty.inner_named_type(), width, depth - 1);
                let copies: Vec<String> = (0..width)
                    .map(|i| format!("w{i}: {} {inner}", field.name))
                    .collect();
                format!("{{ __typename {} }}", copies.join(" "))
            }
            _ => "{ __typename }".into(),
        }
    }
    level(view, root, width, depth)
}

/// The expensive shapes at growing sizes, for measuring how their cost grows.
pub fn scaling_shapes(view: &SchemaView) -> Vec<(String, String)> {
    let root = view
        .root(OperationType::Query)
        .expect("query type")
        .to_string();
    let mut shapes = Vec::new();
    for levels in [5, 10, 12, 14, 16, 18, 20] {
        shapes.push((
            format!("doubling fragments {levels}"),
            doubling_fragments(&root, levels),
        ));
    }
    for count in [1_000, 2_000, 5_000, 10_000, 20_000, 50_000] {
        shapes.push((format!("aliases {count}"), aliases(count)));
    }
    for count in [1_000, 2_000, 5_000, 10_000, 20_000, 50_000] {
        shapes.push((
            format!("repeated field {count}"),
            repeated_field(view, &root, count),
        ));
    }
    for count in [1_000, 10_000, 30_000, 100_000] {
        for open in ["{", "{ a(b: {c: "] {
            shapes.push((format!("unbalanced {open:?} × {count}"), open.repeat(count)));
        }
    }
    for depth in [100, 300, 499, 501, 5_000] {
        shapes.push((
            format!("deep inline fragments {depth}"),
            deep_inline_fragments(depth),
        ));
    }
    for (width, depth) in [(2, 8), (2, 10), (2, 12), (3, 7), (10, 3), (10, 4)] {
        shapes.push((
            format!("alias fan-out {width}^{depth}"),
            fan_out(view, &root, width, depth),
        ));
    }
    shapes
}
