//! JSON carried in an HTTP header value.
//!
//! Header values are byte strings: the runtime refuses characters above U+00FF and sends
//! U+0080..U+00FF as single Latin-1 bytes, not UTF-8, so raw profile claims ("李雷", "Zoë")
//! would fail the request or depend on both ends agreeing on Latin-1. Escaping them as JSON
//! `\uXXXX` keeps the value ASCII and leaves it the same JSON document, so the receiving
//! side parses it with plain `serde_json`.

use super::identity::Identity;

/// The verified identity as the Worker forwards it to an object (`x-rt-identity`).
pub fn identity_header(who: &Identity) -> serde_json::Result<String> {
    Ok(ascii_json(&serde_json::to_string(who)?))
}

/// `json` with every character outside printable ASCII written as a `\uXXXX` escape
/// (UTF-16, so characters beyond the BMP become a surrogate pair).
///
/// Only valid for JSON text: outside string literals JSON has nothing but ASCII, so every
/// escaped character sits inside a string, where `\uXXXX` means that same character.
/// Control characters and `"` / `\` are already escaped by any JSON serializer.
pub fn ascii_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::Profile;
    use serde_json::{json, Value};

    fn printable_ascii(s: &str) -> bool {
        s.bytes().all(|b| (0x20..0x7f).contains(&b))
    }

    #[test]
    fn ascii_passes_through_unchanged() {
        let text = r#"{"sub":"alice","profile":{"name":"Alice \"A\" \\ B"}}"#;
        assert_eq!(ascii_json(text), text);
    }

    #[test]
    fn non_ascii_becomes_utf16_escapes_with_surrogate_pairs() {
        assert_eq!(ascii_json("\"é\""), r#""\u00e9""#);
        assert_eq!(ascii_json("\"李雷\""), r#""\u674e\u96f7""#);
        assert_eq!(ascii_json("\"🚀\""), r#""\ud83d\ude80""#);
        // DEL is ASCII but not printable; header parsers may refuse it.
        assert_eq!(ascii_json("\"\u{7f}\""), r#""\u007f""#);
    }

    #[test]
    fn escaped_json_is_ascii_and_parses_back_to_the_same_value() {
        let value = json!({"sub": "u1", "profile": {"name": "李雷 🚀", "last_name": "Zoë"}});
        let escaped = ascii_json(&serde_json::to_string(&value).unwrap());
        assert!(printable_ascii(&escaped), "{escaped}");
        assert_eq!(serde_json::from_str::<Value>(&escaped).unwrap(), value);
    }

    #[test]
    fn identity_header_is_ascii_and_reads_back_as_the_same_identity() {
        let profile = Profile {
            name: Some("李雷 🚀".into()),
            last_name: Some("Zoë".into()),
            ..Profile::default()
        };
        let who = Identity::new("u1".into(), profile, vec!["acme".into()], 1_700_000_000);
        let header = identity_header(&who).unwrap();
        assert!(printable_ascii(&header), "{header}");
        assert_eq!(serde_json::from_str::<Identity>(&header).unwrap(), who);
    }
}
