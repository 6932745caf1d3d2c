//! Operations endpoints: liveness, readiness, metrics.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// How long readiness waits for the database: a probe must get its answer within a second even
/// when the database does not answer at all (a partition, a frozen host).
const READY_TIMEOUT: Duration = Duration::from_millis(750);

/// The database answers and is migrated; 503 within [`READY_TIMEOUT`] otherwise.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.engine.ready()).await {
        Ok(ready) => ready?,
        Err(_) => {
            return Err(ApiError::Sync(syncd_core::SyncError::Unavailable(
                syncd_store::StoreError::unavailable("the readiness check timed out"),
            )));
        }
    }
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

/// Prometheus text format.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::telemetry::render_metrics())
}

/// `/docs` without the slash: the page's assets are relative to `/docs/`.
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}
