//! Validation and normalisation of incoming record data against its entity type.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ids::RecordId;
pub use crate::managed::is_server_managed;
use crate::schema::{EntityType, FieldSchema, FieldType, StringFormat};
use crate::text::{self, NUL_MESSAGE, json_kind};
use crate::timestamp::Timestamp;

/// Size limits on incoming values (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest allowed nesting of arrays and objects inside one field.
    pub max_depth: usize,
    /// Longest allowed string, in bytes, anywhere in a record.
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_string_bytes: 64 * 1024,
        }
    }
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl EntityType {
    /// Turns a client's record into data the server may store: aliases applied
    /// (`isDeleted` → `is_deleted`), server-managed fields dropped, every remaining field
    /// checked. All problems are reported, not just the first.
    pub fn normalize(
        &self,
        raw: Map<String, Value>,
        limits: &Limits,
    ) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut data = Map::with_capacity(raw.len());
        for (key, value) in raw {
            // Before anything is dropped: a NUL in a server-managed field (an `id`, say) is as
            // much a client mistake as one in data, and must not pass silently on SQLite alone.
            if let Some(problem) = nul_problem(&key, &value) {
                errors.push(problem);
                continue;
            }
            let (key, value) = match self.aliases.iter().find(|a| a.from == key) {
                Some(alias) => {
                    let value = match value {
                        Value::Bool(b) if alias.bool_to_int => Value::from(i64::from(b)),
                        other => other,
                    };
                    (alias.to.clone(), value)
                }
                None => (key, value),
            };
            if is_server_managed(&key) {
                continue;
            }
            match self.field(&key) {
                Some(schema) => {
                    let value = normalize_value(schema, value);
                    check_value(&key, schema, &value, limits, &mut errors);
                    data.insert(key, value);
                }
                None if self.additional_fields => {
                    check_size(&key, &value, limits, &mut errors);
                    data.insert(key, value);
                }
                None => errors.push(FieldError::new(
                    key,
                    format!("unknown field: `{}` does not declare it", self.name),
                )),
            }
        }
        if errors.is_empty() {
            Ok(data)
        } else {
            Err(errors)
        }
    }

    /// The problems of data that is about to create a record: required fields missing or null.
    pub fn check_required(&self, data: &Map<String, Value>) -> Vec<FieldError> {
        self.fields
            .iter()
            .filter(|(name, schema)| schema.required && data.get(name).is_none_or(Value::is_null))
            .map(|(name, _)| FieldError::new(name.clone(), "is required"))
            .collect()
    }

    /// Adds the declared defaults of fields the data does not carry.
    pub fn apply_defaults(&self, data: &mut Map<String, Value>) {
        for (name, schema) in &self.fields {
            if let Some(default) = &schema.default
                && !data.contains_key(name)
            {
                data.insert(name.clone(), default.clone());
            }
        }
    }
}

/// A field whose name or value holds U+0000 (see [`crate::text`]).
fn nul_problem(key: &str, value: &Value) -> Option<FieldError> {
    if text::has_nul(key) {
        return Some(FieldError::new(
            key,
            format!("the field name {NUL_MESSAGE}"),
        ));
    }
    text::find_nul(value).map(|path| match path.as_str() {
        "" => FieldError::new(key, NUL_MESSAGE),
        nested => FieldError::new(key, format!("{NUL_MESSAGE} (at `{key}{nested}`)")),
    })
}

/// Canonical forms: flags as 0/1, UUIDs lowercase and hyphenated.
fn normalize_value(schema: &FieldSchema, value: Value) -> Value {
    match (schema.ty, value) {
        (FieldType::Int, Value::Bool(b)) if schema.is_flag() => Value::from(i64::from(b)),
        (FieldType::Uuid, Value::String(s)) => match RecordId::parse(&s) {
            Ok(id) => Value::String(id.to_string()),
            Err(_) => Value::String(s),
        },
        (_, value) => value,
    }
}

