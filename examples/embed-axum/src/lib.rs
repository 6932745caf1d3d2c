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
use futures_util::stream::{Stream, StreamExt};
use serde_json::{Value, json};
use syncd_conflict::{ConflictStrategy, Context, Resolution, ResultStatus, StrategyRegistry};
use syncd_core::{EngineConfig, Envelope, Principal, PullRequest, SyncEngine, SyncError};
use syncd_hub::{Hub, HubConfig, RegisterError};
use syncd_model::{
    ClientId, EntityType, EntityTypeName, FieldSchema, FieldType, Registry, SubjectId, TenantId,
};
use syncd_store_sea::SeaStore;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

// The service's data: two entity types and a conflict rule of its own.

/// Projects, and tasks that belong to one: `project_id` must name a project of the same tenant,
/// existing or created earlier in the same push. A task is seen by its assignee only (its
/// `assignee` equals the caller's `sub` claim, the user id) and by managers.
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
        .field("assignee", FieldSchema::new(FieldType::String))
        .visible_when("assignee", "sub")
        .visibility_bypass_roles(["manager"])
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

/// Demo sessions: (token, tenant, user, device, roles). Alice, Bob and Dana share tenant `acme`;
/// Dana is its manager.
pub const SESSIONS: &[[&str; 5]] = &[
    ["s-alice", "acme", "alice", "alice-phone", ""],
    ["s-bob", "acme", "bob", "bob-laptop", ""],
    ["s-dana", "acme", "dana", "dana-desktop", "manager"],
    ["s-carol", "globex", "carol", "carol-tablet", ""],
];

/// The demo sessions as the service looks them up. `Principal::new` gives each the `sub` claim
/// (the user id) that the tasks' visibility rule reads.
pub fn demo_sessions() -> Result<Sessions, BoxError> {
    let mut sessions = Sessions::new();
    for [token, tenant, user, device, roles] in SESSIONS {
        let mut caller = Principal::new(
            TenantId::parse(*tenant)?,
            SubjectId::parse(*user)?,
            ClientId::parse(*device)?,
        );
        caller.roles = roles.split_whitespace().map(str::to_owned).collect();
        sessions.insert(token.to_string(), caller);
    }
    Ok(sessions)
}

// The glue: the engine behind this service's authentication, routes and errors.

/// This service's sessions: token → caller. A real service keeps them in its own database.
pub type Sessions = HashMap<String, Principal>;

struct App {
    engine: SyncEngine<SeaStore>,
    hub: Arc<Hub>,
    sessions: Sessions,
}

type Shared = State<Arc<App>>;
type Reply<T> = Result<T, (StatusCode, Json<Value>)>;

/// The service on `database_url`, for these sessions.
pub async fn app(database_url: &str, sessions: Sessions) -> Result<Router, BoxError> {
    let store = SeaStore::open(database_url).await?;
    let strategies = StrategyRegistry::with_builtins().with(Arc::new(DoneStaysDone));
    let hub = Hub::new(HubConfig::default());
    let config = EngineConfig::default();
    let app = Arc::new(App {
        engine: SyncEngine::new(store, registry()?, &strategies, hub.clone(), config)?,
        hub,
        sessions,
    });
    // Indexes on the fields visibility rules read, so that restricted pulls stay index-driven.
    app.engine.index_visibility_fields().await?;
    Ok(Router::new()
        .route("/sync/push", post(push))
        .route("/sync/pull", post(pull))
        .route("/sync/events", get(events))
        .with_state(app))
}

/// This service's own scheme: the `X-Session` header names a session.
fn caller<'a>(app: &'a App, h: &HeaderMap) -> Reply<&'a Principal> {
    let token = h.get("x-session").and_then(|v| v.to_str().ok());
    let session = app.sessions.get(token.unwrap_or_default());
    session.ok_or_else(|| (StatusCode::UNAUTHORIZED, Json(json!("unknown session"))))
}

async fn push(State(app): Shared, h: HeaderMap, Json(body): Json<Value>) -> Reply<Response> {
    let caller = caller(&app, &h)?;
    let key = h.get("idempotency-key").and_then(|v| v.to_str().ok());
    let outcome = app.engine.push(caller, body, key).await.map_err(fail)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], outcome.body).into_response())
}

async fn pull(State(app): Shared, h: HeaderMap, Json(body): Json<Value>) -> Reply<Response> {
    let caller = caller(&app, &h)?;
    let request = PullRequest::from_json(&body).map_err(fail)?;
    let page = app.engine.pull(caller, &request).await.map_err(fail)?;
    Ok(Json(Envelope::flat(page)).into_response())
}

/// The hub's messages for the caller (its tenant, what it may see) as server-sent events.
async fn events(State(app): Shared, h: HeaderMap) -> Reply<Sse<impl Stream<Item = Sent>>> {
    let listener = app.engine.listener(caller(&app, &h)?).await.map_err(fail)?;
    let busy = |e: RegisterError| (StatusCode::TOO_MANY_REQUESTS, Json(json!(e.to_string())));
    let messages = app.hub.admit(listener).map_err(busy)?.into_messages();
    let events = messages.map(|m| Sent::Ok(Event::default().data(String::from_utf8_lossy(&m))));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

type Sent = Result<Event, Infallible>;

/// The engine's errors as the syncd server answers them: SPEC §4's status and body.
fn fail(e: SyncError) -> (StatusCode, Json<Value>) {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!(e.body())))
}
