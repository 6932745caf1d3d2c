//! A small SQL text builder: statements are written by hand (they are few and must stay fast),
//! values are always bound, never spliced into the text. The builder only takes `&'static str`
//! text, so a value (which is never `'static`) cannot end up in a statement by mistake; text
//! that differs by dialect is chosen with [`Sql::push_dialect`].
//!
//! Why not sea-query or `sqlx::QueryBuilder`: the hot statements (multi-row upserts through a
//! data-modifying `WITH`, `VALUES` lists joined on primary keys, the SQLite JSON projection of a
//! page) are not expressible in sea-query without raw fragments anyway, and neither builder
//! offers what these statements need: one PostgreSQL parameter used many times next to SQLite's
//! anonymous `?`.
//!
//! A value needed several times (the tenant in every row of a multi-row insert) is registered
//! once with [`Sql::param`] and referenced with [`Sql::ph`]. On PostgreSQL that is one `$n`
//! parameter used several times. On SQLite every placeholder is an anonymous `?` and the value is
//! bound again at each use: sqlx looks up the name of every parameter of a statement with
//! named parameters (`$n`, `?n`), and SQLite answers that lookup by a linear scan, so a
//! 1000-parameter statement spent most of its time there (a quadratic cost).

use std::fmt::Write;
use std::ops::Range;

use sea_orm::{DbBackend, Statement, Value};
use syncd_store::StoreError;

/// Which SQL dialect a statement is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(crate) fn backend(self) -> DbBackend {
        match self {
            Dialect::Sqlite => DbBackend::Sqlite,
            Dialect::Postgres => DbBackend::Postgres,
        }
    }

    /// The most values one statement may bind.
    pub(crate) fn max_params(self) -> usize {
        match self {
            // SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32.
            Dialect::Sqlite => 32_766,
            // The wire protocol counts parameters in an i16... as u16.
            Dialect::Postgres => 65_535,
        }
    }
}

/// A value registered once with [`Sql::param`] and placed with [`Sql::ph`] wherever it is
/// needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Param(usize);

/// A column list written for each dialect: PostgreSQL reads JSON columns as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Columns {
    pub(crate) sqlite: &'static str,
    pub(crate) postgres: &'static str,
}

/// A statement under construction.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    dialect: Dialect,
    text: String,
    /// Values in placeholder order (SQLite) or by parameter number (PostgreSQL).
    values: Vec<Value>,
    /// SQLite: values registered with [`Sql::param`], copied into `values` at each use.
    shared: Vec<Value>,
    /// A placeholder named a parameter this statement does not have: `build` refuses it.
    dangling: Option<Param>,
}

