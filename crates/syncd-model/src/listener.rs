//! A caller about to listen for notifications, as the engine describes it and the hub admits it
//! (or refuses it). Here because both depend on this crate and neither on the other.

use std::collections::{HashMap, HashSet};

use crate::ids::{ClientId, Cursor, EntityTypeName, TenantId};
use crate::visibility::Access;

/// Who listens, what it may hear and from where: everything a notification hub needs to admit a
/// caller and filter each event for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub tenant: TenantId,
    pub client: ClientId,
    /// The types the caller may read; it starts subscribed to all of them.
    pub readable: HashSet<EntityTypeName>,
    /// What the caller sees of each restricted type (SPEC §11); a type left out is fully visible.
    pub access: HashMap<EntityTypeName, Access>,
    /// The tenant's head when the caller started listening, with the tenant's epoch and the
    /// caller's visibility fingerprint: what it has seen once it pulled up to here.
    pub cursor: Cursor,
}

/// Why the hub did not admit a listener (`syncd_hub::Hub::admit`, `Hub::register`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("the tenant has too many WebSocket connections")]
    TenantFull,
    #[error("this client has too many WebSocket connections")]
    ClientFull,
    #[error("the server is shutting down")]
    ShuttingDown,
}
