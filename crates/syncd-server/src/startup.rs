//! Building and running the server: `build(settings)` binds the listener (port 0 works for
//! tests) and `run_until_stopped` serves until SIGTERM/SIGINT.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use syncd_conflict::StrategyRegistry;
use syncd_core::{StrategyConfigError, SyncEngine};
use syncd_hub::{Hub, HubConfig, PgBackplane};
use syncd_model::{ConfigError, EntitiesFile, Registry};
use syncd_store::StoreError;
use syncd_store_sea::{SeaStore, StoreOptions};
use tracing_actix_web::TracingLogger;

use crate::auth::{AuthConfigError, Authenticator};
use crate::config::{Settings, SettingsError};
use crate::rate_limit::Limiter;
use crate::routes::{self, admin, crud, lifecycle, ops, sync};
use crate::state::{AppState, StoreRecords};
use crate::{telemetry, ws};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Entities(#[from] ConfigError),
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("indexes of the visibility rules: {0}")]
    Visibility(String),
    #[error("conflict strategies: {0}")]
    Strategy(#[from] StrategyConfigError),
    #[error("backplane (LISTEN/NOTIFY): {0}")]
    Backplane(String),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        #[source]
        source: std::io::Error,
    },
}

/// The entity registry: the built-in types plus those of the entities file, if configured.
pub fn load_registry(settings: &Settings) -> Result<Registry, StartupError> {
    let mut builder = Registry::builder().with_builtins();
    for (ty, rules) in &settings.sync.visibility {
        builder = builder.visibility(ty.clone(), rules.to_model());
    }
    match &settings.sync.entities_file {
        None => Ok(builder
            .build()
            .map_err(|e| StartupError::Settings(SettingsError::Invalid(e.to_string())))?),
        Some(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| {
                StartupError::Settings(SettingsError::Read {
                    file: name.clone(),
                    source,
                })
            })?;
            Ok(EntitiesFile::parse(&name, &text)?.build_registry(builder)?)
        }
    }
}

/// Checks the configuration, entities file, key and strategies without opening the database.
pub fn check(settings: &Settings) -> Result<Registry, StartupError> {
    let registry = load_registry(settings)?;
    Authenticator::new(&settings.auth, None)?;
    let strategies = StrategyRegistry::with_builtins();
    let config = settings.engine_config();
    config.strategy_per_type(&registry, &strategies)?;
    for name in config.strategy_overrides.keys() {
        if registry.get(name).is_none() {
            return Err(StartupError::Settings(SettingsError::Invalid(format!(
                "[sync.strategies] names `{name}`, which is not a registered entity type"
            ))));
        }
    }
    Ok(registry)
}

/// Opens the database and runs the migrations.
pub async fn open_store(settings: &Settings) -> Result<SeaStore, StartupError> {
    let options = StoreOptions {
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_millis(settings.database.acquire_timeout_ms),
        statement_timeout: Duration::from_millis(settings.database.statement_timeout_ms),
        ..StoreOptions::default()
    };
    let store = SeaStore::connect(&settings.database.url, options).await?;
    store.migrate().await?;
    Ok(store)
}

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

/// Builds the whole server from settings: registry, key, database (migrated), engine, routes,
/// listener.
pub async fn build(settings: Settings) -> Result<Application, StartupError> {
    telemetry::init_metrics();
    let open_files = crate::limits::raise_open_file_limit();
    let registry = load_registry(&settings)?;
    let auth = Authenticator::new(&settings.auth, None)?;
    let store = open_store(&settings).await?;
    warn_if_queue_below_push(&settings);
    let hub = build_hub(&settings, &store, &registry).await?;
    let engine = Arc::new(SyncEngine::new(
        store,
        registry,
        &StrategyRegistry::with_builtins(),
        hub.clone(),
        settings.engine_config(),
    )?);
    engine
        .index_visibility_fields()
        .await
        .map_err(|e| StartupError::Visibility(crate::error::error_chain(&e)))?;
    let (listener, port) = bind(&settings)?;
    let state = web::Data::new(AppState {
        engine,
        hub,
        auth: Arc::new(auth),
        limiter: Arc::new(Limiter::new(
            settings.limits.requests_per_second,
            settings.limits.burst,
        )),
        settings: Arc::new(settings.clone()),
    });
    let server = serve(&settings, state.clone(), listener, open_files)?;
    Ok(Application {
        port,
        server,
        state,
    })
}

fn warn_if_queue_below_push(settings: &Settings) {
    if settings.limits.ws_queue_events <= settings.limits.max_changes_per_push {
        tracing::warn!(
            ws_queue_events = settings.limits.ws_queue_events,
            max_changes_per_push = settings.limits.max_changes_per_push,
            "one push can queue more events than a WebSocket connection holds: includeData \
             subscribers will get resync_required even when they keep up"
        );
    }
}