impl Sql {
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            text: String::with_capacity(256),
            values: Vec::new(),
            shared: Vec::new(),
            dangling: None,
        }
    }

    /// Appends SQL text (never a value: see the module doc).
    pub(crate) fn push(&mut self, text: &'static str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the text written for this statement's dialect.
    pub(crate) fn push_dialect(
        &mut self,
        sqlite: &'static str,
        postgres: &'static str,
    ) -> &mut Self {
        self.push(match self.dialect {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        })
    }

    /// Appends a name as SQL text, after checking that it is an identifier (`[a-z][a-z0-9_]*`,
    /// what entity type and field names are): the one way text that is not `'static` enters a
    /// statement, for expressions an expression index must see literally.
    pub(crate) fn push_identifier(&mut self, name: &str) -> Result<&mut Self, StoreError> {
        if !syncd_model::ids::is_identifier(name) {
            return Err(StoreError::internal(format!(
                "{name:?} is not an identifier and cannot be written into a statement"
            )));
        }
        self.text.push_str(name);
        Ok(self)
    }

    /// Appends a column list in this statement's dialect.
    pub(crate) fn columns(&mut self, columns: Columns) -> &mut Self {
        self.push_dialect(columns.sqlite, columns.postgres)
    }

    /// Registers a value used by one or more [`Sql::ph`] and returns its handle.
    pub(crate) fn param(&mut self, value: impl Into<Value>) -> Param {
        match self.dialect {
            Dialect::Postgres => {
                self.values.push(value.into());
                Param(self.values.len())
            }
            Dialect::Sqlite => {
                self.shared.push(value.into());
                Param(self.shared.len())
            }
        }
    }

    /// Appends a placeholder for a value registered with [`Sql::param`].
    pub(crate) fn ph(&mut self, param: Param) -> &mut Self {
        let Param(handle) = param;
        let known = match self.dialect {
            Dialect::Postgres => (1..=self.values.len()).contains(&handle),
            Dialect::Sqlite => (1..=self.shared.len()).contains(&handle),
        };
        if !known {
            self.dangling.get_or_insert(param);
        }
        match self.dialect {
            Dialect::Postgres => {
                // Writing into a String cannot fail.
                let _ = write!(self.text, "${handle}");
            }
            Dialect::Sqlite => {
                let value = handle
                    .checked_sub(1)
                    .and_then(|i| self.shared.get(i))
                    .cloned()
                    .unwrap_or(Value::String(None));
                self.values.push(value);
                self.text.push('?');
            }
        }
        self
    }

    /// Binds a value and appends its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        match self.dialect {
            Dialect::Postgres => {
                let n = self.param(value);
                self.ph(n)
            }
            Dialect::Sqlite => {
                self.values.push(value.into());
                self.text.push('?');
                self
            }
        }
    }

    /// Puts the statement written so far inside `prefix` … `suffix` (text only: no placeholder
    /// may appear in either).
    pub(crate) fn wrap(&mut self, prefix: &'static str, suffix: &'static str) {
        self.text.insert_str(0, prefix);
        self.text.push_str(suffix);
    }

    /// Binds JSON text for a JSON column (`jsonb` on PostgreSQL).
    pub(crate) fn bind_json(&mut self, json: String) -> &mut Self {
        self.bind(json);
        if self.dialect == Dialect::Postgres {
            self.text.push_str("::jsonb");
        }
        self
    }

    /// Appends `(p1, p2, …)` binding each value: the right side of an `IN`.
    pub(crate) fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) {
        self.text.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self.text.push(')');
    }

    #[cfg(test)]
    pub(crate) fn params(&self) -> usize {
        self.values.len()
    }

    /// The statement, or an internal error when a placeholder named a parameter the statement
    /// does not have (a bug in the store, never bound as NULL).
    pub(crate) fn build(self) -> Result<Statement, StoreError> {
        if let Some(Param(handle)) = self.dangling {
            return Err(StoreError::internal(format!(
                "a placeholder names parameter {handle}, which the statement does not have"
            )));
        }
        Ok(Statement::from_sql_and_values(
            self.dialect.backend(),
            self.text,
            self.values,
        ))
    }

    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

/// A `LIMIT` value: `limit + 1` rows tell whether there is more.
pub(crate) fn limit_plus_one(limit: usize) -> i64 {
    i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)
}

/// The most bound bytes one PostgreSQL statement carries (estimated from the values) when the
/// connection may use TLS.
///
/// sqlx 0.9.0 no longer sets `TCP_NODELAY` on its sockets (launchbadge/sqlx#4335, fixed upstream
/// but not released), and its rustls socket writes one TLS record (at most 16 KiB of plaintext)
/// per `write` call. A message longer than one record therefore goes out in two writes, and
/// Nagle's algorithm holds the second until the server's delayed ACK, about 40 ms later:
/// measured here, a 100-record insert took 45 ms instead of 1.5 ms. Until sqlx sets the option
/// again, statements on a connection that may use TLS are split below one record, which costs
/// one more round trip per 12 KiB rather than 40 ms. Without TLS (`sslmode=disable`) a message
/// is one write whatever its size, and statements are split only at the parameter limit.
pub(crate) const PG_TLS_STATEMENT_BYTES: usize = 12 * 1024;

