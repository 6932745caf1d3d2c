//! The data-lifecycle subcommands of SPEC §10 (`syncd reset-sync`, …). They run beside live
//! servers on the same database: what they change takes effect at the next request of every
//! instance, and with PostgreSQL they announce it on the backplane so that connected apps hear
//! of it at once.

use std::sync::Arc;

use syncd_hub::PgPublisher;
use syncd_model::{ClientId, Epoch, Notifier, SubjectId, TenantId};
pub use syncd_store::ResetScope;
use syncd_store::{LifecycleStore, Store};
use syncd_store_sea::SeaStore;

use crate::config::{Settings, SettingsError};
use crate::startup::{self, StartupError};

/// A `--tenant` value, checked like the server checks a token's tenant.
pub fn tenant_arg(value: &str) -> Result<TenantId, StartupError> {
    TenantId::parse(value)
        .map_err(|e| StartupError::Settings(SettingsError::Invalid(format!("--tenant: {e}"))))
}

/// `syncd reset-sync --tenant T | --all`: starts a new sync epoch, so that every cursor handed
/// out before is answered 410 `resync_required` and its app pulls from the start. The step
/// after restoring a database backup. Returns the lines to print.
pub async fn reset_sync(
    settings: Settings,
    scope: ResetScope,
) -> Result<Vec<String>, StartupError> {
    let store = startup::open_store(&settings).await?;
    let reset = store
        .reset_sync(&scope, syncd_model::Timestamp::now())
        .await?;
    let mut lines = reset_report(&scope, &reset);
    if let Some(publisher) = publisher(&store) {
        let mut resets = Vec::with_capacity(reset.len());
        for (tenant, epoch) in reset {
            let head = store.sync_state(&tenant).await?.head;
            resets.push((tenant, epoch, head));
        }
        publisher.reset(&resets);
        lines.push(flush(&publisher).await);
    }
    Ok(lines)
}

/// With PostgreSQL, what the command changes is announced on the backplane, so that running
/// servers tell their connected apps at once (SPEC §10); with SQLite apps learn of it at their
/// next pull.
fn publisher(store: &SeaStore) -> Option<Arc<PgPublisher>> {
    store.pg_pool().map(|pool| Arc::new(PgPublisher::new(pool)))
}

/// Sends what the command announced; the line to print says whether running servers heard.
async fn flush(publisher: &PgPublisher) -> String {
    match publisher.flush().await {
        Ok(n) => format!("{n} notices sent to running servers"),
        // The change itself is committed: apps learn of it at their next pull.
        Err(e) => format!(
            "running servers were not notified ({e}); connected apps learn of it at their next pull"
        ),
    }
}

fn reset_report(scope: &ResetScope, reset: &[(TenantId, Epoch)]) -> Vec<String> {
    let mut lines: Vec<String> = reset
        .iter()
        .map(|(tenant, epoch)| format!("tenant {tenant}: sync epoch {}", epoch.0))
        .collect();
    if *scope == ResetScope::All {
        lines.push(format!(
            "{} tenants reset; tenants created from now on start a new epoch too",
            reset.len()
        ));
    }
    lines
}

/// What `syncd erase` removes: a whole tenant, or one record of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EraseTarget {
    Tenant,
    Record { entity_type: String, id: String },
}

/// `syncd erase --tenant T [--type X --id ID]` (SPEC §10). A record becomes a thin tombstone
/// with `erased: true` that every app pulls; its history, conflicts and idempotency entries go.
/// A tenant loses every row and starts a new epoch. Returns the lines to print.
pub async fn erase(
    settings: Settings,
    tenant: TenantId,
    target: EraseTarget,
) -> Result<Vec<String>, StartupError> {
    let store = startup::open_store(&settings).await?;
    let registry = startup::load_registry(&settings)?;
    let publisher = publisher(&store);
    // The erasing write's event goes to the backplane, as a server's would.
    let notifier: Arc<dyn Notifier> = match &publisher {
        Some(publisher) => Arc::clone(publisher) as Arc<dyn Notifier>,
        None => Arc::new(syncd_model::NoopNotifier),
    };
    let engine = syncd_core::SyncEngine::new(
        store.clone(),
        registry,
        &syncd_conflict::StrategyRegistry::with_builtins(),
        notifier,
        settings.engine_config(),
    )?;
    let mut lines = erase_with(&engine, &store, publisher.as_deref(), tenant, target).await?;
    if let Some(publisher) = &publisher {
        lines.push(flush(publisher).await);
    }
    Ok(lines)
}

