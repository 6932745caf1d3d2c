//! `GET /api/client/sync/ws` and `GET /ws`: the upgrade. A token in the header or `?token=` is
//! checked before the upgrade (a bad one is a 401 with the JSON body); without one the session
//! waits for an `authenticate` message.

use actix_web::{HttpRequest, HttpResponse, web};

use super::session::Session;
use crate::error::ApiError;
use crate::extract::{bearer, client_header, principal};
use crate::routes::query_pairs;
use crate::state::AppState;

pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = query_pairs(&req)?;
    let param = |name: &str| {
        query
            .iter()
            .find_map(|(k, v)| (k == name && !v.is_empty()).then(|| v.clone()))
    };
    // The header names the client first, then the query parameter (SPEC §1).
    let client_hint = client_header(&req)
        .map(str::to_owned)
        .or_else(|| param("clientId"));
    let token = bearer(&req).map(str::to_owned).or_else(|| param("token"));
    let admitted = match token {
        Some(token) => {
            let identity = state.auth.verify(&token)?;
            state
                .limiter
                .check(identity.tenant.as_str(), identity.subject.as_str())
                .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
            let expires_at = identity.expires_at;
            let registry = state.engine.registry();
            Some((
                principal(identity, client_hint.as_deref(), registry)?,
                expires_at,
            ))
        }
        None => None,
    };
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::BadRequest(format!("not a WebSocket upgrade: {e}")))?;
    let stream = stream.max_frame_size(state.settings.limits.ws_frame_bytes);
    let mut session = Session::new(state.into_inner(), session, client_hint);
    actix_web::rt::spawn(async move {
        session.run(stream, admitted).await;
    });
    Ok(response)
}
