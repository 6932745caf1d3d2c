//! The data-lifecycle routes of SPEC §10: the integrity check and erasure.

use actix_web::{HttpResponse, web};
use syncd_core::{SyncError, entity_types};
use syncd_model::RecordId;

use crate::error::ApiError;
use crate::extract::{Caller, JsonBody};
use crate::routes::{ok, page};
use crate::state::AppState;

/// `POST /api/client/sync/verify` `{ "entityTypes": [...] }`: count and checksum of the live
/// records of each type, at the returned cursor.
pub async fn verify(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_object()?;
    let types = entity_types(body.get("entityTypes"))?;
    let response = state.engine.verify(&caller.0, types.as_deref()).await?;
    page(&response, 0)
}

/// `DELETE /api/admin/records/{type}/{id}` (role `admin`, the caller's tenant): erases the
/// record. 200 `{ "id", "erased": true }`, again for an id already erased; 404 for an id absent
/// from the tenant.
pub async fn erase(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (entity_type, id) = path.into_inner();
    if !caller.0.is_admin() {
        return Err(
            SyncError::Forbidden("erasure needs a token with the `admin` role".into()).into(),
        );
    }
    // Not a UUID: no record of the tenant has this id.
    let id = RecordId::parse(&id)
        .map_err(|_| ApiError::NotFound(format!("{entity_type} {id} not found")))?;
    let erased = state
        .engine
        .erase_record(&caller.0, &entity_type, id)
        .await?;
    Ok(ok(serde_json::json!({ "id": erased.id, "erased": true })))
}
