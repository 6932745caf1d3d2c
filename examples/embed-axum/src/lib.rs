//! The syncd core inside an axum service of its own: the service's session header decides who
//! calls, its own entity types and conflict rule are registered in code, and push, pull and a
//! server-sent events stream of notifications go through the engine. No actix anywhere.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::Value;
use syncd_conflict::{ConflictStrategy, Context, Resolution, ResultStatus, StrategyRegistry};
use syncd_core::{EngineConfig, Principal, PullRequest, SyncEngine, SyncError};
use syncd_hub::{Hub, HubConfig, Outgoing};
use syncd_model::{
    ClientId, EntityType, EntityTypeName, FieldSchema, FieldType, Registry, SubjectId, TenantId,
};
use syncd_store_sea::{SeaStore, StoreOptions};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

// The service's data: two entity types and a conflict rule of its own.

/// Projects, and tasks that belong to one: `project_id` must name a project of the same tenant,
/// existing or created earlier in the same push.
pub fn registry() -> Result<Registry, BoxError> {
    let projects = EntityTypeName::parse("projects")?;
    let tasks = EntityType::builder(EntityTypeName::parse("tasks")?)
        .field("title", FieldSchema::new(FieldType::String).required())
        .field(
            "done",
            FieldSchema::new(FieldType::Bool).default_value(false),
        )
        .field(
            "project_id",
            FieldSchema::new(FieldType::Uuid).references(projects.clone()),
        )
        .strategy(DoneStaysDone.name())
        .build();
    let projects = EntityType::builder(projects)
        .field("name", FieldSchema::new(FieldType::String).required())
        .build();
    Ok(Registry::builder()
        .register(projects)
        .register(tasks)
        .build()?)
}

/// On a conflict the client's fields win, except that a task done on the server stays done.
pub struct DoneStaysDone;

impl ConflictStrategy for DoneStaysDone {
    fn name(&self) -> &str {
        "done-stays-done"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        let differing = ctx.differing_fields();
        let mut resolution =
            syncd_conflict::take_client(ctx, ResultStatus::ConflictResolved, differing);
        let done = ctx
            .server
            .is_some_and(|s| s.data.get("done") == Some(&Value::Bool(true)));
        if let Resolution::Write { patch, .. } = &mut resolution
            && done
        {
            patch.remove("done");
        }
        resolution
    }
}

// Demo data: the sessions a real service would find in its own database.

/// Demo sessions: (token, tenant, user, device). Alice and Bob share tenant `acme`.
pub const SESSIONS: &[[&str; 4]] = &[
    ["s-alice", "acme", "alice", "alice-phone"],
    ["s-bob", "acme", "bob", "bob-laptop"],
    ["s-carol", "globex", "carol", "carol-tablet"],
];

/// The demo sessions as the service looks them up.
pub fn demo_sessions() -> Result<Sessions, BoxError> {
    let mut sessions = Sessions::new();
    for [token, tenant, user, device] in SESSIONS {
        let caller = Principal::new(
            TenantId::parse(*tenant)?,
            SubjectId::parse(*user)?,
            ClientId::parse(*device)?,
        );
        sessions.insert(token.to_string(), caller);
    }
    Ok(sessions)
}

// The glue: the engine behind this service's authentication, routes and errors.

/// This service's sessions: token → caller. A real service keeps them in its own database.
pub type Sessions = HashMap<String, Principal>;

type Reply<T> = Result<T, (StatusCode, String)>;

#[derive(Clone)]
struct App {
    engine: Arc<SyncEngine<SeaStore>>,
    hub: Arc<Hub>,
    sessions: Arc<Sessions>,
}

