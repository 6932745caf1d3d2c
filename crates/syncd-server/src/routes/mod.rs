//! HTTP routes. Sync routes are registered before the generic `/api/{type}` ones so they take
//! precedence.

pub mod admin;
pub mod crud;
pub mod lifecycle;
pub mod ops;
pub mod sync;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::error::ApiError;

pub use syncd_core::Envelope;

/// `200 {"success": true, "data": data}`.
pub fn ok<T: Serialize>(data: T) -> HttpResponse {
    HttpResponse::Ok().json(Envelope::data(data))
}

/// A page (pull, list) as `200 {"success": true, …page}` ([`Envelope::page_json`]). A page
/// that cannot be encoded is a bug (500), never the client's fault.
pub fn page<T: Serialize>(page: &T, records: usize) -> Result<HttpResponse, ApiError> {
    let body = Envelope::flat(page)
        .page_json(records)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body))
}

/// Any path that matches no route.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// A known path with a method it does not serve.
pub async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// Query-string pairs; a malformed query string is a 400.
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))
}
