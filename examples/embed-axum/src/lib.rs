//! The syncd core inside an axum service of its own: the service's session header decides who
//! calls, its own entity types and conflict rule are registered in code, and push, pull and a
//! server-sent events stream of notifications go through the engine. No actix anywhere.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use syncd_conflict::{ConflictStrategy, Context, Resolution, ResultStatus, StrategyRegistry};
use syncd_core::{Answer, EngineConfig, Principal, SyncEngine};
use syncd_hub::{Hub, HubConfig};
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

/// This service's sessions: token → caller. A real service keeps them in its own database.
pub type Sessions = HashMap<String, Principal>;

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

// The glue: the engine behind this service's authentication and routes. README.md counts it.

struct App {
    engine: SyncEngine<SeaStore>,
    hub: Arc<Hub>,
    auth: Sessions,
}

type Reply = Result<Response, Response>;

/// The service on `database_url`, for these sessions.
pub async fn app(database_url: &str, auth: Sessions) -> Result<Router, BoxError> {
    let store = SeaStore::open(database_url).await?;
    let strategies = StrategyRegistry::with_builtins().with(Arc::new(DoneStaysDone));
    let hub = Hub::new(HubConfig::default());
    let config = EngineConfig::default();
    let engine = SyncEngine::start(store, registry()?, &strategies, hub.clone(), config).await?;
    Ok(Router::new()
        .route("/sync/push", post(push))
        .route("/sync/pull", post(pull))
        .route("/sync/events", get(events))
        .with_state(Arc::new(App { engine, hub, auth })))
}

/// This service's own scheme: the `X-Session` header names a session.
fn caller<'a>(app: &'a App, h: &HeaderMap) -> Result<&'a Principal, Answer> {
    let token = h.get("x-session").and_then(|v| v.to_str().ok());
    let session = token.and_then(|token| app.auth.get(token));
    session.ok_or_else(|| Answer::unauthorized("unknown session"))
}

async fn push(State(app): State<Arc<App>>, h: HeaderMap, Json(body): Json<Value>) -> Reply {
    let caller = caller(&app, &h).map_err(reply)?;
    let key = h.get("idempotency-key").and_then(|v| v.to_str().ok());
    Ok(reply(app.engine.push(caller, body, key).await))
}

async fn pull(State(app): State<Arc<App>>, h: HeaderMap, Json(body): Json<Value>) -> Reply {
    let caller = caller(&app, &h).map_err(reply)?;
    Ok(reply(app.engine.pull_json(caller, &body).await))
}

/// The hub's messages for the caller (its tenant, what it may see) as server-sent events.
async fn events(State(app): State<Arc<App>>, h: HeaderMap) -> Reply {
    let caller = caller(&app, &h).map_err(reply)?;
    let listener = app.engine.listener(caller).await.map_err(reply)?;
    let events = app.hub.admit(listener).map_err(reply)?;
    let body = Body::from_stream(events.into_event_stream(Duration::from_secs(15)));
    Ok(([(header::CONTENT_TYPE, "text/event-stream")], body).into_response())
}

/// The engine's answer as axum's response: the status and JSON the syncd server answers.
fn reply(answer: impl Into<Answer>) -> Response {
    let Answer { status, body } = answer.into();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
