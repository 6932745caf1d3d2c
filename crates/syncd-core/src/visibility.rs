//! Visibility rules in the engine (SPEC §11): what a principal may see of each type, the
//! cursors that carry its fingerprint, and the checks reads and writes make with them.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use syncd_model::{Access, Cursor, EntityType, EntityTypeName, Epoch, Record, RecordId, Seq};
use syncd_store::{Store, TypeAccess};

use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;

/// A record the caller no longer sees, as pulls and push answers show it: an id and nothing
/// else, so that clients that only know tombstones drop it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovalView(pub RecordId);

impl Serialize for RemovalView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("id", &self.0)?;
        map.serialize_entry("deleted", &true)?;
        map.serialize_entry("removed", &true)?;
        map.end()
    }
}

impl<S: Store> SyncEngine<S> {
    /// The restricted types among `types`, with what the caller may see of each.
    pub(crate) fn type_access<'a>(
        &self,
        p: &Principal,
        types: impl IntoIterator<Item = &'a EntityType>,
    ) -> Vec<TypeAccess> {
        types
            .into_iter()
            .filter_map(|ty| match p.access(ty) {
                Access::All => None,
                Access::Only(matches) => Some(TypeAccess {
                    entity_type: ty.name.clone(),
                    matches,
                }),
            })
            .collect()
    }

    /// What the caller sees of each restricted type it may read; a type left out is fully
    /// visible. What a WebSocket connection registers with the hub.
    pub fn access_by_type(&self, p: &Principal) -> HashMap<EntityTypeName, Access> {
        self.readable_types(p)
            .iter()
            .filter_map(|ty| match p.access(ty) {
                Access::All => None,
                only => Some((ty.name.clone(), only)),
            })
            .collect()
    }

    /// A cursor at `seq` for this caller: it carries the caller's visibility fingerprint.
    pub(crate) fn cursor_for(&self, p: &Principal, epoch: Epoch, seq: Seq) -> Cursor {
        Cursor::at(seq, epoch, p.visibility_fingerprint(&self.registry))
    }

    /// A cursor handed out under other visibility inputs (another branch, other roles or read
    /// scopes) cannot be continued: what the app holds may include records it no longer sees,
    /// and records it now sees may be older than the cursor.
    pub fn check_fingerprint(&self, p: &Principal, cursor: Cursor) -> Result<()> {
        if cursor.fingerprint() == p.visibility_fingerprint(&self.registry) {
            return Ok(());
        }
        Err(SyncError::ResyncRequired(
            "the token's visibility inputs (claims, roles or scopes) changed since this cursor \
             was handed out; drop the local records and pull from the start"
                .into(),
        ))
    }

    /// A record the caller may see; otherwise the same 404 as an absent one, so an invisible
    /// record does not reveal that it exists.
    pub(crate) fn visible_or_not_found(
        &self,
        p: &Principal,
        ty: &EntityType,
        record: Option<Record>,
        not_found: impl FnOnce() -> SyncError,
    ) -> Result<Record> {
        match record {
            Some(r) if p.access(ty).allows(&r.data) => Ok(r),
            _ => Err(not_found()),
        }
    }
}
