//! The counting queries of the admin statistics ([`StoreStats`]). Each reads one tenant's rows
//! through an index whose first column is the tenant:
//! - per-type counts: `records` primary key (tenant_id, entity_type, id), one pass over the
//!   tenant's records (the `deleted` flag is read from each row);
//! - open conflicts: (tenant_id, status, created_at), the open entries only;
//! - conflicts per strategy: the same index, the entries created since the given time.

use async_trait::async_trait;
use sea_orm::QueryResult;
use syncd_model::{EntityTypeName, TenantId, Timestamp};
use syncd_store::{Result, StoreStats, TenantCounts, TypeCounts};

use crate::SeaStore;
use crate::error::{corrupt, db};

fn count(row: &QueryResult, idx: usize) -> Result<u64> {
    let n: i64 = row.try_get_by_index(idx).map_err(db)?;
    u64::try_from(n).map_err(|e| corrupt("count", e))
}

#[async_trait]
impl StoreStats for SeaStore {
    async fn tenant_counts(
        &self,
        tenant: &TenantId,
        conflicts_since: Timestamp,
    ) -> Result<TenantCounts> {
        let inner = &*self.inner;
        // Three reads: a connection, then a step each.
        let limit = inner.bounds.call() + inner.bounds.statement * 2;
        crate::deadline::bounded(limit, "the admin statistics", async move {
            let mut q = inner.sql();
            q.push(
                "SELECT entity_type, COUNT(*), \
             CAST(SUM(CASE WHEN deleted THEN 1 ELSE 0 END) AS BIGINT) \
             FROM records WHERE tenant_id = ",
            )
            .bind(tenant.as_str())
            .push(" GROUP BY entity_type ORDER BY entity_type");
            let mut types = Vec::new();
            for row in inner.query(&inner.db, q).await? {
                let name: String = row.try_get_by_index(0).map_err(db)?;
                let name = EntityTypeName::parse(name).map_err(|e| corrupt("entity type", e))?;
                let total = count(&row, 1)?;
                let tombstones = count(&row, 2)?;
                types.push((
                    name,
                    TypeCounts {
                        live: total.saturating_sub(tombstones),
                        tombstones,
                    },
                ));
            }

            let mut q = inner.sql();
            q.push("SELECT COUNT(*) FROM conflicts WHERE tenant_id = ")
                .bind(tenant.as_str())
                .push(" AND status = 'open'");
            let open_conflicts = match inner.query_one(&inner.db, q).await? {
                Some(row) => count(&row, 0)?,
                None => 0,
            };

            // Every status is named so that both databases walk the (tenant_id, status,
            // created_at) index by range instead of reading the tenant's whole conflict log.
            let mut q = inner.sql();
            q.push("SELECT strategy, COUNT(*) FROM conflicts WHERE tenant_id = ")
                .bind(tenant.as_str())
                .push(" AND status IN ('open', 'resolved', 'auto_resolved') AND created_at >= ")
                .bind(conflicts_since.as_millis())
                .push(" GROUP BY strategy ORDER BY strategy");
            let mut conflicts_by_strategy = Vec::new();
            for row in inner.query(&inner.db, q).await? {
                let strategy: String = row.try_get_by_index(0).map_err(db)?;
                conflicts_by_strategy.push((strategy, count(&row, 1)?));
            }

            Ok(TenantCounts {
                types,
                open_conflicts,
                conflicts_by_strategy,
            })
        })
        .await
    }
}
