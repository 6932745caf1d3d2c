//! Rules for text that every backend must store alike. PostgreSQL refuses the NUL character
//! (U+0000) in `text` and `jsonb` while SQLite keeps it, so syncd refuses it everywhere, before
//! anything reaches a database: record data (422 naming the field), filter and search values
//! (400), identifiers and WebSocket messages.

use serde_json::Value;

/// What is said about a string holding U+0000.
pub const NUL_MESSAGE: &str = "contains a NUL character (\\u0000), which is not accepted";

/// Whether `s` holds U+0000.
pub fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// The path of the first string (or object key) holding U+0000 inside `value`, relative to it:
/// `""` for the value itself, `".terms[2]"` for a nested one. `None` when there is none.
pub fn find_nul(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => has_nul(s).then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v).map(|rest| format!("[{i}]{rest}"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if has_nul(k) {
                return Some(format!(".{}", k.escape_default()));
            }
            find_nul(v).map(|rest| format!(".{k}{rest}"))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// Whether `s` is empty or made of whitespace and control characters only: nothing a person
/// could read as a name.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| c.is_whitespace() || c.is_control())
}

/// How an error message names the JSON kind of a value ("a string", "an object").
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_characters_are_found_at_any_depth_and_in_keys() {
        assert_eq!(find_nul(&json!("a\u{0}b")), Some(String::new()));
        assert_eq!(find_nul(&json!("ab")), None);
        assert_eq!(
            find_nul(&json!({ "terms": [1, "x", "y\u{0}"] })),
            Some(".terms[2]".into())
        );
        assert_eq!(find_nul(&json!({ "k\u{0}": 1 })), Some(".k\\u{0}".into()));
        assert_eq!(find_nul(&json!([true, null, 1.5, {}])), None);
    }

    #[test]
    fn blank_means_only_whitespace_or_control_characters() {
        for blank in ["", " ", "\t\n", "\u{a0}", "\u{1}\u{7f}", " \u{0} "] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for named in ["a", " acme ", "a b", "é"] {
            assert!(!is_blank(named), "{named:?}");
        }
    }
}
