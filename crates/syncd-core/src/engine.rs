//! The engine value: registry, strategies, store and notifier put together.

use std::collections::HashMap;
use std::sync::Arc;

use syncd_conflict::{ConflictStrategy, StrategyRegistry, UnknownStrategy};
use syncd_model::{Cursor, EntityType, Listener, Notifier, Registry};
use syncd_store::{Store, StoreError};

use crate::config::{EngineConfig, StrategyConfigError};
use crate::error::{Result, SyncError};
use crate::principal::Principal;

/// The sync engine embedding services use. Generic over the storage; knows nothing of HTTP or
/// tokens: callers hand it an authenticated [`Principal`].
pub struct SyncEngine<S> {
    pub(crate) store: S,
    pub(crate) registry: Registry,
    pub(crate) strategies: HashMap<String, Arc<dyn ConflictStrategy>>,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) config: EngineConfig,
    pub(crate) activity: Arc<crate::stats::activity::Activity>,
    /// Pushes waiting for their tenant's next group commit.
    pub(crate) groups: crate::push::queue::GroupQueue,
}

/// Why [`SyncEngine::start`] did not give an engine: its configuration names a strategy that
/// does not exist, or the store could not index the fields visibility rules read.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Strategy(#[from] StrategyConfigError),
    #[error("indexing the fields visibility rules read")]
    Store(#[source] StoreError),
}

impl<S: Store> SyncEngine<S> {
    /// [`SyncEngine::new`], then [`SyncEngine::index_visibility_fields`]: an engine ready to
    /// serve, restricted pulls index-driven from the first one. Call it once the store is
    /// migrated; a misspelt strategy name or a failing store stops the start.
    pub async fn start(
        store: S,
        registry: Registry,
        strategies: &StrategyRegistry,
        notifier: Arc<dyn Notifier>,
        config: EngineConfig,
    ) -> Result<Self, StartError> {
        let engine = Self::new(store, registry, strategies, notifier, config)?;
        engine
            .visibility_indexes()
            .await
            .map_err(StartError::Store)?;
        Ok(engine)
    }

    /// Builds an engine, resolving each type's strategy now so that a misspelt name stops the
    /// start instead of failing a push.
    pub fn new(
        store: S,
        registry: Registry,
        strategies: &StrategyRegistry,
        notifier: Arc<dyn Notifier>,
        config: EngineConfig,
    ) -> Result<Self, StrategyConfigError> {
        for name in config.strategy_overrides.keys() {
            if registry.get(name).is_none() {
                return Err(StrategyConfigError {
                    entity_type: name.clone(),
                    source: UnknownStrategy {
                        name: format!("(override for unregistered type `{name}`)"),
                        known: registry
                            .names()
                            .map(|n| n.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    },
                });
            }
        }
        let by_type = config.strategy_per_type(&registry, strategies)?;
        let activity = Arc::new(crate::stats::activity::Activity::default());
        let notifier = Arc::new(crate::stats::activity::CountingNotifier {
            inner: notifier,
            activity: Arc::clone(&activity),
        });
        Ok(Self {
            store,
            registry,
            strategies: by_type,
            notifier,
            config,
            activity,
            groups: crate::push::queue::GroupQueue::default(),
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The strategy name in force for a type.
    pub fn strategy_name(&self, entity_type: &str) -> Option<&str> {
        self.strategies.get(entity_type).map(|s| s.name())
    }

    pub(crate) fn strategy(&self, ty: &EntityType) -> Result<&Arc<dyn ConflictStrategy>> {
        self.strategies
            .get(ty.name.as_str())
            .ok_or_else(|| SyncError::internal(format!("no strategy resolved for `{}`", ty.name)))
    }

    /// A registered type the caller may read.
    pub(crate) fn readable_type(&self, p: &Principal, name: &str) -> Result<&Arc<EntityType>> {
        let ty = self
            .registry
            .get(name)
            .ok_or_else(|| SyncError::unknown_type(name))?;
        if !p.scopes.can_read(name) {
            return Err(SyncError::Forbidden(format!(
                "the token may not read `{name}`"
            )));
        }
        Ok(ty)
    }

    /// Every type the caller may read, in registry order.
    pub fn readable_types(&self, p: &Principal) -> Vec<Arc<EntityType>> {
        self.registry
            .iter()
            .filter(|t| p.scopes.can_read(t.name.as_str()))
            .cloned()
            .collect()
    }

    /// The tenant's head: what a client has seen once it pulled up to here.
    pub async fn head(&self, p: &Principal) -> Result<Cursor> {
        let state = self.sync_state(p).await?;
        Ok(self.cursor_for(p, state.epoch, state.head))
    }

    /// The caller as a listener for notifications: its tenant and client, the types it may read,
    /// what it sees of the restricted ones and the tenant's head to start from. The hub admits it
    /// with `syncd_hub::Hub::admit` and filters every event by it, so nothing reaches the caller
    /// that a pull would not show it.
    pub async fn listener(&self, p: &Principal) -> Result<Listener> {
        let readable = self
            .readable_types(p)
            .iter()
            .map(|t| t.name.clone())
            .collect();
        Ok(Listener {
            tenant: p.tenant.clone(),
            client: p.client.clone(),
            readable,
            access: self.access_by_type(p),
            cursor: self.head(p).await?,
        })
    }

    /// Creates the store's indexes for the fields visibility rules read (if missing), so that
    /// restricted pulls stay index-driven. Call once at start, after migrating.
    pub async fn index_visibility_fields(&self) -> Result<()> {
        Ok(self.visibility_indexes().await?)
    }

    /// The store's answer itself, so that [`SyncEngine::start`] keeps it as its cause.
    async fn visibility_indexes(&self) -> Result<(), StoreError> {
        let fields = self.registry.visibility_fields();
        self.store.index_visibility_fields(&fields).await
    }

    /// Readiness: the database answers and is migrated.
    pub async fn ready(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// An idempotency entry younger than the key lifetime (24 h by default). Older entries are
    /// ignored even before the purge removes them; the new push then replaces them.
    pub(crate) fn idempotency_live(&self, entry: &syncd_store::IdempotencyEntry) -> bool {
        let cutoff = syncd_model::Timestamp::now().plus_millis(-self.config.idempotency_ttl_ms);
        entry.created_at > cutoff
    }

    /// Forgets idempotency keys past their time and versions past the history window.
    pub async fn purge(&self) -> Result<syncd_store::PurgeStats> {
        let now = syncd_model::Timestamp::now();
        Ok(self
            .store
            .purge(
                now.plus_millis(-self.config.idempotency_ttl_ms),
                now.plus_millis(-self.config.history_window_ms()),
            )
            .await?)
    }
}
