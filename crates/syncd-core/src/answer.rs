//! The engine's answers as a transport hands them on: a status and the JSON bytes, exactly what
//! the syncd server answers, so that an embedding service's handler is "authenticate, call the
//! engine, turn the [`Answer`] into the framework's response".

use serde::Serialize;
use syncd_model::RegisterError;

use crate::envelope::Envelope;
use crate::error::{ErrorEnvelope, ErrorKind, SyncError};
use crate::pull::PullResponse;
use crate::push::PushOutcome;

/// A status (the HTTP number, so that no HTTP crate is needed here) and a JSON body: a success
/// envelope or the SPEC §4 error body. `Answer::from` makes one of a push's or a pull's result
/// (`Result<PushOutcome>`, `Result<PullResponse>`), of a [`SyncError`] and of the hub's
/// [`RegisterError`]; [`Answer::error`] and [`Answer::unauthorized`] of a transport's own refusals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// JSON; the content type is `application/json`.
    pub body: Vec<u8>,
}

/// The body of a 500 whose own body could not be encoded: fixed, so that it always exists.
const INTERNAL: &[u8] =
    br#"{"success":false,"error":{"code":"internal","message":"internal server error","details":[]}}"#;

impl Answer {
    /// `status` with the SPEC §4 body of `code`, for the codes a transport speaks itself (the
    /// engine's own errors come with theirs: `Answer::from(error)`).
    pub fn error(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self::json(status, &ErrorEnvelope::new(code, message, Vec::new()))
    }

    /// 401 `unauthorized`: the service's own authentication did not find the caller.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::error(401, "unauthorized", message)
    }

    /// `body` as JSON.
    fn json<T: Serialize>(status: u16, body: &T) -> Self {
        Self::encoded(status, serde_json::to_vec(body))
    }

    /// Encoding the engine's own types does not fail; should it, the client gets an opaque 500
    /// and the cause goes to the log.
    fn encoded(status: u16, encoded: serde_json::Result<Vec<u8>>) -> Self {
        match encoded {
            Ok(body) => Self { status, body },
            Err(e) => {
                let error: &(dyn std::error::Error + 'static) = &e;
                tracing::error!(error, "an answer could not be encoded");
                Self {
                    status: 500,
                    body: INTERNAL.to_vec(),
                }
            }
        }
    }
}

/// 200 and the push's answer, byte for byte the stored one on a replay.
impl From<PushOutcome> for Answer {
    fn from(outcome: PushOutcome) -> Self {
        Self {
            status: 200,
            body: outcome.body.into_bytes(),
        }
    }
}

/// 200 and the page in the success envelope: `{"success": true, "data", "cursor", "hasMore",
/// "syncTimestamp"}`.
impl From<PullResponse> for Answer {
    fn from(page: PullResponse) -> Self {
        Self::encoded(200, Envelope::flat(&page).page_json(page.record_count()))
    }
}

/// The error's status and SPEC §4 body ([`SyncError::body`]). The body of a 5xx shows nothing of
/// the cause, so the cause goes to the log here, before the error is gone.
impl From<SyncError> for Answer {
    fn from(e: SyncError) -> Self {
        let status = e.status();
        if status >= 500 {
            let error: &(dyn std::error::Error + 'static) = &e;
            tracing::error!(error, "request failed");
        }
        Self::json(status, &e.body())
    }
}

/// The hub's refusal of a listener (`syncd_hub::Hub::admit`), as the syncd server's WebSocket
/// words it: a listener over its tenant's or client's cap may come back later (429
/// `too_many_connections`); a hub shutting down is the server going away (503 `unavailable`).
impl From<RegisterError> for Answer {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::TenantFull | RegisterError::ClientFull => {
                Self::error(429, "too_many_connections", e.to_string())
            }
            RegisterError::ShuttingDown => {
                let kind = ErrorKind::Unavailable;
                Self::error(kind.status(), kind.code(), e.to_string())
            }
        }
    }
}

/// An engine call's result as it is answered: its value's answer, or its error's.
impl<T: Into<Answer>> From<Result<T, SyncError>> for Answer {
    fn from(result: Result<T, SyncError>) -> Self {
        result.map_or_else(Answer::from, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use syncd_model::ChangeError;

    use super::*;

    fn parsed(answer: &Answer) -> Value {
        serde_json::from_slice(&answer.body).unwrap_or_default()
    }

    #[test]
    fn an_engine_error_answers_with_its_status_and_the_spec_section_4_body() {
        let detail = ChangeError::invalid(1, "tasks", Some("title"), "is required");
        let error = SyncError::invalid(vec![detail]);
        let expected = serde_json::to_value(error.body()).unwrap_or_default();
        let answer = Answer::from(error);
        assert_eq!(answer.status, 422);
        assert_eq!(parsed(&answer), expected);
        assert_eq!(parsed(&answer)["error"]["details"][0]["field"], "title");
    }

    #[test]
    fn a_5xx_answer_shows_nothing_of_its_cause() {
        let answer = Answer::from(SyncError::Internal("SELECT secret FROM t".into()));
        assert_eq!(answer.status, 500);
        let text = String::from_utf8_lossy(&answer.body);
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(parsed(&answer)["error"]["code"], "internal");
    }

    #[test]
    fn a_push_answer_is_the_outcome_s_bytes_a_replay_included() {
        let body = r#"{"success":true,"data":[],"results":[],"cursor":"c","syncTimestamp":"t"}"#;
        for replayed in [false, true] {
            let outcome = PushOutcome {
                body: body.to_owned(),
                replayed,
            };
            let answer = Answer::from(Ok::<_, SyncError>(outcome));
            assert_eq!(
                (answer.status, answer.body.as_slice()),
                (200, body.as_bytes())
            );
        }
    }

    #[test]
    fn a_failed_call_answers_with_its_error() {
        let failed: Result<PushOutcome, SyncError> = Err(SyncError::bad_request("not a push"));
        let answer = Answer::from(failed);
        assert_eq!(answer.status, 400);
        assert_eq!(
            parsed(&answer),
            json!({ "success": false, "error": {
                "code": "bad_request", "message": "not a push", "details": [] } })
        );
    }

    #[test]
    fn a_transport_s_own_refusals_have_the_spec_section_4_body() {
        let answer = Answer::unauthorized("unknown session");
        assert_eq!(answer.status, 401);
        assert_eq!(parsed(&answer)["error"]["code"], "unauthorized");
        assert_eq!(parsed(&answer)["error"]["message"], "unknown session");
    }

    #[test]
    fn a_refused_listener_may_come_back_later_unless_the_hub_shuts_down() {
        for full in [RegisterError::TenantFull, RegisterError::ClientFull] {
            let answer = Answer::from(full);
            assert_eq!(answer.status, 429);
            assert_eq!(parsed(&answer)["error"]["code"], "too_many_connections");
            assert_eq!(parsed(&answer)["error"]["message"], full.to_string());
        }
        let answer = Answer::from(RegisterError::ShuttingDown);
        assert_eq!(answer.status, 503);
        assert_eq!(parsed(&answer)["error"]["code"], "unavailable");
    }

    #[test]
    fn the_fallback_body_of_a_500_is_the_spec_section_4_body() {
        let fallback: Value = serde_json::from_slice(INTERNAL).unwrap_or_default();
        let expected = serde_json::to_value(SyncError::internal("x").body()).unwrap_or_default();
        assert_eq!(fallback, expected);
    }
}
