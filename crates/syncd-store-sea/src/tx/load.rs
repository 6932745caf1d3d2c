//! Loading what a write needs under the lock: the current states of the touched records and
//! the data of the base versions the changes cite.

use serde_json::{Map, Value};
use syncd_model::Version;
use syncd_store::{Loaded, RecordKey, Result};

use super::SeaWriteTx;
use crate::rows;
use crate::sql::chunks;

impl SeaWriteTx {
    pub(super) async fn load_inner(
        &self,
        keys: &[RecordKey],
        versions: &[(RecordKey, Version)],
    ) -> Result<Loaded> {
        let txn = self.txn()?;
        let records = if keys.is_empty() {
            Vec::new()
        } else {
            self.inner.records_by_keys(txn, &self.tenant, keys).await?
        };
        Ok(Loaded {
            records,
            versions: self.load_versions(versions).await?,
        })
    }

    /// The data of the given versions, in one query per statement budget.
    pub(super) async fn load_versions(
        &self,
        versions: &[(RecordKey, Version)],
    ) -> Result<Vec<(RecordKey, Version, Map<String, Value>)>> {
        let txn = self.txn()?;
        let inner = &*self.inner;
        let mut loaded = Vec::new();
        if versions.is_empty() {
            return Ok(loaded);
        }
        let mut wanted: Vec<&(RecordKey, Version)> = versions.iter().collect();
        wanted.sort_unstable_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        wanted.dedup();
        let sizes = wanted
            .iter()
            .map(|(k, _)| 36 + k.entity_type.as_str().len());
        for range in chunks(inner.dialect, inner.statement_bytes, 0, 4, sizes) {
            let mut q = inner.sql();
            let t = q.param(self.tenant.as_str());
            q.push("SELECT ")
                .columns(rows::VERSION_DATA)
                .push(" FROM (VALUES ");
            for (i, (key, version)) in wanted[range].iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" })
                    .bind(key.entity_type.as_str())
                    .push(", ")
                    .bind(key.id.as_uuid())
                    .push(", ")
                    .bind(version.0)
                    .push(")");
            }
            q.push(") AS k JOIN record_versions v ON v.tenant_id = ")
                .ph(t)
                .push(
                    " AND v.entity_type = k.column1 AND v.id = k.column2 \
                     AND v.version = k.column3",
                );
            for row in inner.query(txn, q).await? {
                loaded.push(rows::version_data(&row)?);
            }
        }
        Ok(loaded)
    }
}
