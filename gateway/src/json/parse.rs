//! Parsing JSON text straight into a [`Value`], without serde's visitor in between.
//!
//! Parsing subgraph answers was the largest single cost of a request (docs/benchmarks.md,
//! "CPU per request, re-measured"): serde_json's reader scans strings eight bytes at a time,
//! and every value travels through its `Deserializer`/`Visitor` calls and their `Result`s.
//! Here strings are scanned with `memchr` (vector instructions), objects and arrays are built
//! in place, and only what serde_json decides in a way we must match exactly is left to it
//! (numbers outside the common forms). What is accepted and how it reads is serde_json's:
//! the same grammar (no trailing commas, no comments, no control characters in strings,
//! surrogate pairs checked), the same numbers, the same nesting limit (128), the last of
//! duplicated keys kept. The text is `&str`, so its UTF-8 was checked once, for the whole body.

use memchr::memchr2;

use super::{Number, Object, Str, Value};

/// Arrays and objects may nest to one less than this, as with serde_json's default limit: a
/// hostile answer is an error, not a stack overflow.
const MAX_DEPTH: usize = 128;

/// Why a text is not JSON, with where (as serde_json words it: line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// Parses one JSON value, with nothing but whitespace after it.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, what: &str) -> ParseError {
        let before = &self.bytes[..self.pos.min(self.bytes.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = before.len() - line_start + 1;
        ParseError(format!("{what} at line {line} column {column}"))
    }

    fn eof(&self, what: &str) -> ParseError {
        self.error(&format!("EOF while parsing {what}"))
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        match self.peek() {
            None => Err(self.eof("a value")),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected value")),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, ParseError> {
        let end = self.pos + word.len();
        match self.bytes.get(self.pos..end) {
            Some(found) if found == word.as_bytes() => {
                self.pos = end;
                Ok(value)
            }
            Some(_) => Err(self.error("expected ident")),
            None if word.as_bytes().starts_with(&self.bytes[self.pos..]) => {
                self.pos = self.bytes.len();
                Err(self.eof("a value"))
            }
            None => Err(self.error("expected ident")),
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        // The opening bracket.
        self.pos += 1;
        Ok(())
    }

    fn object(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        let mut entries = Vec::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Object(Object::new()));
        }
        loop {
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return Err(self.error("key must be a string")),
                None => return Err(self.eof("an object")),
            }
            let key = self.string()?;
            match self.peek() {
                Some(b':') => self.pos += 1,
                Some(_) => return Err(self.error("expected `:`")),
                None => return Err(self.eof("an object")),
            }
            let value = self.value()?;
            entries.push((key, value));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err(self.error("expected `,` or `}`")),
                None => return Err(self.eof("an object")),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(Object::from_entries(entries)))
    }

    fn array(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.eof("a list")),
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    /// A string literal, its opening quote at `pos`.
    fn string(&mut self) -> Result<Str, ParseError> {
        self.pos += 1;
        let start = self.pos;
        let end = self.string_end(start)?;
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            // `"` is ASCII, so both ends are character boundaries.
            return Ok(Str::new(&self.text[start..end]));
        }
        self.escaped_string(start, end)
    }

    /// The position of the first `"` or `\` from `from` on; an error at a control character
    /// (JSON forbids them raw in strings) or at the end of the text.
    fn string_end(&mut self, from: usize) -> Result<usize, ParseError> {
        // Most strings are short (keys, ids, names): a byte at a time costs less than
        // setting up a vector search.
        let short = (from + SHORT_STRING).min(self.bytes.len());
        for at in from..short {
            match self.bytes[at] {
                b'"' | b'\\' => return Ok(at),
                0..0x20 => {
                    self.pos = at;
                    return Err(self.control_character());
                }
                _ => {}
            }
        }
        let Some(offset) = memchr2(b'"', b'\\', &self.bytes[short..]) else {
            self.pos = self.bytes.len();
            return Err(self.eof("a string"));
        };
        let end = short + offset;
        // The smallest byte, with no early exit: a reduction that vectorises.
        let segment = &self.bytes[short..end];
        if segment.iter().fold(u8::MAX, |least, &b| least.min(b)) < 0x20 {
            self.pos = short + segment.iter().position(|&b| b < 0x20).unwrap_or(0);
            return Err(self.control_character());
        }
        Ok(end)
    }

    fn control_character(&self) -> ParseError {
        self.error("control character (\\u0000-\\u001F) found while parsing a string")
    }

    /// The rest of a string from its first backslash at `at` (`start`: its first character).
    fn escaped_string(&mut self, start: usize, mut at: usize) -> Result<Str, ParseError> {
        let mut out = String::with_capacity(at - start + 16);
        out.push_str(&self.text[start..at]);
        loop {
            // `at` is on a backslash.
            self.pos = at + 1;
            let Some(&escape) = self.bytes.get(self.pos) else {
                return Err(self.eof("a string"));
            };
            self.pos += 1;
            match escape {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => out.push(self.unicode_escape()?),
                _ => {
                    self.pos -= 1;
                    return Err(self.error("invalid escape"));
                }
            }
            let run = self.pos;
            at = self.string_end(run)?;
            out.push_str(&self.text[run..at]);
            if self.bytes[at] == b'"' {
                self.pos = at + 1;
                return Ok(Str::from(out));
            }
        }
    }

    /// After `\u`: four hex digits, and for a leading surrogate, its trailing `\uXXXX`.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    if self.pos + 2 > self.bytes.len() {
                        self.pos = self.bytes.len();
                        return Err(self.eof("a string"));
                    }
                    return Err(self.error("unexpected end of hex escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone leading surrogate in hex escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut code = 0;
        for _ in 0..4 {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.eof("a string"));
            };
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(self.error("invalid escape")),
            };
            code = code * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(code)
    }

    /// A number, read as serde_json reads it: integers as `u64` or `i64` where they fit,
    /// anything else as `f64`. The common forms (an integer, or a decimal of at most 15
    /// digits without exponent) are computed here exactly as serde_json computes them; the
    /// rest is handed to serde_json.
    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        let negative = self.bytes[start] == b'-';
        let mut pos = start + usize::from(negative);
        let int_start = pos;
        while let Some(b'0'..=b'9') = self.bytes.get(pos) {
            pos += 1;
        }
        let int_digits = pos - int_start;
        let mut frac_digits = 0;
        let mut simple = true;
        if self.bytes.get(pos) == Some(&b'.') {
            pos += 1;
            let frac_start = pos;
            while let Some(b'0'..=b'9') = self.bytes.get(pos) {
                pos += 1;
            }
            frac_digits = pos - frac_start;
        }
        if let Some(b'e' | b'E') = self.bytes.get(pos) {
            simple = false;
            pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(pos) {
                pos += 1;
            }
            while let Some(b'0'..=b'9') = self.bytes.get(pos) {
                pos += 1;
            }
        }
        let token = &self.text[start..pos];
        let leading_zero = int_digits > 1 && self.bytes[int_start] == b'0';
        let has_fraction = self.bytes.get(int_start + int_digits) == Some(&b'.');
        let digits_ok = int_digits > 0 && !leading_zero && (!has_fraction || frac_digits > 0);
        if simple && digits_ok && int_digits + frac_digits <= 15 {
            self.pos = pos;
            let significand = token
                .bytes()
                .filter(u8::is_ascii_digit)
                .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
            let number = if has_fraction {
                let f = significand as f64 / POW10[frac_digits];
                Number::from_f64(if negative { -f } else { f })
            } else if !negative {
                Some(Number::from(significand))
            } else {
                // serde_json reads `-0` as the float -0.0.
                let n = (significand as i64).wrapping_neg();
                if n >= 0 {
                    Number::from_f64(-(significand as f64))
                } else {
                    Some(Number::from(n))
                }
            };
            return number
                .map(Value::Number)
                .ok_or_else(|| self.error("number out of range"));
        }
        // Long, exponent or malformed: serde_json decides (and words the error).
        match serde_json::from_str::<Number>(token) {
            Ok(number) => {
                self.pos = pos;
                Ok(Value::Number(number))
            }
            Err(error) => {
                self.pos = start + error.column().saturating_sub(1);
                if error.is_eof() {
                    Err(self.eof("a value"))
                } else {
                    Err(self.error("invalid number"))
                }
            }
        }
    }
}

