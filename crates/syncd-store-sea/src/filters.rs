//! Conditions on the JSON `data` of records (REST filters, pending filters, search) and on
//! entity types, appended to a statement. Field names and values are always bound, never
//! spliced into SQL.
//!
//! Equality is JSON equality (SQLite `json_extract(data, path) = json_extract(value, '$')`,
//! PostgreSQL `data -> field = value::jsonb`; one difference: SQLite reads JSON `true` as 1,
//! PostgreSQL does not). A filter on JSON `null` matches records where the field is null or
//! absent. Search is a case-insensitive substring match (`LIKE … ESCAPE` on SQLite, which folds
//! ASCII letters only; `ILIKE` on PostgreSQL).

use serde_json::Value;
use syncd_model::EntityTypeName;
use syncd_store::{Result, StoreError};

use crate::sql::{Dialect, Sql};

/// `data`'s `field` equals the JSON `value`.
pub(crate) fn field_equals(q: &mut Sql, field: &str, value: &Value) -> Result<()> {
    match q.dialect() {
        Dialect::Sqlite => {
            let p = q.param(sqlite_path(field)?);
            if value.is_null() {
                q.push("json_extract(data, ").ph(p).push(") IS NULL");
            } else {
                q.push("json_extract(data, ")
                    .ph(p)
                    .push(") = json_extract(")
                    .bind(value.to_string())
                    .push(", '$')");
            }
        }
        Dialect::Postgres => {
            let p = q.param(field);
            if value.is_null() {
                q.push("(data -> ")
                    .ph(p)
                    .push(" IS NULL OR data -> ")
                    .ph(p)
                    .push(" = 'null'::jsonb)");
            } else {
                q.push("data -> ")
                    .ph(p)
                    .push(" = ")
                    .bind_json(value.to_string());
            }
        }
    }
    Ok(())
}

/// A case-insensitive substring match of `text` in any of `fields`.
pub(crate) fn search(q: &mut Sql, fields: &[String], text: &str) -> Result<()> {
    if fields.is_empty() {
        // Nothing is searchable, so nothing matches.
        q.push("1 = 0");
        return Ok(());
    }
    let pattern = q.param(contains_pattern(text));
    q.push("(");
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        match q.dialect() {
            Dialect::Sqlite => {
                q.push("json_extract(data, ")
                    .bind(sqlite_path(field)?)
                    .push(") LIKE ")
                    .ph(pattern)
                    .push(" ESCAPE '\\'");
            }
            Dialect::Postgres => {
                q.push("(data ->> ")
                    .bind(field.as_str())
                    .push(") ILIKE ")
                    .ph(pattern)
                    .push(" ESCAPE E'\\\\'");
            }
        }
    }
    q.push(")");
    Ok(())
}

/// ` AND entity_type …` for a read of some types; nothing for every type.
pub(crate) fn entity_types(q: &mut Sql, types: &[EntityTypeName]) {
    match types {
        [] => {}
        [one] => {
            q.push(" AND entity_type = ").bind(one.as_str());
        }
        many => {
            q.push(" AND entity_type IN ");
            q.bind_list(many.iter().map(EntityTypeName::as_str));
        }
    }
}

/// The SQLite JSON path of a top-level field: `$."name"`. SQLite's path syntax has no escape
/// for a double quote inside a quoted label, so such names are refused (declared field names
/// are identifiers and never contain one).
fn sqlite_path(field: &str) -> Result<String> {
    if field.contains('"') {
        return Err(StoreError::internal(format!(
            "field name {field:?} cannot be addressed in a JSON path"
        )));
    }
    Ok(format!("$.\"{field}\""))
}

/// A `LIKE` pattern matching `text` anywhere, with `\` as the escape character.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(contains_pattern(r"50%_\x"), r"%50\%\_\\x%");
        assert_eq!(contains_pattern(""), "%%");
    }

    #[test]
    fn a_field_name_with_a_double_quote_is_refused_on_sqlite() {
        assert!(sqlite_path("a\"b").is_err());
        assert_eq!(sqlite_path("name").ok().as_deref(), Some("$.\"name\""));
    }
}