/// Checks one value against its field schema, appending problems to `errors`.
pub(crate) fn check_value(
    field: &str,
    schema: &FieldSchema,
    value: &Value,
    limits: &Limits,
    errors: &mut Vec<FieldError>,
) {
    if value.is_null() {
        if schema.required {
            errors.push(FieldError::new(field, "is required and cannot be null"));
        }
        return;
    }
    let before = errors.len();
    check_size(field, value, limits, errors);
    if errors.len() > before {
        return;
    }
    let mut fail = |message: String| errors.push(FieldError::new(field, message));
    match schema.ty {
        FieldType::String | FieldType::Text => {
            let Some(s) = value.as_str() else {
                return fail(format!("must be a string, got {}", json_kind(value)));
            };
            if let Some(max) = schema.max_length {
                let len = s.chars().count();
                if len > max {
                    return fail(format!("is {len} characters long; at most {max} allowed"));
                }
            }
            if let Some(allowed) = &schema.enum_values
                && !allowed.iter().any(|a| a == s)
            {
                return fail(format!("must be one of: {}", allowed.join(", ")));
            }
            // An empty string is how many apps say "no email".
            if schema.format == Some(StringFormat::Email) && !s.is_empty() && !looks_like_email(s) {
                fail("not an email address".to_owned());
            }
        }
        FieldType::Int => {
            let Some(n) = value.as_i64() else {
                return fail(format!("must be an integer, got {}", json_kind(value)));
            };
            check_range(schema, n as f64, &mut fail);
        }
        FieldType::Float => {
            let Some(n) = value.as_f64() else {
                return fail(format!("must be a number, got {}", json_kind(value)));
            };
            check_range(schema, n, &mut fail);
        }
        FieldType::Bool => {
            if !value.is_boolean() {
                fail(format!("must be true or false, got {}", json_kind(value)));
            }
        }
        FieldType::Datetime => match value.as_str() {
            Some(s) if Timestamp::parse_rfc3339(s).is_ok() => {}
            _ => fail("must be an RFC 3339 date-time such as 2024-01-01T10:00:00Z".to_owned()),
        },
        FieldType::Date => match value.as_str() {
            Some(s) if is_date(s) => {}
            _ => fail("must be a date such as 2024-01-31".to_owned()),
        },
        FieldType::Uuid => match value.as_str() {
            Some(s) if RecordId::parse(s).is_ok() => {}
            _ => fail("must be a UUID".to_owned()),
        },
        FieldType::Json => {}
    }
}

fn check_range(schema: &FieldSchema, n: f64, fail: &mut impl FnMut(String)) {
    if let Some(min) = schema.min
        && n < min
    {
        return fail(format!("must be at least {min}"));
    }
    if let Some(max) = schema.max
        && n > max
    {
        fail(format!("must be at most {max}"));
    }
}

/// Nesting depth and string sizes, which apply to every field, declared or not.
fn check_size(field: &str, value: &Value, limits: &Limits, errors: &mut Vec<FieldError>) {
    match exceeds(value, limits, 0) {
        Some(Exceeded::Depth) => errors.push(FieldError::new(
            field,
            format!("is nested deeper than {} levels", limits.max_depth),
        )),
        Some(Exceeded::String) => errors.push(FieldError::new(
            field,
            format!("holds a string over {} bytes", limits.max_string_bytes),
        )),
        None => {}
    }
}

enum Exceeded {
    Depth,
    String,
}

fn exceeds(value: &Value, limits: &Limits, depth: usize) -> Option<Exceeded> {
    match value {
        Value::String(s) if s.len() > limits.max_string_bytes => Some(Exceeded::String),
        Value::Array(items) => {
            if depth + 1 > limits.max_depth {
                return Some(Exceeded::Depth);
            }
            items.iter().find_map(|v| exceeds(v, limits, depth + 1))
        }
        Value::Object(map) => {
            if depth + 1 > limits.max_depth {
                return Some(Exceeded::Depth);
            }
            map.iter().find_map(|(k, v)| {
                if k.len() > limits.max_string_bytes {
                    Some(Exceeded::String)
                } else {
                    exceeds(v, limits, depth + 1)
                }
            })
        }
        _ => None,
    }
}

/// `local@domain.tld`, no spaces, one `@`, a dot inside the domain.
fn looks_like_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

fn is_date(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10 && time::Date::parse(s, format).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        for ok in ["a@b.co", "john.doe+x@example.com"] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in [
            "",
            "john",
            "@example.com",
            "john@",
            "john@localhost",
            "a b@c.d",
            "a@b@c.d",
            "a@b..c",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }

    #[test]
    fn dates_are_calendar_dates() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024-1-1"));
    }
}