async fn erase_with(
    engine: &syncd_core::SyncEngine<SeaStore>,
    store: &SeaStore,
    publisher: Option<&PgPublisher>,
    tenant: TenantId,
    target: EraseTarget,
) -> Result<Vec<String>, StartupError> {
    let failed = |e: syncd_core::SyncError| {
        StartupError::Settings(SettingsError::Invalid(format!("erase: {e}")))
    };
    match target {
        EraseTarget::Tenant => {
            let epoch = engine.erase_tenant(&tenant).await.map_err(failed)?;
            if let Some(publisher) = publisher {
                let head = store.sync_state(&tenant).await?.head;
                publisher.reset(&[(tenant.clone(), epoch, head)]);
            }
            Ok(vec![format!(
                "tenant {tenant} erased; its apps start afresh in sync epoch {}",
                epoch.0
            )])
        }
        EraseTarget::Record { entity_type, id } => {
            let id = syncd_model::RecordId::parse(&id).map_err(|e| {
                StartupError::Settings(SettingsError::Invalid(format!("--id: {e}")))
            })?;
            let admin = syncd_core::Principal {
                roles: vec!["admin".into()],
                ..syncd_core::Principal::new(
                    tenant.clone(),
                    SubjectId::parse(OPERATOR).map_err(operator_error)?,
                    ClientId::parse(OPERATOR).map_err(operator_error)?,
                )
            };
            let erased = engine
                .erase_record(&admin, &entity_type, id)
                .await
                .map_err(failed)?;
            Ok(vec![format!(
                "{entity_type} {id} of tenant {tenant} erased{}; {} rows of history, conflicts and idempotency entries removed",
                if erased.now {
                    ""
                } else {
                    " (it was erased before)"
                },
                erased.traces
            )])
        }
    }
}

/// The subject and client the erasing write is recorded under.
const OPERATOR: &str = "syncd-erase";

fn operator_error(e: syncd_model::IdError) -> StartupError {
    StartupError::Settings(SettingsError::Invalid(format!("operator name: {e}")))
}

/// `syncd maintenance`: one run now (history and idempotency purge, tombstone thinning,
/// thin-tombstone retention), beside running servers; returns the lines to print.
pub async fn maintenance(settings: Settings) -> Result<Vec<String>, StartupError> {
    let store = startup::open_store(&settings).await?;
    let registry = startup::load_registry(&settings)?;
    let engine = syncd_core::SyncEngine::new(
        store,
        registry,
        &syncd_conflict::StrategyRegistry::with_builtins(),
        std::sync::Arc::new(syncd_model::NoopNotifier),
        settings.engine_config(),
    )?;
    let holder = format!("command-{}", uuid::Uuid::new_v4().simple());
    let report = engine
        .maintenance(&holder)
        .await
        .map_err(|e| StartupError::Settings(SettingsError::Invalid(format!("maintenance: {e}"))))?;
    Ok(match report {
        None => vec!["another instance is running maintenance now; nothing was done".into()],
        Some(r) => vec![
            format!("idempotency entries purged: {}", r.idempotency_entries),
            format!("versions purged: {}", r.versions),
            format!("tombstones thinned: {}", r.thinned_tombstones),
            format!("thin tombstones dropped: {}", r.dropped_tombstones),
            format!(
                "batches: {} of at most {} rows, {} ms",
                r.batches,
                settings.sync.maintenance_batch.max(1),
                r.millis
            ),
        ],
    })
}
