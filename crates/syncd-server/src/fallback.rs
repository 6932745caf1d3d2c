//! The SPEC §4 error body for errors syncd's handlers did not shape: responses that actix (an
//! extractor, a service it mounts) answered with an empty or non-JSON body. The status is kept;
//! the body says it in the same words as every other error.
//!
//! What this cannot reach: errors the HTTP parser answers before any service runs (a request
//! head too large → 431, a malformed head, a NUL or control byte in a header, a URI over
//! 64 KiB → 400, a head not sent in time → 408). actix writes those itself, without a body;
//! docs/api.md lists them.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use syncd_core::ErrorEnvelope;

use crate::error::ErrorCode;

/// The code a framework error of this status stands for.
fn code_for(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::CONFLICT => ErrorCode::VersionConflict,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_server_error() => ErrorCode::Internal,
        // Every other 4xx (400, 411, 414, 417, 431, …) is a request the server cannot use.
        _ => ErrorCode::BadRequest,
    }
}

fn is_json(response: &HttpResponse<impl MessageBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Middleware: an error response without a JSON body gets the SPEC §4 body, its status and its
/// other headers (`Allow`, `Retry-After`, …) kept.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let response = next.call(req).await?;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.response()) {
        return Ok(response.map_into_left_body());
    }
    let (req, original) = response.into_parts();
    let code = code_for(status);
    let message = match status.canonical_reason() {
        Some(reason) => reason.to_ascii_lowercase(),
        None => format!("HTTP status {}", status.as_u16()),
    };
    let mut shaped = HttpResponse::build(status);
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.append_header((name.clone(), value.clone()));
        }
    }
    if status == StatusCode::SERVICE_UNAVAILABLE
        && !original.headers().contains_key(header::RETRY_AFTER)
    {
        shaped.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
    }
    let body = ErrorEnvelope::new(code.as_str(), message, Vec::new());
    Ok(ServiceResponse::new(req, shaped.json(body)).map_into_right_body())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::middleware::from_fn;
    use actix_web::{App, test, web};

    use serde_json::json;

    use super::*;

    #[actix_web::test]
    async fn a_framework_error_without_a_body_gets_the_json_error_body() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(json_errors))
                .route(
                    "/empty",
                    web::get().to(|| async { HttpResponse::BadRequest().finish() }),
                )
                .route(
                    "/text",
                    web::get().to(|| async {
                        HttpResponse::NotFound()
                            .insert_header(("x-kept", "1"))
                            .body("plain words")
                    }),
                )
                .route(
                    "/json",
                    web::get().to(|| async {
                        HttpResponse::Conflict().json(json!({ "success": false, "mine": true }))
                    }),
                )
                .route(
                    "/path/{n}",
                    web::get().to(|n: web::Path<u32>| async move { n.to_string() }),
                ),
        )
        .await;
        for (path, status, code) in [
            ("/empty", 400, "bad_request"),
            ("/text", 404, "not_found"),
            ("/path/x", 404, "not_found"),
        ] {
            let res =
                test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
            assert_eq!(res.status().as_u16(), status, "{path}");
            let kept = res.headers().get("x-kept").is_some();
            let body: serde_json::Value = test::read_body_json(res).await;
            assert_eq!(body["success"], json!(false), "{path}: {body}");
            assert_eq!(body["error"]["code"], json!(code), "{path}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
            assert_eq!(kept, path == "/text");
        }
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/json").to_request()).await;
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["mine"], json!(true), "a JSON error is left as it is");
    }
}
