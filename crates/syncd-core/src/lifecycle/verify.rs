//! The integrity check (SPEC §10): per type, the count of live records and a checksum a client
//! computes the same way over its local copy. A mismatch means drift, repaired by a resync of
//! that type.
//!
//! The checksum is a sum of per-record hashes, so it does not depend on order and a client can
//! keep it up to date record by record: add a record's value when it arrives, subtract the old
//! one when it changes or goes.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use sha2::{Digest, Sha256};
use syncd_model::{Cursor, EntityType, RecordId, Version};
use syncd_store::LifecycleStore;

use crate::engine::SyncEngine;
use crate::error::Result;
use crate::principal::Principal;

/// One record's value in the checksum: the first 8 bytes of SHA-256 of the UTF-8 text
/// `{id}:{version}` (the id in its lowercase hyphenated form, the version in decimal), read as
/// an unsigned big-endian integer.
pub fn record_hash(id: RecordId, version: Version) -> u64 {
    let digest = Sha256::digest(format!("{id}:{}", version.0).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The checksum of a set of records: the sum of their [`record_hash`] modulo 2^64.
pub fn checksum(records: impl IntoIterator<Item = (RecordId, Version)>) -> (u64, u64) {
    records
        .into_iter()
        .fold((0u64, 0u64), |(count, sum), (id, version)| {
            (count + 1, sum.wrapping_add(record_hash(id, version)))
        })
}

/// The answer of `verify`: per asked type its count and checksum, and the cursor they hold at.
#[derive(Debug, Clone)]
pub struct VerifyResponse {
    pub data: Vec<(Arc<EntityType>, u64, u64)>,
    pub cursor: Cursor,
}

struct Sums<'a>(&'a [(Arc<EntityType>, u64, u64)]);

#[derive(serde::Serialize)]
struct Sum {
    count: u64,
    /// A decimal string: JSON numbers lose precision above 2^53 in most clients.
    checksum: String,
}

impl Serialize for Sums<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (ty, count, checksum) in self.0 {
            let sum = Sum {
                count: *count,
                checksum: checksum.to_string(),
            };
            map.serialize_entry(ty.name.as_str(), &sum)?;
        }
        map.end()
    }
}

impl Serialize for VerifyResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("VerifyResponse", 2)?;
        st.serialize_field("data", &Sums(&self.data))?;
        st.serialize_field("cursor", &self.cursor)?;
        st.end()
    }
}

impl<S: LifecycleStore> SyncEngine<S> {
    /// Count and checksum of the live records the caller may see of each asked type (`None` =
    /// every readable type), at the head when answered.
    #[tracing::instrument(skip_all, fields(tenant = %p.tenant, client = %p.client), err(level = "debug"))]
    pub async fn verify(&self, p: &Principal, asked: Option<&[String]>) -> Result<VerifyResponse> {
        let types = self.pull_types(p, asked)?;
        // The records a pull of these types would hand out (SPEC §10, §11), filtered by the same
        // condition inside the query; restricted reads name their types, as pulls do.
        let visibility = self.type_access(p, types.iter().map(|t| t.as_ref()));
        let names: Vec<_> = if types.len() == self.registry.len() && visibility.is_empty() {
            Vec::new()
        } else {
            types.iter().map(|t| t.name.clone()).collect()
        };
        let state = self.sync_state(p).await?;
        let (head, live) = if types.is_empty() {
            (state.head, Vec::new())
        } else {
            self.store
                .live_versions(&p.tenant, &names, &visibility)
                .await?
        };
        let data = types
            .into_iter()
            .map(|ty| {
                let (count, sum) = live
                    .iter()
                    .find(|l| l.entity_type == ty.name)
                    .map_or((0, 0), |l| checksum(l.records.iter().copied()));
                (ty, count, sum)
            })
            .collect();
        Ok(VerifyResponse {
            data,
            cursor: self.cursor_for(p, state.epoch, head),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_checksum_is_a_wrapping_sum_of_record_hashes() {
        let a = RecordId::parse("0190a2b4-7c3e-7def-8abc-0123456789ab").unwrap();
        let b = RecordId::parse("0190a2b4-7c3e-7def-8abc-0123456789ac").unwrap();
        let (count, sum) = checksum([(a, Version(1)), (b, Version(3))]);
        assert_eq!(count, 2);
        assert_eq!(
            sum,
            record_hash(a, Version(1)).wrapping_add(record_hash(b, Version(3)))
        );
        assert_ne!(record_hash(a, Version(1)), record_hash(a, Version(2)));
        assert_eq!(checksum(std::iter::empty()), (0, 0));
    }
}
