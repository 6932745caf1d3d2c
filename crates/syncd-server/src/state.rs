//! What every handler shares.

use std::sync::Arc;

use actix_web::{HttpRequest, web};
use syncd_core::SyncEngine;
use syncd_hub::Hub;
use syncd_model::Registry;
use syncd_store_sea::SeaStore;

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::error::ApiError;
use crate::rate_limit::Limiter;

pub type Engine = SyncEngine<SeaStore>;

/// Shared by all workers.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub auth: Arc<Authenticator>,
    pub limiter: Arc<Limiter>,
    pub settings: Arc<Settings>,
    pub hub: Arc<Hub>,
}

impl AppState {
    pub fn of(req: &HttpRequest) -> Result<&AppState, ApiError> {
        req.app_data::<web::Data<AppState>>()
            .map(|d| d.get_ref())
            .ok_or(ApiError::Unavailable)
    }
}

/// Reads the records of events from other instances, for `data_update`: the store and the
/// registry, given to the hub when it is built (the hub never reaches back into the engine).
pub struct StoreRecords {
    store: SeaStore,
    registry: Registry,
}

impl StoreRecords {
    pub fn new(store: SeaStore, registry: Registry) -> Self {
        Self { store, registry }
    }
}

#[async_trait::async_trait]
impl syncd_hub::RecordSource for StoreRecords {
    async fn records(
        &self,
        tenant: &syncd_model::TenantId,
        after: syncd_model::Seq,
        upto: syncd_model::Seq,
        types: &[syncd_model::EntityTypeName],
    ) -> Vec<syncd_model::RecordChange> {
        use syncd_model::{RecordAction, RecordChange, Version};
        use syncd_store::{ChangesQuery, Since, Store};
        let query = ChangesQuery {
            since: Since::Seq(after),
            entity_types: types.to_vec(),
            limit: usize::try_from(upto.0 - after.0).unwrap_or(0).max(1),
            visibility: Vec::new(),
        };
        let page = match self.store.changes(tenant, &query).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %crate::error::error_chain(&e), "could not read the records of a remote event");
                return Vec::new();
            }
        };
        page.records
            .into_iter()
            .filter(|r| r.seq <= upto)
            .filter_map(|r| {
                let ty = self.registry.get(r.entity_type.as_str())?;
                let action = if r.deleted {
                    RecordAction::Delete
                } else if r.version == Version::INITIAL {
                    RecordAction::Create
                } else {
                    RecordAction::Update
                };
                Some(RecordChange {
                    entity_type: r.entity_type.clone(),
                    id: r.id,
                    rule_fields: ty.visibility.fields_of(&r.data),
                    // Read back after the fact: the state before the write is not known here.
                    rule_fields_before: None,
                    action,
                    seq: r.seq,
                    record: r.to_raw(ty),
                })
            })
            .collect()
    }
}