/// Splits rows into consecutive ranges, one per statement, so that no statement binds more values
/// than the database allows (next to `shared` values bound once) or carries more than
/// `max_bytes` of values. `row_bytes` estimates each row's size.
pub(crate) fn chunks(
    dialect: Dialect,
    max_bytes: usize,
    shared: usize,
    per_row: usize,
    row_bytes: impl IntoIterator<Item = usize>,
) -> Vec<Range<usize>> {
    let max_rows = (dialect.max_params().saturating_sub(shared) / per_row.max(1)).max(1);
    let mut out = Vec::new();
    let (mut start, mut rows, mut bytes) = (0, 0, 0usize);
    let mut end = 0;
    for (i, size) in row_bytes.into_iter().enumerate() {
        if rows > 0 && (rows == max_rows || bytes.saturating_add(size) > max_bytes) {
            out.push(start..i);
            (start, rows, bytes) = (i, 0, 0);
        }
        rows += 1;
        bytes = bytes.saturating_add(size);
        end = i + 1;
    }
    if rows > 0 {
        out.push(start..end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_value_is_one_parameter_on_postgres_and_rebound_on_sqlite() {
        let build = |dialect| {
            let mut q = Sql::new(dialect);
            let t = q.param("acme");
            q.push("SELECT 1 WHERE a = ")
                .ph(t)
                .push(" AND b = ")
                .bind(3i64);
            q.push(" AND c = ").ph(t);
            q
        };
        let pg = build(Dialect::Postgres);
        assert_eq!(pg.text(), "SELECT 1 WHERE a = $1 AND b = $2 AND c = $1");
        assert_eq!(pg.params(), 2);
        let sqlite = build(Dialect::Sqlite);
        assert_eq!(sqlite.text(), "SELECT 1 WHERE a = ? AND b = ? AND c = ?");
        assert_eq!(
            sqlite.values,
            vec![Value::from("acme"), Value::from(3i64), Value::from("acme")]
        );
    }

    #[test]
    fn a_placeholder_of_another_statement_is_refused() {
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            let mut other = Sql::new(dialect);
            other.param(1i64);
            let stray = other.param(2i64);
            let mut q = Sql::new(dialect);
            q.push("SELECT ").ph(stray);
            assert!(q.build().is_err(), "{dialect:?}");
        }
    }

    #[test]
    fn json_values_are_cast_on_postgres_only() {
        let mut q = Sql::new(Dialect::Postgres);
        q.bind_json("{}".into());
        assert_eq!(q.text(), "$1::jsonb");
        let mut q = Sql::new(Dialect::Sqlite);
        q.bind_json("{}".into());
        assert_eq!(q.text(), "?");
    }

    #[test]
    fn statements_are_split_before_the_parameter_limit() {
        let sqlite = chunks(
            Dialect::Sqlite,
            usize::MAX,
            1,
            10,
            std::iter::repeat_n(100, 7000),
        );
        assert_eq!(sqlite, vec![0..3276, 3276..6552, 6552..7000]);
        assert_eq!(
            chunks(Dialect::Sqlite, usize::MAX, 1, 10, [5, 5]),
            vec![0..2]
        );
        assert!(chunks(Dialect::Sqlite, usize::MAX, 1, 10, []).is_empty());
        let pg = chunks(
            Dialect::Postgres,
            usize::MAX,
            3,
            8,
            std::iter::repeat_n(100, 9000),
        );
        assert_eq!(pg, vec![0..8191, 8191..9000]);
    }

    #[test]
    fn statements_are_split_by_size_when_asked() {
        let rows = std::iter::repeat_n(1000, 30);
        let pg = chunks(Dialect::Postgres, PG_TLS_STATEMENT_BYTES, 1, 10, rows);
        assert_eq!(pg, vec![0..12, 12..24, 24..30]);
        // A row larger than the budget still gets a statement of its own.
        assert_eq!(
            chunks(
                Dialect::Postgres,
                PG_TLS_STATEMENT_BYTES,
                1,
                10,
                [100, 50_000, 100]
            ),
            vec![0..1, 1..2, 2..3]
        );
    }
}
