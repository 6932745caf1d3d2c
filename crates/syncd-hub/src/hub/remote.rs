//! Events from other instances: the visibility facts the backplane carries with them, and the
//! records read back from the store for connections that want data.

use std::sync::Arc;

use bytes::Bytes;
use syncd_model::{ChangeEvent, ClientId, Cursor, EntityTypeName, RecordChange, Seq, TenantId};
use syncd_model::{Epoch, Timestamp};

use super::visible::{self, Verdict};
use super::{ConnShared, Hub};
use crate::protocol;

/// What another instance told of the records of its event, so that connections that see only
/// part of a type are notified exactly as on the writing instance (SPEC §11).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteFacts {
    /// The written records with rule fields (after, and before the write when known), with
    /// their type, id and seq; their `record` is empty. Records without rule fields are left
    /// out: no restricted connection sees them.
    pub records: Vec<RecordChange>,
    /// Every such record is here. When the facts did not fit in one notice, connections that
    /// see part of the event's types get `resync_required` instead of a guess.
    pub complete: bool,
}

impl Hub {
    /// Fans out an event of another instance with what it told of its records.
    pub fn deliver_remote(&self, event: &ChangeEvent, facts: &RemoteFacts) {
        self.fan_out(event, Some(facts));
    }

    /// Reads the records of an event that came from another instance and sends them as
    /// `data_update` to the connections that asked for data.
    pub(super) fn fetch_remote_records(&self, event: &ChangeEvent) {
        let (Some(source), Some(hub)) = (self.records.clone(), self.this.upgrade()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let written: u64 = event.counts.iter().map(|(_, n)| u64::from(*n)).sum();
        let upto = event.cursor.seq();
        let after = Seq(upto.0.saturating_sub(written as i64));
        let tenant = event.tenant.clone();
        let origin = event.origin_client.clone();
        let types: Vec<EntityTypeName> = event.counts.iter().map(|(t, _)| t.clone()).collect();
        runtime.spawn(async move {
            let records = source.records(&tenant, after, upto, &types).await;
            hub.deliver_data(&tenant, &origin, &records);
        });
    }

    /// Sends `data_update` for `records` to the tenant's connections that asked for data; each
    /// carries a cursor of the connection's epoch and fingerprint.
    pub fn deliver_data(&self, tenant: &TenantId, origin: &ClientId, records: &[RecordChange]) {
        let conns: Vec<Arc<ConnShared>> = match self.read_tenants().get(tenant) {
            Some(conns) => conns.clone(),
            None => return,
        };
        let mut encoded = Encoded {
            origin,
            records,
            now: Timestamp::now(),
            cache: std::collections::HashMap::new(),
        };
        for conn in &conns {
            let access = conn.access.read().unwrap_or_else(|e| e.into_inner());
            // Read back from the store: only the state after the write is known, so records
            // the connection does not see now are left out (removals came with the event).
            let shown: Vec<bool> = records
                .iter()
                .map(|r| visible::verdict(r, &access) == Verdict::Shown)
                .collect();
            drop(access);
            let fingerprint = conn.fingerprint.load(std::sync::atomic::Ordering::Relaxed);
            let mut st = conn.lock();
            if !st.subscription.include_data {
                continue;
            }
            let epoch = st.epoch;
            let mut woke = false;
            for (i, (record, shown)) in records.iter().zip(shown).enumerate() {
                if shown && st.subscription.types.contains(&record.entity_type) {
                    let bytes = encoded.get(i, epoch, fingerprint);
                    woke |= self.enqueue(conn, &mut st, bytes, Some(record.seq), encoded.now);
                }
            }
            drop(st);
            if woke {
                conn.notify.notify_one();
            }
        }
    }
}

/// `data_update` messages of read-back records, encoded once per (epoch, fingerprint).
struct Encoded<'a> {
    origin: &'a ClientId,
    records: &'a [RecordChange],
    now: Timestamp,
    cache: std::collections::HashMap<(usize, Epoch, u32), Bytes>,
}

impl Encoded<'_> {
    fn get(&mut self, i: usize, epoch: Epoch, fingerprint: u32) -> Bytes {
        let (record, origin, now) = (&self.records[i], self.origin, self.now);
        self.cache
            .entry((i, epoch, fingerprint))
            .or_insert_with(|| {
                let cursor = Cursor::at(record.seq, epoch, fingerprint);
                protocol::data_update(record, origin, cursor, now)
            })
            .clone()
    }
}