/// The service on `database_url`, for these sessions.
pub async fn app(database_url: &str, sessions: Sessions) -> Result<Router, BoxError> {
    let store = SeaStore::connect(database_url, StoreOptions::default()).await?;
    store.migrate().await?;
    let mut strategies = StrategyRegistry::with_builtins();
    strategies.register(Arc::new(DoneStaysDone));
    let hub = Hub::new(HubConfig::default());
    let config = EngineConfig::default();
    let engine = SyncEngine::new(store, registry()?, &strategies, hub.clone(), config)?;
    let (engine, sessions) = (Arc::new(engine), Arc::new(sessions));
    let routes = Router::new()
        .route("/sync/push", post(push))
        .route("/sync/pull", post(pull))
        .route("/sync/events", get(events));
    Ok(routes.with_state(App {
        engine,
        hub,
        sessions,
    }))
}

/// This service's own scheme: the `X-Session` header names a session.
fn caller<'a>(app: &'a App, headers: &HeaderMap) -> Reply<&'a Principal> {
    let token = headers.get("x-session").and_then(|v| v.to_str().ok());
    let unknown = (StatusCode::UNAUTHORIZED, "unknown session".to_owned());
    app.sessions.get(token.unwrap_or_default()).ok_or(unknown)
}

async fn push(State(app): State<App>, h: HeaderMap, Json(body): Json<Value>) -> Reply<Response> {
    let caller = caller(&app, &h)?;
    let key = h.get("idempotency-key").and_then(|v| v.to_str().ok());
    let outcome = app.engine.push(caller, body, key).await.map_err(fail)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], outcome.body).into_response())
}

async fn pull(State(app): State<App>, h: HeaderMap, Json(body): Json<Value>) -> Reply<Response> {
    let caller = caller(&app, &h)?;
    let request = PullRequest::from_json(&body).map_err(fail)?;
    let page = app.engine.pull(caller, &request).await.map_err(fail)?;
    Ok(Json(page).into_response())
}

/// Every hub message for the caller (its tenant, the types it may read) as a server-sent event.
async fn events(State(app): State<App>, h: HeaderMap) -> Reply<Sse<impl Stream<Item = Sent>>> {
    let caller = caller(&app, &h)?;
    let readable = app.engine.readable_types(caller);
    let readable = readable.iter().map(|t| t.name.clone()).collect();
    let head = app.engine.head(caller).await.map_err(fail)?;
    let (tenant, client) = (caller.tenant.clone(), caller.client.clone());
    let conn = app.hub.register(tenant, client, readable, head);
    let conn = conn.map_err(|e| (StatusCode::TOO_MANY_REQUESTS, e.to_string()))?;
    // The connection lives as long as the stream: dropping it unregisters it.
    let batches = stream::unfold(conn, |c| async { Some((c.next_batch().await, c)) });
    let events = batches.flat_map(stream::iter).filter_map(event);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

type Sent = Result<Event, Infallible>;

/// A hub message as an event. (`GoingAway` comes only after `Hub::shutdown`, never called here.)
async fn event(message: Outgoing) -> Option<Sent> {
    match message {
        Outgoing::Message(text) => Some(Ok(Event::default().data(String::from_utf8_lossy(&text)))),
        Outgoing::GoingAway => None,
    }
}

/// How this service answers the engine's errors.
fn fail(e: SyncError) -> (StatusCode, String) {
    let status = match &e {
        SyncError::BadRequest { .. } => StatusCode::BAD_REQUEST,
        SyncError::Forbidden(_) | SyncError::ForbiddenChanges { .. } => StatusCode::FORBIDDEN,
        SyncError::NotFound(_) => StatusCode::NOT_FOUND,
        SyncError::VersionConflict(_) => StatusCode::CONFLICT,
        SyncError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        SyncError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        SyncError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        SyncError::ResyncRequired(_) => StatusCode::GONE,
        SyncError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        SyncError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    // A push's problems, one line per change, after the summary.
    let mut message = e.to_string();
    if let SyncError::Invalid { details, .. } | SyncError::BadRequest { details, .. } = &e {
        for d in details {
            let field = d.field.as_deref().unwrap_or("-");
            message += &format!("\nchange {} {field}: {}", d.index, d.message);
        }
    }
    (status, message)
}
