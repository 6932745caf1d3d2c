//! Rows of the version history, the conflict log and the idempotency keys read back into
//! domain values. Each reader reads by position, in the order of the column list beside it
//! (records have theirs in [`crate::columns`]).

use sea_orm::{QueryResult, TryGetable};
use serde_json::{Map, Value};
use syncd_model::{ClientId, EntityTypeName, RecordId, Seq, SubjectId, Timestamp, Version};
use syncd_store::{
    ConflictEntry, ConflictStatus, IdempotencyEntry, RecordKey, Result, VersionEntry, WriteKind,
};

use crate::error::{corrupt, db};
use crate::sql::Columns;

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

/// The data of cited base versions, for a query on `record_versions v`.
pub(crate) const VERSION_DATA: Columns = Columns {
    sqlite: "v.entity_type, v.id, v.version, v.data",
    postgres: "v.entity_type, v.id, v.version, v.data::text",
};

/// Reads a row of [`VERSION_DATA`].
pub(crate) fn version_data(row: &QueryResult) -> Result<(RecordKey, Version, Map<String, Value>)> {
    Ok((
        RecordKey::new(entity_type(row, 0)?, RecordId::from_uuid(get(row, 1)?)),
        Version(get(row, 2)?),
        object(row, 3)?,
    ))
}

/// A version row as the history shows it.
pub(crate) const VERSION: Columns = Columns {
    sqlite: "entity_type, id, version, seq, kind, data, deleted, changed_fields, client_id, \
             subject, at",
    postgres: "entity_type, id, version, seq, kind, data::text, deleted, changed_fields::text, \
               client_id, subject, at",
};

/// Reads a row of [`VERSION`].
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

/// A conflict log entry.
pub(crate) const CONFLICT: Columns = Columns {
    sqlite: "id, entity_type, record_id, strategy, status, server_version, server_data, \
             client_data, fields, client_id, subject, created_at, resolved_at",
    postgres: "id, entity_type, record_id, strategy, status, server_version, server_data::text, \
               client_data::text, fields::text, client_id, subject, created_at, resolved_at",
};

/// Reads a row of [`CONFLICT`].
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

/// An idempotency entry (`response` is text in both databases).
pub(crate) const IDEMPOTENCY: Columns = Columns {
    sqlite: "client_id, key, request_hash, response, created_at",
    postgres: "client_id, key, request_hash, response, created_at",
};

/// Reads a row of [`IDEMPOTENCY`].
pub(crate) fn idempotency(row: &QueryResult) -> Result<IdempotencyEntry> {
    Ok(IdempotencyEntry {
        client_id: client(row, 0)?,
        key: get(row, 1)?,
        request_hash: get(row, 2)?,
        response: get(row, 3)?,
        created_at: millis(row, 4)?,
    })
}
