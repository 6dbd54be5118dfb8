//! Near-valid documents: a valid one with a few random edits to its tokens (deleted,
//! duplicated, swapped, replaced by schema words or wrong literals, unknown names, huge
//! literals, unbalanced punctuation, garbage characters, spliced copies, renamed spreads), and
//! variables with wrong, missing or extra values.

use apollo_compiler::ast::Type;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::schema_view::SchemaView;
use super::values;

/// A piece of GraphQL text with the whitespace before it, so joining tokens gives the text
/// back unchanged.
#[derive(Debug, Clone)]
pub struct Token {
    pub space: String,
    pub text: String,
}

/// Splits GraphQL text into names, numbers, strings, punctuation and single other characters.
/// Rough (no validation) but lossless: `join(tokenize(t)) == t`.
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        let space: String = chars[start..i].iter().collect();
        if i == chars.len() {
            tokens.push(Token {
                space,
                text: String::new(),
            });
            break;
        }
        let begin = i;
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' && !starts(&chars, i, "...") {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | '.' | '+'))
                && !starts(&chars, i, "...")
            {
                i += 1;
            }
        } else if starts(&chars, i, "\"\"\"") {
            i += 3;
            while i < chars.len() && !starts(&chars, i, "\"\"\"") {
                i += 1;
            }
            i = (i + 3).min(chars.len());
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
        } else if starts(&chars, i, "...") {
            i += 3;
        } else {
            i += 1;
        }
        tokens.push(Token {
            space,
            text: chars[begin..i.min(chars.len())].iter().collect(),
        });
    }
    tokens
}

fn starts(chars: &[char], at: usize, pattern: &str) -> bool {
    pattern
        .chars()
        .enumerate()
        .all(|(k, p)| chars.get(at + k) == Some(&p))
}

pub fn join(tokens: &[Token]) -> String {
    tokens
        .iter()
        .flat_map(|t| [t.space.as_str(), t.text.as_str()])
        .collect()
}

/// `text` with one to four random edits; returns the new text and what was done.
pub fn mutate_text(view: &SchemaView, rng: &mut ChaCha8Rng, text: &str) -> (String, String) {
    let mut tokens = tokenize(text);
    let mut done = Vec::new();
    for _ in 0..rng.random_range(1..=4) {
        if tokens.is_empty() {
            break;
        }
        done.push(edit(view, rng, &mut tokens));
    }
    (join(&tokens), done.join(", "))
}

fn edit(view: &SchemaView, rng: &mut ChaCha8Rng, tokens: &mut Vec<Token>) -> String {
    let at = rng.random_range(0..tokens.len());
    let token = |text: &str| Token {
        space: " ".into(),
        text: text.into(),
    };
    match rng.random_range(0..13) {
        0 => {
            let removed = tokens.remove(at);
            format!("deleted {:?}", removed.text)
        }
        1 => {
            let copy = tokens[at].clone();
            tokens.insert(at, copy);
            format!("duplicated {:?}", tokens[at].text)
        }
        2 if at + 1 < tokens.len() => {
            tokens.swap(at, at + 1);
            format!(
                "swapped {:?} and {:?}",
                tokens[at].text,
                tokens[at + 1].text
            )
        }
        3 => {
            let word = vocabulary_word(view, rng);
            let old = std::mem::replace(&mut tokens[at].text, word.clone());
            format!("replaced {old:?} by {word:?}")
        }
        4 => {
            let word = vocabulary_word(view, rng);
            tokens.insert(at, token(&word));
            format!("inserted {word:?}")
        }
        5 => {
            let name = format!("unknown{}", rng.random_range(0..3));
            let name_at = find(tokens, at, |t| is_name(t) && !is_keyword(t));
            let old = std::mem::replace(&mut tokens[name_at].text, name.clone());
            format!("renamed {old:?} to {name:?}")
        }
        6 => {
            let value_at = find(tokens, at, is_value);
            let wrong = [
                "\"wrong\"",
                "1",
                "-1.5e10",
                "true",
                "null",
                "ENUM_X",
                "[1, \"a\"]",
                "{x: 1}",
                "$undefined",
            ]
            .choose(rng)
            .expect("wrong values");
            let old = std::mem::replace(&mut tokens[value_at].text, (*wrong).into());
            format!("value {old:?} became {wrong}")
        }
        7 => {
            let huge = match rng.random_range(0..3) {
                0 => "9".repeat(rng.random_range(11..400)),
                1 => format!("\"{}\"", "s".repeat(rng.random_range(1..100_000))),
                _ => format!("1e{}", rng.random_range(300..100_000)),
            };
            let value_at = find(tokens, at, is_value);
            tokens[value_at].text = huge;
            "huge literal".into()
        }
        8 => {
            let punctuation = ["{", "}", "(", ")", "[", "]", ":", "!", "$", "@", "...", "="]
                .choose(rng)
                .expect("punctuation");
            tokens.insert(at, token(punctuation));
            format!("inserted {punctuation:?}")
        }
        9 => {
            let garbage = garbage(rng);
            let escaped = format!("{garbage:?}");
            tokens.insert(at, token(&garbage));
            format!("inserted garbage {escaped}")
        }
        10 => {
            tokens.truncate(at);
            format!("truncated at token {at}")
        }
        11 => {
            // A copy of a run of tokens elsewhere: duplicate selections, definitions, spreads.
            let length = rng.random_range(1..=tokens.len().min(30));
            let from = rng.random_range(0..=tokens.len() - length);
            let copy: Vec<Token> = tokens[from..from + length].to_vec();
            let to = rng.random_range(0..=tokens.len());
            tokens.splice(to..to, copy);
            format!("copied {length} tokens from {from} to {to}")
        }
        _ => {
            // Spreads of another fragment (may close a cycle) or of an undefined one.
            let spreads: Vec<usize> = (0..tokens.len())
                .filter(|&i| tokens[i].text == "..." && tokens.get(i + 1).is_some_and(is_name))
                .map(|i| i + 1)
                .filter(|&i| tokens[i].text != "on")
                .collect();
            let Some(&spread) = spreads.choose(rng) else {
                return "no spread to rename".into();
            };
            let name = format!("F{}", rng.random_range(0..8));
            let old = std::mem::replace(&mut tokens[spread].text, name.clone());
            format!("spread of {old} now of {name}")
        }
    }
}

