//! The messages of the WebSocket protocol (SPEC §6) as types, in both directions: what a client
//! may send, parsed with serde, and the replies a session sends. Notifications fanned out by the
//! hub are encoded by `syncd_hub::protocol`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use syncd_hub::protocol;
use syncd_model::{ClientId, Cursor, TenantId, Timestamp};

use crate::error::ErrorCode;

/// A message from the client: a flat JSON object with a `type`.
#[derive(Debug, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub(super) enum ClientMessage {
    Authenticate {
        #[serde(default)]
        token: Option<String>,
    },
    Subscribe {
        #[serde(default)]
        entity_types: Option<Vec<String>>,
        #[serde(default)]
        include_data: Option<bool>,
        #[serde(default)]
        cursor: Option<String>,
    },
    Unsubscribe {
        #[serde(default)]
        entity_types: Option<Vec<String>>,
    },
    Heartbeat {},
    RefreshRequest {
        #[serde(default)]
        entity_type: Option<String>,
    },
}

const TYPES: [&str; 5] = [
    "authenticate",
    "subscribe",
    "unsubscribe",
    "heartbeat",
    "refresh_request",
];

impl ClientMessage {
    /// Parses a text frame; the error says what is wrong in words a client developer reads.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let value = match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => value,
            _ => return Err("messages must be JSON objects with a `type`".into()),
        };
        if let Some(path) = syncd_model::text::find_nul(&value) {
            return Err(format!(
                "the message {} (at `{}`)",
                syncd_model::text::NUL_MESSAGE,
                path.trim_start_matches('.')
            ));
        }
        let kind = match value.get("type") {
            Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
            _ => return Err("a message needs a `type`".into()),
        };
        if !TYPES.contains(&kind.as_str()) {
            return Err(format!("unknown message type `{kind}`"));
        }
        serde_json::from_value(value).map_err(|e| format!("`{kind}`: {e}"))
    }
}

/// A reply of the session to one client.
#[derive(Debug, Serialize)]
#[serde(
    tag = "type",
    content = "data",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub(super) enum Reply<'a> {
    Authenticated {
        tenant_id: &'a TenantId,
        client_id: &'a ClientId,
        connection_id: String,
        cursor: Option<Cursor>,
    },
    Subscribed {
        entity_types: Vec<&'a str>,
        include_data: bool,
    },
    HeartbeatResponse {},
    SyncRequest {
        entity_type: Option<&'a str>,
        cursor: Cursor,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
    },
}

#[derive(Serialize)]
struct Frame<'a> {
    #[serde(flatten)]
    reply: &'a Reply<'a>,
    timestamp: Timestamp,
}

impl Reply<'_> {
    /// The text frame: `{"type", "data", "timestamp"}`.
    pub(super) fn encode(&self) -> Bytes {
        match serde_json::to_vec(&Frame {
            reply: self,
            timestamp: Timestamp::now(),
        }) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => {
                tracing::error!(error = %e, "could not encode a WebSocket reply");
                protocol::envelope(
                    "error",
                    serde_json::json!({ "code": "internal", "message": "could not encode a reply" }),
                    Timestamp::now(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn client_messages_parse_from_flat_objects() {
        let m = ClientMessage::parse(
            r#"{"type":"subscribe","entityTypes":["end_user"],"includeData":true,"cursor":null}"#,
        )
        .unwrap();
        assert!(matches!(
            m,
            ClientMessage::Subscribe { entity_types: Some(t), include_data: Some(true), cursor: None } if t == ["end_user"]
        ));
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"heartbeat","extra":1}"#).unwrap(),
            ClientMessage::Heartbeat {}
        ));
    }

    #[test]
    fn bad_client_messages_say_what_is_wrong() {
        for (text, expected) in [
            ("[1]", "messages must be JSON objects"),
            ("{}", "needs a `type`"),
            (r#"{"type":"shout"}"#, "unknown message type `shout`"),
            (r#"{"type":"subscribe","includeData":3}"#, "`subscribe`:"),
            (
                r#"{"type":"subscribe","entityTypes":["end_\u0000user"]}"#,
                "NUL character",
            ),
            (r#"{"type":"heartbeat","x\u0000":1}"#, "NUL character"),
        ] {
            let err = ClientMessage::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn replies_are_envelopes_with_data_and_a_timestamp() {
        let bytes = Reply::HeartbeatResponse {}.encode();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["type"], "heartbeat_response");
        assert_eq!(v["data"], serde_json::json!({}));
        assert!(v["timestamp"].is_string());
        let bytes = Reply::Error {
            code: ErrorCode::Forbidden,
            message: "no",
        }
        .encode();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v["data"],
            serde_json::json!({ "code": "forbidden", "message": "no" })
        );
    }
}
