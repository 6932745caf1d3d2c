//! The data-lifecycle subcommands of SPEC §10 (`syncd reset-sync`, …). They run beside live
//! servers on the same database: what they change takes effect at the next request of every
//! instance.

use syncd_model::{Epoch, TenantId};
use syncd_store::LifecycleStore;
pub use syncd_store::ResetScope;

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
    Ok(reset_report(&scope, &reset))
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
