//! Writing JSON text by hand where serde's general path is measurably slower.

/// Appends `text` as a JSON string literal, escaped as serde_json escapes it.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    // Most strings need no escaping. The check has no early exit so that it vectorises; it is
    // far cheaper than escaping byte by byte.
    let plain = bytes.iter().fold(true, |plain, &b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_serde_json_writes() {
        for text in [
            "",
            "plain ascii",
            "quote \" and backslash \\",
            "control \u{1} \n \t \u{1f}",
            "unicode é ✓ 🚀 and del \u{7f}",
            "slash / stays",
        ] {
            let mut out = Vec::new();
            write_str(&mut out, text);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }
}