/// The notification hub; on PostgreSQL joined to the other instances through the backplane.
async fn build_hub(
    settings: &Settings,
    store: &SeaStore,
    registry: &Registry,
) -> Result<Arc<Hub>, StartupError> {
    let hub_config = HubConfig {
        queue_capacity: settings.limits.ws_queue_events.max(1),
        max_connections_per_tenant: settings.limits.ws_connections_per_tenant,
        max_connections_per_client: settings.limits.ws_connections_per_client,
    };
    Ok(match store.pg_pool() {
        Some(pool) => {
            let listening = PgBackplane::listen(pool)
                .await
                .map_err(|e| StartupError::Backplane(e.to_string()))?;
            let records = Arc::new(StoreRecords::new(store.clone(), registry.clone()));
            Hub::connected(hub_config, records, |hub| listening.start(hub))
        }
        None => Hub::new(hub_config),
    })
}

/// The listener on `server.bind` and the port it got (`:0` picks a free one).
fn bind(settings: &Settings) -> Result<(TcpListener, u16), StartupError> {
    let bind_error = |source| StartupError::Bind {
        bind: settings.server.bind.clone(),
        source,
    };
    let listener = TcpListener::bind(&settings.server.bind).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    Ok((listener, port))
}

/// The HTTP server over every route, the console and the API docs, running on `listener`.
fn serve(
    settings: &Settings,
    state: web::Data<AppState>,
    listener: TcpListener,
    open_files: Option<u64>,
) -> Result<Server, StartupError> {
    let (_, connections_per_worker) = crate::limits::connection_cap(settings, open_files);
    let openapi = crate::openapi::document(state.engine.registry());
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(crate::fallback::json_errors))
            .wrap(from_fn(telemetry::track_requests))
            .wrap(TracingLogger::default())
            .service(docs_page(&openapi))
            .configure(crate::console::configure)
            .configure(configure)
    })
    .disable_signals()
    .client_request_timeout(Duration::from_millis(settings.server.header_timeout_ms))
    .max_connections(connections_per_worker)
    .shutdown_timeout(settings.server.shutdown_timeout_secs);
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    let server = server
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            bind: settings.server.bind.clone(),
            source,
        })?;
    Ok(server.run())
}

/// The background maintenance of a running server: a run every `sync.maintenance_interval_secs`
/// (the first one interval after the start), exclusive across the instances on one database.
async fn scheduled_maintenance(state: web::Data<AppState>) {
    let secs = state.settings.sync.maintenance_interval_secs;
    if secs == 0 {
        return;
    }
    let holder = format!("instance-{}", uuid::Uuid::new_v4().simple());
    let period = std::time::Duration::from_secs(secs);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.engine.maintenance(&holder).await {
            Ok(Some(_)) => {}
            Ok(None) => tracing::debug!("maintenance skipped: another instance is running it"),
            Err(e) => {
                tracing::warn!(error = %crate::error::error_chain(&e), "maintenance failed")
            }
        }
    }
}

/// `GET /openapi.json` and the Swagger UI at `/docs/`, with every asset inside the binary.
fn docs_page(openapi: &serde_json::Value) -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
        .external_url_unchecked("/openapi.json", openapi.clone())
}

/// Every route of the API. Public so an embedding service can mount syncd in its own app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let resource =
        |path: &str| web::resource(path).default_service(web::to(routes::method_not_allowed));
    cfg.service(resource("/healthz").route(web::get().to(ops::healthz)))
        .service(resource("/readyz").route(web::get().to(ops::readyz)))
        .service(resource("/metrics").route(web::get().to(ops::metrics)))
        .service(resource("/ws").route(web::get().to(ws::upgrade)))
        .service(resource("/docs").route(web::get().to(ops::docs_redirect)))
        .service(
            web::scope("/api/client/sync")
                .service(resource("/ws").route(web::get().to(ws::upgrade)))
                .service(resource("/push").route(web::post().to(sync::push)))
                .service(resource("/pull").route(web::post().to(sync::pull)))
                .service(resource("/pull-pending").route(web::post().to(sync::pull_pending)))
                .service(resource("/verify").route(web::post().to(lifecycle::verify)))
                .service(resource("/conflicts").route(web::get().to(sync::conflicts)))
                .service(
                    resource("/conflicts/{id}/resolve")
                        .route(web::post().to(sync::resolve_conflict)),
                )
                .default_service(web::to(routes::not_found)),
        )
        .service(resource("/api/admin/stats").route(web::get().to(admin::stats)))
        .service(
            resource("/api/admin/records/{type}/{id}").route(web::delete().to(lifecycle::erase)),
        )
        .service(
            resource("/api/{type}")
                .route(web::get().to(crud::list))
                .route(web::post().to(crud::create))
                .route(web::put().to(crud::update))
                .route(web::delete().to(crud::delete_by_query)),
        )
        .service(
            resource("/api/{type}/{id}")
                .route(web::get().to(crud::get_one))
                .route(web::delete().to(crud::delete_one)),
        )
        .service(resource("/api/{type}/{id}/history").route(web::get().to(crud::history)))
        .default_service(web::to(routes::not_found));
}

impl Application {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &web::Data<AppState> {
        &self.state
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight requests finish and
    /// returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let hub = self.state.hub.clone();
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: closing WebSockets, draining in-flight requests");
            hub.shutdown();
            handle.stop(true).await;
        });
        let state = self.state.clone();
        let shrink = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                state.limiter.shrink();
            }
        });
        let maintenance = tokio::spawn(scheduled_maintenance(self.state.clone()));
        let result = self.server.await;
        signals.abort();
        shrink.abort();
        maintenance.abort();
        result
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
