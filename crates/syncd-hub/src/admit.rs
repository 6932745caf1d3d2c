//! What a transport of any kind needs from the hub, in two calls: admit a listener the engine
//! described, then read its messages as a stream (a server-sent events route, a WebSocket loop,
//! a message bus bridge), or as server-sent events ready to be a response body.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
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

    /// The same messages as a `text/event-stream` body: each one `data: <json>`, and a comment
    /// line after `keep_alive` without one, so that proxies and browsers keep an idle stream
    /// open. Items are `Result`s because that is what frameworks' streaming bodies take; none
    /// is an error.
    pub fn into_event_stream(
        self,
        keep_alive: Duration,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
        let messages = Box::pin(self.into_messages());
        stream::unfold(messages, move |mut messages| async move {
            // A timed-out wait loses nothing: the stream keeps its place until polled again.
            let frame = match tokio::time::timeout(keep_alive, messages.next()).await {
                Ok(Some(message)) => event(&message),
                Ok(None) => return None,
                Err(_) => Bytes::from_static(b": keep-alive\n\n"),
            };
            Some((Ok(frame), messages))
        })
    }
}

/// One message as a server-sent event (messages are one-line JSON).
fn event(message: &[u8]) -> Bytes {
    [&b"data: "[..], message, b"\n\n"].concat().into()
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

    /// The event of a push from another device that wrote one task.
    fn one_task_written(tenant: &TenantId, tasks: &EntityTypeName) -> Arc<ChangeEvent> {
        Arc::new(ChangeEvent {
            tenant: tenant.clone(),
            origin_client: ClientId::parse("laptop").unwrap(),
            cursor: Cursor::new(Seq(1)),
            counts: vec![(tasks.clone(), 1)],
            records: Vec::new(),
            status_updates: Vec::new(),
        })
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
        hub.publish(one_task_written(&tenant, &tasks));
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

    /// The next frame of an event stream, within 5 s.
    async fn next_frame(
        events: &mut (impl Stream<Item = Result<Bytes, Infallible>> + Unpin),
    ) -> Bytes {
        let next = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
        next.unwrap().unwrap().unwrap()
    }

    #[tokio::test]
    async fn an_event_stream_frames_each_message_and_keeps_an_idle_stream_alive() {
        let hub = Hub::new(HubConfig::default());
        let tenant = TenantId::parse("acme").unwrap();
        let tasks = EntityTypeName::parse("tasks").unwrap();
        let conn = hub.admit(listener(&tenant, &[&tasks])).unwrap();
        let mut events = Box::pin(conn.into_event_stream(Duration::from_millis(50)));
        assert_eq!(
            next_frame(&mut events).await,
            Bytes::from_static(b": keep-alive\n\n")
        );
        hub.publish(one_task_written(&tenant, &tasks));
        let mut frame = next_frame(&mut events).await;
        while frame.starts_with(b":") {
            frame = next_frame(&mut events).await;
        }
        let text = std::str::from_utf8(&frame).unwrap();
        let json = text
            .strip_prefix("data: ")
            .and_then(|t| t.strip_suffix("\n\n"))
            .unwrap();
        let message: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(message["type"], "sync_notification", "{text}");
        hub.shutdown();
        assert!(
            events.next().await.is_none(),
            "the stream ends with the hub"
        );
    }
}
