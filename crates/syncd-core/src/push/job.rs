//! A push on its way through the group commit: the validated job, its idempotency key, and
//! what it answered.

use syncd_model::ClientId;

use crate::principal::Principal;
use crate::write::planned::PlannedChange;

/// What a push answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PushOutcome {
    /// The response body as JSON text: `success`, `data`, `results`, `cursor`,
    /// `syncTimestamp`. A replay returns the first response byte for byte.
    pub body: String,
    /// True when the idempotency key had been seen: nothing was applied this time.
    pub replayed: bool,
}

/// A push's idempotency key and the digest of its body.
pub(crate) struct Idempotency {
    pub(super) key: String,
    pub(super) request_hash: String,
}

/// A validated push waiting for its tenant's write.
pub(crate) struct PushJob {
    pub(super) p: Principal,
    pub(super) client: ClientId,
    pub(super) planned: Vec<PlannedChange>,
    pub(super) idempotency: Option<Idempotency>,
}
