//! The columns of the `records` table, in one order, owned by one place: the select lists of
//! both dialects, the insert list, the upsert's `SET`, the row reader and the SQLite JSON
//! projection all follow [`NAMES`], and the tests below check that they do.

use sea_orm::{QueryResult, TryGetable};
use serde_json::{Map, Value};
use syncd_model::{EntityTypeName, Record, RecordId, Seq, SyncStatus, Timestamp, Version};
use syncd_store::Result;
use uuid::Uuid;

use crate::error::{corrupt, db};
use crate::sql::Columns;

/// The record columns, in the order every list below writes them and [`read`] reads them.
pub(crate) const NAMES: [&str; 10] = [
    "entity_type",
    "id",
    "version",
    "seq",
    "data",
    "deleted",
    "sync_status",
    "created_at",
    "updated_at",
    "edited_at",
];

/// How many columns [`read`] consumes: a query may select more after them.
pub(crate) const COUNT: usize = NAMES.len();

/// [`NAMES`] as an insert (or plain select) list.
pub(crate) const LIST: &str =
    "entity_type, id, version, seq, data, deleted, sync_status, created_at, updated_at, edited_at";

/// The select list of a query on `records` (JSON as text on PostgreSQL).
pub(crate) const SELECT: Columns = Columns {
    sqlite: LIST,
    postgres: "entity_type, id, version, seq, data::text, deleted, sync_status, created_at, \
               updated_at, edited_at",
};

/// [`SELECT`] for a query that names the table `r`.
pub(crate) const SELECT_R: Columns = Columns {
    sqlite: "r.entity_type, r.id, r.version, r.seq, r.data, r.deleted, r.sync_status, \
             r.created_at, r.updated_at, r.edited_at",
    postgres: "r.entity_type, r.id, r.version, r.seq, r.data::text, r.deleted, r.sync_status, \
               r.created_at, r.updated_at, r.edited_at",
};

/// The `SET` of an upsert on the primary key: every column but the key.
pub(crate) const UPSERT_SET: &str = "version = excluded.version, seq = excluded.seq, \
     data = excluded.data, deleted = excluded.deleted, sync_status = excluded.sync_status, \
     created_at = excluded.created_at, updated_at = excluded.updated_at, \
     edited_at = excluded.edited_at";

fn get<T: TryGetable>(row: &QueryResult, idx: usize) -> Result<T> {
    row.try_get_by_index(idx).map_err(db)
}

/// Reads the first [`COUNT`] columns of a row selected with [`SELECT`] or [`SELECT_R`].
pub(crate) fn read(row: &QueryResult) -> Result<Record> {
    let entity_type: String = get(row, 0)?;
    let data: String = get(row, 4)?;
    let status: String = get(row, 6)?;
    Ok(Record {
        entity_type: EntityTypeName::parse(entity_type).map_err(|e| corrupt("entity type", e))?,
        id: RecordId::from_uuid(get::<Uuid>(row, 1)?),
        version: Version(get(row, 2)?),
        seq: Seq(get(row, 3)?),
        data: serde_json::from_str(&data).map_err(|e| corrupt("record data", e))?,
        deleted: get(row, 5)?,
        sync_status: status
            .parse::<SyncStatus>()
            .map_err(|e| corrupt("sync status", e))?,
        created_at: Timestamp::from_millis(get(row, 7)?),
        updated_at: Timestamp::from_millis(get(row, 8)?),
        edited_at: Timestamp::from_millis(get(row, 9)?),
    })
}

pub(crate) fn read_all(rows: &[QueryResult]) -> Result<Vec<Record>> {
    rows.iter().map(read).collect()
}

/// Wraps a records query on SQLite so that it returns one row holding every record as JSON:
/// sqlx hands SQLite rows over one at a time from its worker thread and copies every column,
/// which cost more than the query itself for large pulls. The JSON is concatenated rather than
/// built with SQLite's JSON functions, which would parse every record's data again: every part
/// is already valid JSON (an entity type name is `[a-z0-9_]`, a sync status one of four words,
/// `data` the JSON text the store wrote). `group_concat` does not promise an order: the reader
/// sorts by seq.
pub(crate) const SQLITE_AS_JSON: (&str, &str) = (
    "SELECT '[' || COALESCE(group_concat('[\"' || entity_type || '\",\"' || lower(hex(id)) \
     || '\",' || version || ',' || seq || ',' || data || ',' || deleted || ',\"' \
     || sync_status || '\",' || created_at || ',' || updated_at || ',' || edited_at || ']', \
     ','), '') || ']' FROM (",
    ")",
);

/// One element of the [`SQLITE_AS_JSON`] array: the columns of [`NAMES`], in order.
#[derive(serde::Deserialize)]
struct JsonRow(
    String,
    String,
    i64,
    i64,
    Map<String, Value>,
    i64,
    String,
    i64,
    i64,
    i64,
);

/// Reads the one row of a query wrapped in [`SQLITE_AS_JSON`], in seq order.
pub(crate) fn read_json(rows: &[QueryResult]) -> Result<Vec<Record>> {
    let Some(row) = rows.first() else {
        return Ok(Vec::new());
    };
    let text: String = get(row, 0)?;
    let mut raw: Vec<JsonRow> =
        serde_json::from_str(&text).map_err(|e| corrupt("record list", e))?;
    raw.sort_unstable_by_key(|r| r.3);
    raw.into_iter()
        .map(|r| {
            Ok(Record {
                entity_type: EntityTypeName::parse(r.0).map_err(|e| corrupt("entity type", e))?,
                id: RecordId::from_uuid(
                    Uuid::try_parse(&r.1).map_err(|e| corrupt("record id", e))?,
                ),
                version: Version(r.2),
                seq: Seq(r.3),
                data: r.4,
                deleted: r.5 != 0,
                sync_status: r.6.parse().map_err(|e| corrupt("sync status", e))?,
                created_at: Timestamp::from_millis(r.7),
                updated_at: Timestamp::from_millis(r.8),
                edited_at: Timestamp::from_millis(r.9),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_follows_the_one_column_order() {
        assert_eq!(LIST, NAMES.join(", "));
        assert_eq!(SELECT.sqlite, LIST);
        let cast = |c: &str| {
            if c == "data" {
                "data::text".to_owned()
            } else {
                c.to_owned()
            }
        };
        let pg: Vec<String> = NAMES.iter().map(|c| cast(c)).collect();
        assert_eq!(SELECT.postgres, pg.join(", "));
        let r: Vec<String> = NAMES.iter().map(|c| format!("r.{c}")).collect();
        assert_eq!(SELECT_R.sqlite, r.join(", "));
        let r: Vec<String> = NAMES.iter().map(|c| format!("r.{}", cast(c))).collect();
        assert_eq!(SELECT_R.postgres, r.join(", "));
        let set: Vec<String> = NAMES[2..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        assert_eq!(UPSERT_SET, set.join(", "));
    }

    #[test]
    fn the_sqlite_json_projection_follows_the_column_order() {
        let projection = SQLITE_AS_JSON.0;
        let mut at = 0;
        for name in NAMES {
            let found = projection[at..]
                .find(&format!(" {name} "))
                .or_else(|| projection[at..].find(&format!("({name})")))
                .unwrap_or_else(|| panic!("{name} missing or out of order"));
            at += found + name.len();
        }
    }
}
