//! A connection's side of the hub: its queue, its subscription, what its token may read.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use syncd_model::{Access, ClientId, EntityTypeName, TenantId};

use super::{ConnShared, Hub, NotReadable, Outgoing, Subscription};

/// A registered connection, owned by its WebSocket task. Dropping it unregisters it.
pub struct Connection {
    pub(super) shared: Arc<ConnShared>,
    pub(super) tenant: TenantId,
    pub(super) hub: Weak<Hub>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.shared.id)
            .field("tenant", &self.tenant)
            .field("client", &self.shared.client)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    pub fn client(&self) -> &ClientId {
        &self.shared.client
    }

    /// Waits until something is queued, then takes everything queued, oldest first.
    pub async fn next_batch(&self) -> Vec<Outgoing> {
        loop {
            let notified = self.shared.notify.notified();
            {
                let mut st = self.shared.lock();
                if !st.queue.is_empty() {
                    st.resync_pending = false;
                    let mut out = Vec::with_capacity(st.queue.len());
                    let mut delivered = st.delivered;
                    for (item, cursor) in st.queue.drain(..) {
                        if let Some(c) = cursor {
                            delivered = delivered.max(c);
                        }
                        out.push(item);
                    }
                    st.delivered = delivered;
                    return out;
                }
            }
            notified.await;
        }
    }

    /// Replaces the subscription. `None` = every readable type. A type the token may not read
    /// leaves the subscription unchanged.
    pub fn subscribe(
        &self,
        types: Option<Vec<EntityTypeName>>,
        include_data: bool,
    ) -> Result<Subscription, NotReadable> {
        let readable = self
            .shared
            .readable
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let types = match types {
            None => readable.clone(),
            Some(types) => {
                if let Some(t) = types.iter().find(|t| !readable.contains(*t)) {
                    return Err(NotReadable(t.to_string()));
                }
                types.into_iter().collect()
            }
        };
        let mut st = self.shared.lock();
        st.subscription = Subscription {
            types,
            include_data,
        };
        Ok(st.subscription.clone())
    }

    /// Removes types from the subscription.
    pub fn unsubscribe(&self, types: &[EntityTypeName]) -> Subscription {
        let mut st = self.shared.lock();
        for t in types {
            st.subscription.types.remove(t);
        }
        st.subscription.clone()
    }

    pub fn subscription(&self) -> Subscription {
        self.shared.lock().subscription.clone()
    }

    /// The types the token may read changed (a fresh token was presented): the subscription
    /// keeps only what is still readable.
    pub fn set_readable(&self, readable: HashSet<EntityTypeName>) {
        let mut st = self.shared.lock();
        st.subscription.types.retain(|t| readable.contains(t));
        drop(st);
        *self
            .shared
            .readable
            .write()
            .unwrap_or_else(|e| e.into_inner()) = readable;
    }

    /// What a fresh token sees of the restricted types, and the visibility fingerprint the
    /// cursors handed to the connection carry from now on.
    pub fn set_access(&self, access: HashMap<EntityTypeName, Access>, fingerprint: u32) {
        *self
            .shared
            .access
            .write()
            .unwrap_or_else(|e| e.into_inner()) = access;
        self.shared
            .fingerprint
            .store(fingerprint, Ordering::Relaxed);
    }

    /// Messages waiting in this connection's queue.
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.unregister(&self.tenant, self.shared.id);
        }
    }
}
