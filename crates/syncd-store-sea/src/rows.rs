//! Rows read back into domain values. Every column is read by position, in the order the
//! `SELECT` lists of the store write them.

use sea_orm::{QueryResult, TryGetable};
use serde_json::{Map, Value};
use syncd_model::{
    ClientId, EntityTypeName, Record, RecordId, Seq, SubjectId, SyncStatus, Timestamp, Version,
};
use syncd_store::{
    ConflictEntry, ConflictStatus, IdempotencyEntry, RecordKey, Result, VersionEntry, WriteKind,
};
use uuid::Uuid;

use crate::error::{corrupt, db};

fn get<T: TryGetable>(row: &QueryResult, idx: usize) -> Result<T> {
    row.try_get_by_index(idx).map_err(db)
}

fn entity_type(row: &QueryResult, idx: usize) -> Result<EntityTypeName> {
    let name: String = get(row, idx)?;
    EntityTypeName::parse(name).map_err(|e| corrupt("entity type", e))
}

fn object(row: &QueryResult, idx: usize) -> Result<Map<String, Value>> {
    let text: String = get(row, idx)?;
    serde_json::from_str(&text).map_err(|e| corrupt("record data", e))
}

fn json(row: &QueryResult, idx: usize) -> Result<Value> {
    let text: String = get(row, idx)?;
    serde_json::from_str(&text).map_err(|e| corrupt("JSON column", e))
}

fn strings(row: &QueryResult, idx: usize) -> Result<Vec<String>> {
    let text: String = get(row, idx)?;
    serde_json::from_str(&text).map_err(|e| corrupt("field list", e))
}

fn client(row: &QueryResult, idx: usize) -> Result<ClientId> {
    ClientId::parse(get::<String>(row, idx)?).map_err(|e| corrupt("client id", e))
}

fn subject(row: &QueryResult, idx: usize) -> Result<SubjectId> {
    SubjectId::parse(get::<String>(row, idx)?).map_err(|e| corrupt("subject", e))
}

fn millis(row: &QueryResult, idx: usize) -> Result<Timestamp> {
    Ok(Timestamp::from_millis(get(row, idx)?))
}

/// Reads the columns of [`crate::sql::Dialect::record_columns`].
pub(crate) fn record(row: &QueryResult) -> Result<Record> {
    let status: String = get(row, 6)?;
    Ok(Record {
        entity_type: entity_type(row, 0)?,
        id: RecordId::from_uuid(get::<Uuid>(row, 1)?),
        version: Version(get(row, 2)?),
        seq: Seq(get(row, 3)?),
        data: object(row, 4)?,
        deleted: get(row, 5)?,
        sync_status: status
            .parse::<SyncStatus>()
            .map_err(|e| corrupt("sync status", e))?,
        created_at: millis(row, 7)?,
        updated_at: millis(row, 8)?,
        edited_at: millis(row, 9)?,
    })
}

pub(crate) fn records(rows: &[QueryResult]) -> Result<Vec<Record>> {
    rows.iter().map(record).collect()
}

