//! A scan of every table for a piece of text: how tests and audits prove that an erasure left
//! no copy of a record's values in any row (SPEC §10).
//!
//! Table and column names come from the database's own catalog and are quoted, so this is the
//! one place that builds statement text from something other than `'static` strings.

use sea_orm::{ConnectionTrait, Statement, Value};
use syncd_store::Result;

use crate::error;
use crate::inner::Inner;
use crate::sql::Dialect;

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Inner {
    /// Every table with rows whose text contains `needle`, and how many.
    pub(crate) async fn rows_containing(&self, needle: &str) -> Result<Vec<(String, u64)>> {
        let backend = self.dialect.backend();
        let catalog = match self.dialect {
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
            Dialect::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
            }
        };
        let tables = self
            .db
            .query_all_raw(Statement::from_string(backend, catalog))
            .await
            .map_err(error::db)?;
        let pattern = format!("%{needle}%");
        let mut found = Vec::new();
        for row in tables {
            let table: String = row.try_get_by_index(0).map_err(error::db)?;
            let condition = match self.dialect {
                Dialect::Postgres => "CAST(t AS text) LIKE $1".to_owned(),
                Dialect::Sqlite => self.sqlite_text_condition(&table).await?,
            };
            if condition.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT COUNT(*) FROM {} AS t WHERE {condition}",
                quoted(&table)
            );
            let params = condition.matches('?').count().max(1);
            let values = vec![Value::from(pattern.clone()); params];
            let statement = Statement::from_sql_and_values(backend, sql, values);
            let count: i64 = match self.db.query_one_raw(statement).await.map_err(error::db)? {
                Some(row) => row.try_get_by_index(0).map_err(error::db)?,
                None => 0,
            };
            if count > 0 {
                found.push((table, u64::try_from(count).unwrap_or(0)));
            }
        }
        Ok(found)
    }

    /// SQLite: `CAST(c1 AS TEXT) LIKE ? OR …` over every column of `table`.
    async fn sqlite_text_condition(&self, table: &str) -> Result<String> {
        let statement = Statement::from_sql_and_values(
            self.dialect.backend(),
            "SELECT name FROM pragma_table_info(?)",
            [Value::from(table.to_owned())],
        );
        let columns = self.db.query_all_raw(statement).await.map_err(error::db)?;
        let mut parts = Vec::with_capacity(columns.len());
        for column in columns {
            let name: String = column.try_get_by_index(0).map_err(error::db)?;
            parts.push(format!("CAST(t.{} AS TEXT) LIKE ?", quoted(&name)));
        }
        Ok(parts.join(" OR "))
    }
}