/// Strings up to this long are scanned a byte at a time (see [`Parser::string_end`]).
const SHORT_STRING: usize = 16;

/// Powers of ten exactly representable as `f64` (up to 10^22): dividing a significand of at
/// most 15 digits by one is a single correctly rounded operation, as serde_json does it.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text, parsed here and by serde_json (through the serde visitor): the same value,
    /// or both an error.
    fn agrees(text: &str) {
        let ours = parse(text);
        let theirs = serde_json::from_str::<Value>(text);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{text:?}");
                // Numbers compare by value: check the exact representation too.
                assert_eq!(
                    serde_json::to_string(a).unwrap(),
                    serde_json::to_string(b).unwrap(),
                    "{text:?}"
                );
            }
            (Err(_), Err(_)) => {}
            _ => panic!("{text:?}: ours {ours:?}, serde_json's {theirs:?}"),
        }
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"data":{"a":[1,2,{"b":null,"c":true,"d":false}],"e":"text"}}"#,
            " \n\t{ \"a\" : [ ] , \"b\" : { } }\r\n",
            r#"{"a":1,"a":2,"b":{"c":1},"b":{"d":2}}"#,
            r#""plain""#,
            r#""esc \" \\ \/ \b \f \n \r \t \u00e9 \u2713 \ud83d\ude80 end""#,
            r#""\u0000 nul""#,
            r#""é ✓ 🚀 raw utf-8""#,
            r#"["\ud800"]"#,
            r#"["\udc00"]"#,
            r#"["\ud800\u0041"]"#,
            r#"["\ud800x"]"#,
            r#"["\x"]"#,
            "[\"tab\tin string\"]",
            "[0, -0, 1, -1, 18446744073709551615, 18446744073709551616, -9223372036854775808]",
            "[-9223372036854775809, 0.5, -0.5, 12.99, 0.1, 123456789012345, 1234567890123456]",
            "[1.0, -0.0, 3.14159265358979, 1e3, 1E-3, 2.5e+10, 1.7976931348623157e308]",
            "[1e400, -1e400, 01, 1., .5, -, +1, 1.e5, 0x10, 1.5.5, --1]",
            "[1e400]",
            "[01]",
            "[1.]",
            "[-]",
            "[.5]",
            "[1,]",
            "{\"a\":1,}",
            "[1 2]",
            "{\"a\" 1}",
            "{1:2}",
            "[true, false, null]",
            "[tru]",
            "[nul",
            "nulll",
            "[1] x",
            "",
            "   ",
            "{",
            "[",
            "\"open",
            "{\"a\":",
            "{\"a\"",
            "\"\\u12",
            "\"\\",
            "[1.5e]",
            "[-01]",
            "[00]",
        ] {
            agrees(text);
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        let error = parse("{\"data\": {\"a\": ").unwrap_err().to_string();
        assert!(error.contains("EOF"), "{error}");
        let error = parse("{\n  \"a\": x}").unwrap_err().to_string();
        assert_eq!(error, "expected value at line 2 column 8");
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
        let objects = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
        assert!(parse(&objects).is_err());
        for depth in [MAX_DEPTH - 1, MAX_DEPTH] {
            agrees(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
        }
        assert!(parse(&format!("{}{}", "[".repeat(127), "]".repeat(127))).is_ok());
    }

    #[test]
    fn long_strings_keep_every_byte() {
        let body = "a review body of several hundred characters ".repeat(12);
        let text = format!(r#"{{"body":"{body}","esc":"{body}\n{body}"}}"#);
        agrees(&text);
        let value = parse(&text).unwrap();
        assert_eq!(value["body"].as_str(), Some(body.as_str()));
    }
}
