//! The data-lifecycle routes of SPEC §10: the integrity check.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use syncd_core::entity_types;

use crate::error::ApiError;
use crate::extract::{Caller, JsonBody};
use crate::routes::page;
use crate::state::AppState;

/// `POST /api/client/sync/verify` `{ "entityTypes": [...] }`: count and checksum of the live
/// records of each type, at the returned cursor.
pub async fn verify(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let Value::Object(body) = body.0 else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    };
    let types = entity_types(body.get("entityTypes"))?;
    let response = state.engine.verify(&caller.0, types.as_deref()).await?;
    page(&response, 0)
}