/// The SQLite form of a list of records: one JSON array of rows, built by
/// [`SQLITE_RECORDS_AS_JSON`] around a query of [`crate::sql::Dialect::record_columns`].
#[derive(serde::Deserialize)]
struct JsonRecord(
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

/// Wraps a records query on SQLite so that it returns one row holding every record as JSON:
/// sqlx hands SQLite rows over one at a time from its worker thread and copies every column,
/// which cost more than the query itself for large pulls. The JSON is concatenated rather than
/// built with SQLite's JSON functions, which would parse every record's data again: every part
/// is already valid JSON (an entity type name is `[a-z0-9_]`, a sync status one of four words,
/// `data` the JSON text the store wrote). `group_concat` does not promise an order: the caller
/// sorts by seq.
pub(crate) const SQLITE_RECORDS_AS_JSON: (&str, &str) = (
    "SELECT '[' || COALESCE(group_concat('[\"' || entity_type || '\",\"' || lower(hex(id)) \
     || '\",' || version || ',' || seq || ',' || data || ',' || deleted || ',\"' \
     || sync_status || '\",' || created_at || ',' || updated_at || ',' || edited_at || ']', \
     ','), '') || ']' FROM (",
    ")",
);

pub(crate) fn records_from_json(rows: &[QueryResult]) -> Result<Vec<Record>> {
    let Some(row) = rows.first() else {
        return Ok(Vec::new());
    };
    let text: String = get(row, 0)?;
    let mut raw: Vec<JsonRecord> =
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

/// `entity_type, id, version, data`.
pub(crate) fn version_data(row: &QueryResult) -> Result<(RecordKey, Version, Map<String, Value>)> {
    Ok((
        RecordKey::new(entity_type(row, 0)?, RecordId::from_uuid(get(row, 1)?)),
        Version(get(row, 2)?),
        object(row, 3)?,
    ))
}

/// `entity_type, id, version, seq, kind, data, deleted, changed_fields, client_id, subject, at`.
pub(crate) const VERSION_COLUMNS: [&str; 11] = [
    "entity_type",
    "id",
    "version",
    "seq",
    "kind",
    "data",
    "deleted",
    "changed_fields",
    "client_id",
    "subject",
    "at",
];

pub(crate) fn version_entry(row: &QueryResult) -> Result<VersionEntry> {
    let kind: String = get(row, 4)?;
    Ok(VersionEntry {
        entity_type: entity_type(row, 0)?,
        id: RecordId::from_uuid(get(row, 1)?),
        version: Version(get(row, 2)?),
        seq: Seq(get(row, 3)?),
        kind: WriteKind::parse(&kind).ok_or_else(|| corrupt("write kind", kind))?,
        data: object(row, 5)?,
        deleted: get(row, 6)?,
        changed_fields: strings(row, 7)?,
        client_id: client(row, 8)?,
        subject: subject(row, 9)?,
        at: millis(row, 10)?,
    })
}

/// `id, entity_type, record_id, strategy, status, server_version, server_data, client_data,
/// fields, client_id, subject, created_at, resolved_at`.
pub(crate) const CONFLICT_COLUMNS: [&str; 13] = [
    "id",
    "entity_type",
    "record_id",
    "strategy",
    "status",
    "server_version",
    "server_data",
    "client_data",
    "fields",
    "client_id",
    "subject",
    "created_at",
    "resolved_at",
];

pub(crate) fn conflict(row: &QueryResult) -> Result<ConflictEntry> {
    let status: String = get(row, 4)?;
    Ok(ConflictEntry {
        id: get(row, 0)?,
        entity_type: entity_type(row, 1)?,
        record_id: RecordId::from_uuid(get(row, 2)?),
        strategy: get(row, 3)?,
        status: ConflictStatus::parse(&status).ok_or_else(|| corrupt("conflict status", status))?,
        server_version: Version(get(row, 5)?),
        server_data: json(row, 6)?,
        client_data: json(row, 7)?,
        fields: strings(row, 8)?,
        client_id: client(row, 9)?,
        subject: subject(row, 10)?,
        created_at: millis(row, 11)?,
        resolved_at: get::<Option<i64>>(row, 12)?.map(Timestamp::from_millis),
    })
}

/// `client_id, key, request_hash, response, created_at`.
pub(crate) const IDEMPOTENCY_COLUMNS: [&str; 5] =
    ["client_id", "key", "request_hash", "response", "created_at"];

pub(crate) fn idempotency(row: &QueryResult) -> Result<IdempotencyEntry> {
    Ok(IdempotencyEntry {
        client_id: client(row, 0)?,
        key: get(row, 1)?,
        request_hash: get(row, 2)?,
        response: get(row, 3)?,
        created_at: millis(row, 4)?,
    })
}

/// A column list for a `SELECT`, JSON columns as text.
pub(crate) fn select_list(dialect: crate::sql::Dialect, columns: &[&str], json: &[&str]) -> String {
    columns
        .iter()
        .map(|c| {
            if json.contains(c) {
                dialect.json_out(c)
            } else {
                (*c).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
