//! Visibility rules in SQL (SPEC §11): the condition that keeps a reader's invisible records out
//! of a query, the removals of a pull, and the expression indexes that keep both index-driven.
//!
//! A rule's field is read as text: `json_extract(data, '$.f')` on SQLite, `(data ->> 'f')` on
//! PostgreSQL. The field name is written into the statement (checked to be an identifier by
//! [`Sql::push_identifier`]) rather than bound, because a database matches a query against an
//! expression index only when the expressions are the same, and a placeholder is not the same as
//! the literal the index was built with. The claim values are always bound.

use syncd_model::{EntityTypeName, FieldIn, RecordId, Seq, TenantId};
use syncd_store::{Removal, Result, StoreError, TypeAccess};
use uuid::Uuid;

use crate::error;
use crate::inner::Inner;
use crate::sql::{Dialect, Param, Sql, limit_plus_one};

/// Which table's `data` an expression reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// The only table of the statement, unnamed (what the indexes are built on).
    Plain,
    /// `records r`.
    Records,
    /// `record_versions v`.
    Versions,
}

/// The rule field as text.
fn field_text(q: &mut Sql, table: Table, field: &str) -> Result<()> {
    let data = match table {
        Table::Plain => "data",
        Table::Records => "r.data",
        Table::Versions => "v.data",
    };
    match q.dialect() {
        Dialect::Sqlite => {
            q.push("json_extract(").push(data).push(", '$.");
            q.push_identifier(field)?.push("')");
        }
        Dialect::Postgres => {
            q.push("(").push(data).push(" ->> '");
            q.push_identifier(field)?.push("')");
        }
    }
    Ok(())
}

/// `(f1 IN (…) OR f2 IN (…))`: any match holds; `1 = 0` for no match at all.
pub(crate) fn matches(q: &mut Sql, table: Table, matches: &[FieldIn]) -> Result<()> {
    let usable: Vec<&FieldIn> = matches.iter().filter(|m| !m.values.is_empty()).collect();
    if usable.is_empty() {
        q.push("1 = 0");
        return Ok(());
    }
    q.push("(");
    for (i, m) in usable.into_iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        field_text(q, table, &m.field)?;
        q.push(" IN ");
        q.bind_list(m.values.iter().map(String::as_str));
    }
    q.push(")");
    Ok(())
}

/// ` AND …`: of the records of `types` (empty = every type), those the reader sees. Nothing when
/// no type is restricted. One restricted type alone gives a plain condition on its fields, which
/// the type's expression index serves.
pub(crate) fn visible(
    q: &mut Sql,
    types: &[EntityTypeName],
    restricted: &[TypeAccess],
) -> Result<()> {
    if restricted.is_empty() {
        return Ok(());
    }
    let is_restricted = |t: &EntityTypeName| restricted.iter().any(|r| &r.entity_type == t);
    let free: Vec<&str> = types
        .iter()
        .filter(|t| !is_restricted(t))
        .map(EntityTypeName::as_str)
        .collect();
    if !types.is_empty() && free.is_empty() && restricted.len() == 1 {
        q.push(" AND ");
        return matches(q, Table::Plain, &restricted[0].matches);
    }
    q.push(" AND (");
    if types.is_empty() {
        q.push("entity_type NOT IN ");
        q.bind_list(restricted.iter().map(|r| r.entity_type.as_str()));
    } else if free.is_empty() {
        q.push("1 = 0");
    } else {
        q.push("entity_type IN ");
        q.bind_list(free);
    }
    for r in restricted {
        q.push(" OR (entity_type = ")
            .bind(r.entity_type.as_str())
            .push(" AND ");
        matches(q, Table::Plain, &r.matches)?;
        q.push(")");
    }
    q.push(")");
    Ok(())
}

/// For one restricted type: the record `r` does not match now, and its state at the cursor did
/// (or the history no longer holds that state and the record existed before: a removal is then
/// sent anyway, an id and never data).
fn removed_of_type(q: &mut Sql, t: Param, since: Param, access: &TypeAccess) -> Result<()> {
    // SQLite's planner would walk `records_tenant_type_seq` (two equality columns) over every
    // record changed since the cursor; `+` keeps the type out of its index choice, so that it
    // takes the partial index of rewritten records, far fewer. PostgreSQL chooses well alone.
    q.push_dialect("(+r.entity_type = ", "(r.entity_type = ")
        .bind(access.entity_type.as_str())
        .push(" AND NOT COALESCE(");
    matches(q, Table::Records, &access.matches)?;
    q.push(", FALSE) AND COALESCE((SELECT COALESCE(");
    matches(q, Table::Versions, &access.matches)?;
    q.push(", FALSE) FROM record_versions v WHERE v.tenant_id = ")
        .ph(t)
        .push(" AND v.entity_type = r.entity_type AND v.id = r.id AND v.seq <= ")
        .ph(since)
        .push(" ORDER BY v.version DESC LIMIT 1), (SELECT MIN(v.version) > 1 FROM record_versions v WHERE v.tenant_id = ")
        .ph(t)
        .push(" AND v.entity_type = r.entity_type AND v.id = r.id)))");
    Ok(())
}

