//! A push's own answer: the response body rendered from what its write returned, the replay of
//! a stored answer, and the digest that tells a retried push from another one reusing its key.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use syncd_model::{Cursor, RecordId, Timestamp, Version};
use syncd_store::{IdempotencyEntry, Store};

use super::job::{Idempotency, PushOutcome};
use crate::engine::SyncEngine;
use crate::envelope::Envelope;
use crate::error::{Result, SyncError};
use crate::write::Outcome;

/// One entry of a push response's `results`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PushResult<'a> {
    index: usize,
    entity_type: &'a str,
    id: RecordId,
    status: &'static str,
    version: Version,
    strategy: &'a str,
    conflicting_fields: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushBodyView<'a> {
    data: Vec<&'a RawValue>,
    results: Vec<PushResult<'a>>,
    cursor: Cursor,
    sync_timestamp: Timestamp,
}

impl<S: Store> SyncEngine<S> {
    pub(super) fn push_body(
        &self,
        outcomes: &[Outcome],
        cursor: Cursor,
        at: Timestamp,
    ) -> Result<String> {
        let view = PushBodyView {
            data: outcomes
                .iter()
                .map(|o| o.data.as_deref().unwrap_or(RawValue::NULL))
                .collect(),
            results: outcomes
                .iter()
                .map(|o| PushResult {
                    index: o.index,
                    entity_type: o.entity_type.name.as_str(),
                    id: o.id,
                    status: o.status.as_str(),
                    version: o.version,
                    strategy: self
                        .strategy_name(o.entity_type.name.as_str())
                        .unwrap_or(""),
                    conflicting_fields: &o.conflicting_fields,
                })
                .collect(),
            cursor,
            sync_timestamp: at,
        };
        serde_json::to_string(&Envelope::flat(view)).map_err(|e| SyncError::Internal(Box::new(e)))
    }
}

/// The stored answer of a key seen before with the same body; the same key with another body
/// is refused.
pub(super) fn replay(entry: IdempotencyEntry, idem: &Idempotency) -> Result<PushOutcome> {
    if entry.request_hash != idem.request_hash {
        return Err(SyncError::IdempotencyKeyReused);
    }
    if let Some(refused) = crate::lifecycle::erased_answer(&entry) {
        return Err(refused);
    }
    metrics::counter!("syncd_push_replays_total").increment(1);
    Ok(PushOutcome {
        body: entry.response,
        replayed: true,
    })
}

/// A digest of the request body, to tell a retried push from another push reusing its key.
pub(super) fn hash(body: &Value) -> Result<String> {
    let bytes = serde_json::to_vec(body).map_err(|e| SyncError::Internal(Box::new(e)))?;
    let digest = Sha256::digest(&bytes);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}
