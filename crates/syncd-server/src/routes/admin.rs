//! `/api/admin/*`: routes for the `admin` role, acting on the caller's tenant.

use actix_web::{HttpResponse, web};
use syncd_core::LiveFigures;

use crate::error::ApiError;
use crate::extract::Caller;
use crate::routes::ok;
use crate::state::AppState;

/// `GET /api/admin/stats`: the figures of the console's Activity page (SPEC §13).
pub async fn stats(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let tenant = &caller.0.tenant;
    let live = LiveFigures {
        connections: state.hub.tenant_connections(tenant) as u64,
        resyncs: state.hub.tenant_resyncs(tenant),
    };
    let stats = state.engine.stats(&caller.0, live).await?;
    Ok(ok(stats))
}
