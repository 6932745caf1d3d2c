//! What every handler shares.

use std::sync::Arc;

use actix_web::{HttpRequest, web};
use syncd_core::SyncEngine;
use syncd_store_sea::SeaStore;

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::error::ApiError;
use crate::extract::Limiter;

pub type Engine = SyncEngine<SeaStore>;

/// Shared by all workers.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub auth: Arc<Authenticator>,
    pub limiter: Arc<Limiter>,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn of(req: &HttpRequest) -> Result<&AppState, ApiError> {
        req.app_data::<web::Data<AppState>>()
            .map(|d| d.get_ref())
            .ok_or(ApiError::Unavailable)
    }
}