/// The first token from `at` on (wrapping) that `wanted` accepts, else `at`.
fn find(tokens: &[Token], at: usize, wanted: impl Fn(&Token) -> bool) -> usize {
    (0..tokens.len())
        .map(|k| (at + k) % tokens.len())
        .find(|&i| wanted(&tokens[i]))
        .unwrap_or(at)
}

fn is_name(token: &Token) -> bool {
    token
        .text
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn is_keyword(token: &Token) -> bool {
    matches!(
        token.text.as_str(),
        "query" | "mutation" | "subscription" | "fragment" | "on" | "true" | "false" | "null"
    )
}

fn is_value(token: &Token) -> bool {
    let first = token.text.chars().next();
    first.is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '"')
        || matches!(token.text.as_str(), "true" | "false" | "null")
}

fn vocabulary_word(view: &SchemaView, rng: &mut ChaCha8Rng) -> String {
    const GRAMMAR: &[&str] = &[
        "query",
        "mutation",
        "subscription",
        "fragment",
        "on",
        "...",
        "__typename",
        "__schema",
        "__type",
        "@skip",
        "@include",
        "@defer",
        "@deprecated",
        "if",
        "true",
        "null",
        "$v0",
        "F0",
        "F1",
        "Op0",
        "{",
        "}",
        "(",
        ")",
    ];
    if rng.random_bool(0.5) {
        GRAMMAR.choose(rng).expect("grammar").to_string()
    } else {
        view.vocabulary.choose(rng).cloned().unwrap_or_default()
    }
}

/// Characters a GraphQL lexer must survive, all valid UTF-8.
fn garbage(rng: &mut ChaCha8Rng) -> String {
    const CHARS: &[char] = &[
        '\0',
        '\u{1}',
        '\u{7f}',
        '\u{feff}',
        '\u{200b}',
        '\u{2028}',
        '\u{fffd}',
        '\u{10ffff}',
        'é',
        '日',
        '🦀',
        '\\',
        '"',
        '#',
        '\r',
        '\t',
        '&',
        '|',
        '%',
        '`',
        '~',
        '\'',
        ';',
        '<',
    ];
    (0..rng.random_range(1..8))
        .map(|_| *CHARS.choose(rng).expect("chars"))
        .collect()
}

/// The variables with one to three values made wrong: of another type, null, left out,
/// unknown names added, deep or huge values.
pub fn mutate_variables(
    view: &SchemaView,
    rng: &mut ChaCha8Rng,
    variables: &mut Map<String, Value>,
    types: &[(String, Type)],
) -> String {
    let mut done = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        let Some((name, ty)) = types.choose(rng) else {
            variables.insert("unknown".into(), values::garbage_json(rng, 3));
            done.push("unknown variable added".to_string());
            continue;
        };
        let change = match rng.random_range(0..6) {
            0 => {
                variables.remove(name);
                "missing"
            }
            1 => {
                variables.insert(name.clone(), Value::Null);
                "null"
            }
            2 => {
                variables.insert(name.clone(), values::garbage_json(rng, 3));
                "garbage"
            }
            3 => {
                let mut deep = json!(1);
                for _ in 0..rng.random_range(10..100) {
                    deep = json!([deep]);
                }
                variables.insert(name.clone(), deep);
                "deeply nested"
            }
            4 => {
                let item = values::json_value(view.schema, rng, ty.item_type(), 0);
                variables.insert(name.clone(), Value::Array(vec![item; 10_000]));
                "10000 items"
            }
            _ => {
                let wrong = values::json_value(view.schema, rng, &swap_type(ty), 0);
                variables.insert(name.clone(), wrong);
                "of another type"
            }
        };
        done.push(format!("${name} {change}"));
    }
    done.join(", ")
}

/// A different input type than `ty`'s: list ↔ item, or another built-in scalar.
fn swap_type(ty: &Type) -> Type {
    let scalar = match ty.inner_named_type().as_str() {
        "Int" => "String",
        "String" | "ID" => "Boolean",
        "Boolean" => "Float",
        _ => "Int",
    };
    let named = apollo_compiler::Name::new(scalar).expect("scalar name");
    if ty.is_list() {
        Type::NonNullNamed(named)
    } else {
        Type::NonNullList(Box::new(Type::NonNullNamed(named)))
    }
}
