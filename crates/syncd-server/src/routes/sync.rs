//! `/api/client/sync/*`: push, pull, pull-pending and conflicts.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;
use syncd_core::{PullRequest, entity_types};

use crate::error::ApiError;
use crate::extract::{Caller, JsonBody};
use crate::routes::{ok, page, query_pairs};
use crate::state::AppState;

pub async fn push(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let key =
        match req.headers().get("idempotency-key") {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| {
                ApiError::BadRequest("Idempotency-Key must be visible ASCII".into())
            })?),
        };
    let started = std::time::Instant::now();
    let outcome = state.engine.push(&caller.0, body.0, key).await?;
    if !outcome.replayed {
        state
            .engine
            .activity()
            .record_push(&caller.0.tenant, started.elapsed());
    }
    let mut response = HttpResponse::Ok();
    if outcome.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(response
        .content_type(ContentType::json())
        .body(outcome.body))
}

pub async fn pull(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let request = PullRequest::from_json(&body.0)?;
    let response = state.engine.pull(&caller.0, &request).await?;
    page(&response, response.record_count())
}

pub async fn pull_pending(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_object()?;
    let mut types = entity_types(body.get("entityTypes"))?;
    match body.get("table") {
        None | Some(Value::Null) => {}
        Some(Value::String(table)) => types.get_or_insert_with(Vec::new).push(table.clone()),
        Some(_) => return Err(ApiError::BadRequest("`table` must be a string".into())),
    }
    let limit = match body.get("limit") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::BadRequest("`limit` must be an integer".into()))?,
        ),
    };
    let response = state
        .engine
        .pull_pending(&caller.0, types.as_deref(), limit)
        .await?;
    page(&response, response.record_count())
}

pub async fn conflicts(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut entity_type = None;
    let mut limit = None;
    for (key, value) in query_pairs(&req)? {
        match key.as_str() {
            "entityType" if !value.is_empty() => entity_type = Some(value),
            "limit" => {
                limit = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| ApiError::BadRequest("`limit` must be an integer".into()))?,
                )
            }
            _ => {}
        }
    }
    let data = state
        .engine
        .conflicts(&caller.0, entity_type.as_deref(), limit)
        .await?;
    Ok(ok(data))
}

pub async fn resolve_conflict(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let record = state
        .engine
        .resolve_conflict(&caller.0, &path.into_inner(), &body.0)
        .await?;
    Ok(ok(record))
}
