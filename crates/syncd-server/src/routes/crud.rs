//! `/api/{type}`: REST CRUD for every registered entity type.

use actix_web::{HttpRequest, HttpResponse, web};
use syncd_core::ListParams;

use crate::error::ApiError;
use crate::extract::{Caller, JsonBody};
use crate::routes::{Envelope, ok, page, query_pairs};
use crate::state::AppState;

fn flag(value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ApiError::BadRequest(format!(
            "`{other}` is not true or false"
        ))),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut params = ListParams::default();
    for (key, value) in query_pairs(&req)? {
        match key.as_str() {
            "limit" => {
                params.limit = Some(
                    value
                        .parse()
                        .map_err(|_| ApiError::BadRequest("`limit` must be an integer".into()))?,
                )
            }
            "cursor" => params.cursor = Some(value),
            "search" => params.search = Some(value),
            "includeDeleted" => params.include_deleted = flag(&value)?,
            _ => params.filters.push((key, value)),
        }
    }
    let list = state
        .engine
        .list(&caller.0, &path.into_inner(), &params)
        .await?;
    page(&list, list.records.len())
}

pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (entity_type, id) = path.into_inner();
    let record = state.engine.get(&caller.0, &entity_type, &id).await?;
    Ok(ok(record))
}

pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let written = state
        .engine
        .create(&caller.0, &path.into_inner(), body.0)
        .await?;
    Ok(HttpResponse::Created().json(Envelope::data(written)))
}

pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let written = state
        .engine
        .update(&caller.0, &path.into_inner(), body.0)
        .await?;
    Ok(ok(written))
}

pub async fn delete_by_query(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = query_pairs(&req)?
        .into_iter()
        .find_map(|(k, v)| (k == "id").then_some(v))
        .ok_or_else(|| ApiError::BadRequest("DELETE /api/{type} needs ?id=…".into()))?;
    let data = state
        .engine
        .delete(&caller.0, &path.into_inner(), &id)
        .await?;
    Ok(ok(data))
}

pub async fn delete_one(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (entity_type, id) = path.into_inner();
    let data = state.engine.delete(&caller.0, &entity_type, &id).await?;
    Ok(ok(data))
}

pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (entity_type, id) = path.into_inner();
    let data = state.engine.history(&caller.0, &entity_type, &id).await?;
    Ok(ok(data))
}
