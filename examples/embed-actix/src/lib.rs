//! The syncd core inside an actix-web service of its own: the service's session header decides
//! who calls, its own entity types and conflict rule are registered in code, and push, pull and
//! a server-sent events stream of notifications go through the engine.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::error::{ErrorTooManyRequests, ErrorUnauthorized, InternalError};
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Json};
use actix_web::{HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;
use serde_json::Value;
use syncd_conflict::{ConflictStrategy, Context, Resolution, ResultStatus, StrategyRegistry};
use syncd_core::{EngineConfig, Envelope, Principal, PullRequest, SyncEngine, SyncError};
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

type Reply<T> = Result<T, actix_web::Error>;

/// The service on `tcp` and the database at `url`, for these sessions. Await the server to run
/// it; its handle stops it.
pub async fn server(tcp: TcpListener, url: &str, sessions: Sessions) -> Result<Server, BoxError> {
    let store = SeaStore::open(url).await?;
    let strategies = StrategyRegistry::with_builtins().with(Arc::new(DoneStaysDone));
    let hub = Hub::new(HubConfig::default());
    let config = EngineConfig::default();
    let app = Data::new(App {
        engine: SyncEngine::new(store, registry()?, &strategies, hub.clone(), config)?,
        hub,
        sessions,
    });
    // Indexes on the fields visibility rules read, so that restricted pulls stay index-driven.
    app.engine.index_visibility_fields().await?;
    let routes = move || {
        actix_web::App::new()
            .app_data(app.clone())
            .route("/sync/push", web::post().to(push))
            .route("/sync/pull", web::post().to(pull))
            .route("/sync/events", web::get().to(events))
    };
    Ok(HttpServer::new(routes).listen(tcp)?.run())
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// This service's own scheme: the `X-Session` header names a session.
fn caller<'a>(app: &'a App, req: &HttpRequest) -> Reply<&'a Principal> {
    let token = header(req, "x-session").unwrap_or_default();
    let session = app.sessions.get(token);
    session.ok_or_else(|| ErrorUnauthorized("unknown session"))
}

async fn push(app: Data<App>, req: HttpRequest, body: Json<Value>) -> Reply<HttpResponse> {
    let caller = caller(&app, &req)?;
    let key = header(&req, "idempotency-key");
    let outcome = app.engine.push(caller, body.into_inner(), key).await;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(outcome.map_err(fail)?.body))
}

async fn pull(app: Data<App>, req: HttpRequest, body: Json<Value>) -> Reply<HttpResponse> {
    let caller = caller(&app, &req)?;
    let request = PullRequest::from_json(&body).map_err(fail)?;
    let page = app.engine.pull(caller, &request).await.map_err(fail)?;
    Ok(HttpResponse::Ok().json(Envelope::flat(page)))
}

/// The hub's messages for the caller (its tenant, what it may see) as server-sent events.
async fn events(app: Data<App>, req: HttpRequest) -> Reply<HttpResponse> {
    let caller = caller(&app, &req)?;
    let listener = app.engine.listener(caller).await.map_err(fail)?;
    let conn = app.hub.admit(listener).map_err(ErrorTooManyRequests)?;
    let events = conn.into_messages().map(|m| Ok::<_, Infallible>(event(&m)));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(events))
}

/// One message as a server-sent event (the messages are one-line JSON).
fn event(message: &[u8]) -> web::Bytes {
    [&b"data: "[..], message, b"\n\n"].concat().into()
}

/// The engine's errors as the syncd server answers them: SPEC §4's status and body.
fn fail(e: SyncError) -> actix_web::Error {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response = HttpResponse::build(status).json(e.body());
    InternalError::from_response(e, response).into()
}
