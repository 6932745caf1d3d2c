//! HTTP routes. Sync routes are registered before the generic `/api/{type}` ones so they take
//! precedence.

pub mod admin;
pub mod crud;
pub mod ops;
pub mod sync;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::error::ApiError;

/// `{"success": true, "data": …}`.
#[derive(Serialize)]
pub struct Envelope<T> {
    success: bool,
    data: T,
}

impl<T> Envelope<T> {
    pub fn new(data: T) -> Self {
        Self {
            success: true,
            data,
        }
    }
}

/// A JSON response serialised into a buffer sized up front: a 10 000-record pull is megabytes,
/// and growing the buffer by doubling copies it over and over.
pub fn json_sized<T: Serialize>(value: &T, records: usize) -> Result<HttpResponse, ApiError> {
    let mut body = Vec::with_capacity(256 + records * 400);
    serde_json::to_writer(&mut body, value)
        .map_err(|e| ApiError::BadRequest(format!("the answer could not be encoded: {e}")))?;
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
