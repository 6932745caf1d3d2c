//! Reads of records: the changes of a pull, single records, lists and pending records.
//!
//! `changes` reads the tenant's committed head H first and then `seq > since AND seq <= H`,
//! so a page never includes a seq above a gap. The records table holds only the latest state
//! of each record, so a record changed many times since the cursor appears once.
//!
//! On SQLite, pages of records come back as one JSON text built by the query (see
//! [`columns::SQLITE_AS_JSON`]): sqlx hands SQLite rows over one by one from a worker thread,
//! copying every column, and that cost a third of a 10 000-record pull.

use sea_orm::ConnectionTrait;
use syncd_model::{EntityTypeName, FieldIn, PendingCondition, Record, Seq, TenantId};
use syncd_store::{
    ChangePage, ChangesQuery, ListPage, ListQuery, RecordKey, Result, Since, StoreError,
};

use crate::inner::Inner;
use crate::sql::{self, Dialect, Param, Sql, limit_plus_one};
use crate::{columns, error, filters, visibility};

impl Inner {
    /// The tenant's last committed seq.
    pub(crate) async fn head_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantId,
    ) -> Result<Seq> {
        let mut q = self.sql();
        q.push("SELECT head FROM tenant_clocks WHERE tenant_id = ")
            .bind(tenant.as_str());
        match self.query_one(conn, q).await? {
            Some(row) => Ok(Seq(row.try_get_by_index(0).map_err(error::db)?)),
            None => Ok(Seq::ZERO),
        }
    }

    /// Changed records after a point, in seq order, never past the committed head.
    pub(crate) async fn changes(
        &self,
        tenant: &TenantId,
        query: &ChangesQuery,
    ) -> Result<ChangePage> {
        // The committed head first: every seq up to it is committed, so reading no further
        // than it can never step over a seq that commits later.
        let head = self.head_of(&self.db, tenant).await?;
        let floor = match query.since {
            Since::Seq(s) if s >= head => {
                return Ok(ChangePage {
                    records: Vec::new(),
                    removals: Vec::new(),
                    has_more: false,
                    next: s.max(head),
                });
            }
            Since::Seq(s) => s,
            Since::UpdatedAfter(_) => Seq::ZERO,
        };
        let mut q = self.sql();
        let t = q.param(tenant.as_str());
        q.push("SELECT ")
            .columns(columns::SELECT)
            .push(" FROM records WHERE tenant_id = ")
            .ph(t);
        match query.since {
            Since::Seq(s) => {
                q.push(" AND seq > ").bind(s.0);
            }
            Since::UpdatedAfter(after) => {
                // Walking the seq index from the first match, found through the updated_at
                // index, instead of from the tenant's first record.
                let after = q.param(after.as_millis());
                q.push(" AND updated_at > ")
                    .ph(after)
                    .push(" AND seq >= (SELECT MIN(seq) FROM records WHERE tenant_id = ")
                    .ph(t)
                    .push(" AND updated_at > ")
                    .ph(after)
                    .push(")");
            }
        }
        q.push(" AND seq <= ").bind(head.0);
        filters::entity_types(&mut q, &query.entity_types);
        visibility::visible(&mut q, &query.entity_types, &query.visibility)?;
        q.push(" ORDER BY seq LIMIT ")
            .bind(limit_plus_one(query.limit));
        let mut records = self.select_records(&self.db, q).await?;
        let has_more = records.len() > query.limit;
        records.truncate(query.limit);
        let next = if has_more {
            records.last().map_or(floor, |r| r.seq)
        } else {
            head.max(floor)
        };
        let page = ChangePage {
            records,
            removals: Vec::new(),
            has_more,
            next,
        };
        match query.since {
            Since::Seq(since) if since > Seq::ZERO && !query.visibility.is_empty() => {
                self.with_removals(tenant, since, query, page).await
            }
            _ => Ok(page),
        }
    }

    /// Adds the removals of `(since, page.next]` to a page, keeping records and removals
    /// together within the limit: when they are more, the page ends earlier.
    async fn with_removals(
        &self,
        tenant: &TenantId,
        since: Seq,
        query: &ChangesQuery,
        mut page: ChangePage,
    ) -> Result<ChangePage> {
        let mut removals = self
            .removals(tenant, since, page.next, &query.visibility, query.limit)
            .await?;
        if page.records.len() + removals.len() > query.limit {
            // Keep the `limit` lowest seqs of both lists.
            let (mut r, mut m, mut kept) = (0, 0, 0);
            let mut last = since;
            while kept < query.limit {
                let take_record = match (page.records.get(r), removals.get(m)) {
                    (Some(a), Some(b)) => a.seq < b.seq,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                if take_record {
                    last = page.records[r].seq;
                    r += 1;
                } else {
                    last = removals[m].seq;
                    m += 1;
                }
                kept += 1;
            }
            page.records.truncate(r);
            removals.truncate(m);
            page.has_more = true;
            page.next = last;
        }
        page.removals = removals;
        Ok(page)
    }

    /// `SELECT <records> FROM records WHERE tenant_id = … AND entity_type = …`, to go on with.
    fn select_of_type(&self, tenant: &TenantId, entity_type: &EntityTypeName) -> Sql {
        let mut q = self.sql();
        q.push("SELECT ")
            .columns(columns::SELECT)
            .push(" FROM records WHERE tenant_id = ")
            .bind(tenant.as_str())
            .push(" AND entity_type = ")
            .bind(entity_type.as_str());
        q
    }

    /// One record, tombstones included.
    pub(crate) async fn get(&self, tenant: &TenantId, key: &RecordKey) -> Result<Option<Record>> {
        let mut q = self.select_of_type(tenant, &key.entity_type);
        q.push(" AND id = ").bind(key.id.as_uuid());
        match self.query_one(&self.db, q).await? {
            Some(row) => columns::read(&row).map(Some),
            None => Ok(None),
        }
    }

    /// A REST list page.
    pub(crate) async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<ListPage> {
        let mut q = self.select_of_type(tenant, &query.entity_type);
        q.push(" AND seq > ").bind(query.after.0);
        if !query.include_deleted {
            q.push(" AND NOT deleted");
        }
        for (field, value) in &query.filters {
            q.push(" AND ");
            filters::field_equals(&mut q, field, value)?;
        }
        if let Some((fields, text)) = &query.search {
            q.push(" AND ");
            filters::search(&mut q, fields, text)?;
        }
        if let Some(visible) = &query.visibility {
            q.push(" AND ");
            visibility::matches(&mut q, visibility::Table::Plain, visible)?;
        }
        q.push(" ORDER BY seq LIMIT ")
            .bind(limit_plus_one(query.limit));
        let mut records = self.select_records(&self.db, q).await?;
        let has_more = records.len() > query.limit;
        records.truncate(query.limit);
        let next = records.last().map_or(query.after, |r| r.seq);
        Ok(ListPage {
            records,
            has_more,
            next,
        })
    }

    /// Live records of a type matching every condition, at most `limit + 1`.
    pub(crate) async fn pending(
        &self,
        tenant: &TenantId,
        entity_type: &EntityTypeName,
        conditions: &[PendingCondition],
        visible: Option<&[FieldIn]>,
        limit: usize,
    ) -> Result<Vec<Record>> {
        let mut q = self.select_of_type(tenant, entity_type);
        q.push(" AND NOT deleted");
        if let Some(visible) = visible {
            q.push(" AND ");
            visibility::matches(&mut q, visibility::Table::Plain, visible)?;
        }
        for condition in conditions {
            q.push(" AND ");
            match condition {
                PendingCondition::SyncStatus(status) => {
                    q.push("sync_status = ").bind(status.as_str());
                }
                PendingCondition::FieldEquals { field, value } => {
                    filters::field_equals(&mut q, field, value)?;
                }
            }
        }
        q.push(" ORDER BY seq LIMIT ").bind(limit_plus_one(limit));
        self.select_records(&self.db, q).await
    }

    /// `keys` in key order without repeats, and the ranges of them one statement each carries.
    pub(crate) fn key_chunks<'k>(
        &self,
        keys: &'k [RecordKey],
    ) -> (Vec<&'k RecordKey>, Vec<std::ops::Range<usize>>) {
        let mut keys: Vec<&RecordKey> = keys.iter().collect();
        keys.sort_unstable();
        keys.dedup();
        let sizes = keys.iter().map(|k| 24 + k.entity_type.as_str().len());
        let ranges = sql::chunks(self.dialect, self.statement_bytes, 0, 3, sizes);
        (keys, ranges)
    }

    /// Current states of `keys` in one statement per bind-limit chunk.
    pub(crate) async fn records_by_keys<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantId,
        keys: &[RecordKey],
    ) -> Result<Vec<Record>> {
        let (keys, ranges) = self.key_chunks(keys);
        let mut out = Vec::with_capacity(keys.len());
        for range in ranges {
            let mut q = self.sql();
            let t = q.param(tenant.as_str());
            q.push("SELECT ").columns(columns::SELECT_R).push(" FROM ");
            push_records_of_keys(&mut q, t, &keys[range]);
            out.extend(columns::read_all(&self.query(conn, q).await?)?);
        }
        Ok(out)
    }

    /// Runs a query selecting [`columns::SELECT`] (ordered by seq) and reads the records.
    async fn select_records<C: ConnectionTrait>(
        &self,
        conn: &C,
        mut q: Sql,
    ) -> Result<Vec<Record>> {
        if self.dialect == Dialect::Postgres {
            return columns::read_all(&self.query(conn, q).await?);
        }
        let plain = q.clone();
        let (prefix, suffix) = columns::SQLITE_AS_JSON;
        q.wrap(prefix, suffix);
        match self.query(conn, q).await {
            Ok(rows) => columns::read_json(&rows),
            Err(StoreError::Internal(_)) => {
                // The one JSON text is capped at SQLite's maximum string length (1 GB by
                // default): a page that large is read row by row instead.
                columns::read_all(&self.query(conn, plain).await?)
            }
            Err(e) => Err(e),
        }
    }
}

/// Appends `(VALUES (type, id), …) AS k JOIN records r ON …`: the records `keys` name, `t` being
/// the tenant's parameter. A VALUES list joined on the primary key: one index probe per key on
/// both databases, and no deep OR chains (SQLite limits expression depth).
pub(crate) fn push_records_of_keys(q: &mut Sql, t: Param, keys: &[&RecordKey]) {
    q.push("(VALUES ");
    for (i, key) in keys.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" })
            .bind(key.entity_type.as_str())
            .push(", ")
            .bind(key.id.as_uuid())
            .push(")");
    }
    q.push(") AS k JOIN records r ON r.tenant_id = ")
        .ph(t)
        .push(" AND r.entity_type = k.column1 AND r.id = k.column2");
}