impl Inner {
    /// Records of restricted types changed in `(since, upto]` that the reader could see at
    /// `since` and no longer sees, in seq order, at most `limit + 1`: one statement for the
    /// whole page, whatever the number of records.
    pub(crate) async fn removals(
        &self,
        tenant: &TenantId,
        since: Seq,
        upto: Seq,
        restricted: &[TypeAccess],
        limit: usize,
    ) -> Result<Vec<Removal>> {
        if restricted.is_empty() || upto <= since {
            return Ok(Vec::new());
        }
        let mut q = self.sql();
        let t = q.param(tenant.as_str());
        let s = q.param(since.0);
        q.push("SELECT r.entity_type, r.id, r.seq FROM records r WHERE r.tenant_id = ")
            .ph(t)
            .push(" AND r.seq > ")
            .ph(s)
            .push(" AND r.seq <= ")
            .bind(upto.0)
            // A record at version 1 was created after the cursor: nobody saw it then. This
            // keeps the version lookups to records that existed before.
            .push(" AND r.version > 1 AND (");
        for (i, access) in restricted.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            removed_of_type(&mut q, t, s, access)?;
        }
        q.push(") ORDER BY r.seq LIMIT ")
            .bind(limit_plus_one(limit));
        let rows = self.query(&self.db, q).await?;
        rows.iter()
            .map(|row| {
                let ty: String = row.try_get_by_index(0).map_err(error::db)?;
                let id: Uuid = row.try_get_by_index(1).map_err(error::db)?;
                let seq: i64 = row.try_get_by_index(2).map_err(error::db)?;
                Ok(Removal {
                    entity_type: EntityTypeName::parse(ty).map_err(|e| {
                        StoreError::internal(format!("a stored entity type is invalid: {e}"))
                    })?,
                    id: RecordId::from_uuid(id),
                    seq: Seq(seq),
                })
            })
            .collect()
    }

    /// Creates the expression index of each `(type, field)` if it is missing. The index holds
    /// `(tenant_id, entity_type, field, seq)`: a pull of one restricted type reads exactly its
    /// visible records, in seq order for one claim value. With any rule, also the partial index
    /// the removals query walks.
    pub(crate) async fn index_visibility_fields(
        &self,
        fields: &[(EntityTypeName, String)],
    ) -> Result<()> {
        for (ty, field) in fields {
            let mut q = self.sql();
            q.push("CREATE INDEX IF NOT EXISTS records_vis_");
            // Both names are identifiers of at most 63 characters; the index name must stay
            // within PostgreSQL's 63, so it is the field cut short plus a hash of the pair.
            let hash = fnv_hex(ty.as_str(), field);
            q.push_identifier(&format!("{}_{hash}", &field[..field.len().min(30)]))?;
            q.push(" ON records (tenant_id, entity_type, ");
            field_text(&mut q, Table::Plain, field)?;
            q.push(", seq)");
            self.execute(&self.db, q).await?;
        }
        if !fields.is_empty() {
            // The removals of a pull look only at records written again since their creation
            // (`version > 1`): this partial index lets that query walk those alone instead of
            // every record changed after the cursor.
            self.execute(
                &self.db,
                self.sql_text(
                    "CREATE INDEX IF NOT EXISTS records_tenant_seq_rewritten \
                     ON records (tenant_id, seq) WHERE version > 1",
                ),
            )
            .await?;
        }
        if !fields.is_empty() && self.dialect == Dialect::Sqlite {
            // The planner picks the new index only once it has statistics saying it is selective.
            self.execute(&self.db, self.sql_text("ANALYZE")).await?;
        }
        Ok(())
    }

    fn sql_text(&self, text: &'static str) -> Sql {
        let mut q = self.sql();
        q.push(text);
        q
    }
}

/// Eight hex digits of FNV-1a over `ty` and `field`: stable, so a restart finds its indexes.
fn fnv_hex(ty: &str, field: &str) -> String {
    let mut h = syncd_model::visibility::Fnv32::default();
    h.write_str(ty);
    h.write_str(field);
    format!("{:08x}", h.finish())
}
