//! The live records of a tenant with their versions, read in one statement so that they and the
//! head they are current at come from one snapshot; only those the reader may see (SPEC §10).

use std::collections::BTreeMap;

use syncd_model::{EntityTypeName, RecordId, Seq, TenantId, Version};
use syncd_store::{LiveVersions, Result, TypeAccess};
use uuid::Uuid;

use crate::error::{self, corrupt};
use crate::filters;
use crate::inner::Inner;
use crate::visibility;

impl Inner {
    pub(crate) async fn live_versions(
        &self,
        tenant: &TenantId,
        types: &[EntityTypeName],
        visibility: &[TypeAccess],
    ) -> Result<(Seq, Vec<LiveVersions>)> {
        let mut q = self.sql();
        let t = q.param(tenant.as_str());
        q.push(
            "SELECT entity_type, id, version, (SELECT head FROM tenant_clocks WHERE tenant_id = ",
        )
        .ph(t)
        .push(") FROM records WHERE tenant_id = ")
        .ph(t)
        .push(" AND NOT deleted");
        filters::entity_types(&mut q, types);
        // The same condition as a pull's: a client that pulled everything sums what it holds.
        visibility::visible(&mut q, types, visibility)?;
        let rows = self.query(&self.db, q).await?;
        let mut head = None;
        let mut by_type: BTreeMap<String, Vec<(RecordId, Version)>> = BTreeMap::new();
        for row in &rows {
            let entity_type: String = row.try_get_by_index(0).map_err(error::db)?;
            let id: Uuid = row.try_get_by_index(1).map_err(error::db)?;
            let version: i64 = row.try_get_by_index(2).map_err(error::db)?;
            let at: Option<i64> = row.try_get_by_index(3).map_err(error::db)?;
            head = head.or(at.map(Seq));
            by_type
                .entry(entity_type)
                .or_default()
                .push((RecordId::from_uuid(id), Version(version)));
        }
        let head = match head {
            Some(head) => head,
            // No live record: the head alone.
            None => self.head_of(&self.db, tenant).await?,
        };
        let live = by_type
            .into_iter()
            .map(|(name, records)| {
                Ok(LiveVersions {
                    entity_type: EntityTypeName::parse(name)
                        .map_err(|e| corrupt("entity type", e))?,
                    records,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((head, live))
    }
}
