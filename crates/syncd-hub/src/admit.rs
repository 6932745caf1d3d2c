//! What a transport of any kind needs from the hub, in two calls: admit a listener the engine
//! described, then read its messages as a stream (a server-sent events route, a WebSocket loop,
//! a message bus bridge).

use std::collections::VecDeque;

use bytes::Bytes;
use futures_util::stream::{self, Stream};
use syncd_model::Listener;

use crate::{Connection, Hub, Outgoing, RegisterError};

impl Hub {
    /// Admits a listener (`syncd_core::SyncEngine::listener` describes the caller): subscribed to
    /// every type it may read, each event filtered by what it sees, from its cursor on. The same
    /// caps as [`Hub::register`] apply.
    pub fn admit(&self, listener: Listener) -> Result<Connection, RegisterError> {
        let Listener {
            tenant,
            client,
            readable,
            access,
            cursor,
        } = listener;
        self.register_with_access(tenant, client, readable, access, cursor)
    }
}

impl Connection {
    /// The connection's text frames (the JSON of docs/protocol.md), oldest first, ending when
    /// the hub shuts down. The stream owns the connection: dropping it unregisters it.
    pub fn into_messages(self) -> impl Stream<Item = Bytes> + Send + 'static {
        stream::unfold((self, VecDeque::new()), |(conn, mut pending)| async move {
            loop {
                match pending.pop_front() {
                    Some(Outgoing::Message(text)) => return Some((text, (conn, pending))),
                    Some(Outgoing::GoingAway) => return None,
                    None => pending.extend(conn.next_batch().await),
                }
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::StreamExt;
    use syncd_model::{ChangeEvent, ClientId, Cursor, EntityTypeName, Notifier, Seq, TenantId};

    use super::*;
    use crate::HubConfig;

    fn listener(tenant: &TenantId, types: &[&EntityTypeName]) -> Listener {
        Listener {
            tenant: tenant.clone(),
            client: ClientId::parse("phone").unwrap(),
            readable: types.iter().map(|t| (*t).clone()).collect::<HashSet<_>>(),
            access: HashMap::new(),
            cursor: Cursor::new(Seq(0)),
        }
    }

    #[tokio::test]
    async fn an_admitted_listener_streams_its_notifications_until_the_hub_shuts_down() {
        let hub = Hub::new(HubConfig::default());
        let tenant = TenantId::parse("acme").unwrap();
        let tasks = EntityTypeName::parse("tasks").unwrap();
        let mut messages = Box::pin(
            hub.admit(listener(&tenant, &[&tasks]))
                .unwrap()
                .into_messages(),
        );
        hub.publish(Arc::new(ChangeEvent {
            tenant: tenant.clone(),
            origin_client: ClientId::parse("laptop").unwrap(),
            cursor: Cursor::new(Seq(1)),
            counts: vec![(tasks.clone(), 1)],
            records: Vec::new(),
            status_updates: Vec::new(),
        }));
        let first = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
        let first: serde_json::Value = serde_json::from_slice(&first.unwrap().unwrap()).unwrap();
        assert_eq!(first["type"], "sync_notification");
        assert_eq!(first["data"]["entityTypes"], serde_json::json!(["tasks"]));
        assert_eq!(hub.tenant_connections(&tenant), 1);
        hub.shutdown();
        assert_eq!(messages.next().await, None, "the stream ends with the hub");
        drop(messages);
        assert_eq!(
            hub.tenant_connections(&tenant),
            0,
            "dropping the stream unregisters"
        );
    }
}
