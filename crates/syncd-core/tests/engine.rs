//! The engine as an embedding service uses it: no HTTP, a real SQLite store, types and a
//! conflict strategy registered in code, and a notifier of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use syncd_conflict::{ConflictStrategy, Context, Resolution, ResultStatus, StrategyRegistry};
use syncd_core::{
    Answer, EngineConfig, Principal, PullFrom, PullRequest, StartError, SyncEngine, SyncError,
};
use syncd_model::{
    ChangeEvent, ClientId, EntityType, EntityTypeName, FieldSchema, FieldType, NoopNotifier,
    Notifier, Registry, SubjectId, TenantId,
};
use syncd_store_sea::{SeaStore, StoreOptions};

/// A push response as JSON.
fn body(outcome: &syncd_core::PushOutcome) -> Value {
    serde_json::from_str(&outcome.body).expect("a push answers JSON")
}

struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("syncd-core-{}.db", uuid::Uuid::new_v4().simple())))
    }

    fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

async fn store(db: &TempDb) -> SeaStore {
    let store = SeaStore::connect(&db.url(), StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

fn principal(tenant: &str, client: &str) -> Principal {
    Principal::new(
        TenantId::parse(tenant).unwrap(),
        SubjectId::parse("alice").unwrap(),
        ClientId::parse(client).unwrap(),
    )
}

/// Keeps whichever title is longer: a rule only this service knows.
struct LongestTitleWins;

impl ConflictStrategy for LongestTitleWins {
    fn name(&self) -> &str {
        "longest-title-wins"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        let len = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, str::len);
        let server = ctx.server.as_ref().map(|s| s.data.get("title"));
        if len(ctx.incoming.data.get("title")) > len(server.flatten()) {
            syncd_conflict::take_client(ctx, ResultStatus::ConflictResolved, vec!["title".into()])
        } else {
            syncd_conflict::keep_server(ctx)
        }
    }
}

fn notes_type() -> EntityType {
    EntityType::builder(EntityTypeName::parse("notes").unwrap())
        .field(
            "title",
            FieldSchema::new(FieldType::String)
                .required()
                .max_length(200),
        )
        .field("body", FieldSchema::new(FieldType::Text))
        .field(
            "pinned",
            FieldSchema::new(FieldType::Bool).default_value(false),
        )
        .strategy("longest-title-wins")
        .search(["title", "body"])
        .build()
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Arc<ChangeEvent>>>);

impl Notifier for Recorder {
    fn publish(&self, event: Arc<ChangeEvent>) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn the_readme_example_pushes_and_pulls_without_http() {
    let db = TempDb::new();
    let engine = SyncEngine::new(
        store(&db).await,
        Registry::builtin(),
        &StrategyRegistry::with_builtins(),
        Arc::new(NoopNotifier),
        EngineConfig::default(),
    )
    .unwrap();
    let me = principal("acme", "app-1");
    let pushed = engine
        .push(
            &me,
            json!({ "table": "end_user", "operation": "create", "data": { "name": "John" } }),
            None,
        )
        .await
        .unwrap();
    assert_eq!(body(&pushed)["results"][0]["status"], "created");
    let page = engine
        .pull(
            &me,
            &PullRequest {
                from: PullFrom::Start,
                entity_types: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    let body = serde_json::to_value(&page).unwrap();
    assert_eq!(body["data"]["end_user"][0]["name"], "John");
    assert_eq!(body["data"]["interactions"], json!([]));
    assert_eq!(body["hasMore"], false);
}

#[tokio::test]
async fn a_type_and_a_strategy_registered_in_code_decide_conflicts() {
    let db = TempDb::new();
    let registry = Registry::builder()
        .with_builtins()
        .register(notes_type())
        .build()
        .unwrap();
    let mut strategies = StrategyRegistry::with_builtins();
    strategies.register(Arc::new(LongestTitleWins));
    let engine = SyncEngine::new(
        store(&db).await,
        registry,
        &strategies,
        Arc::new(NoopNotifier),
        EngineConfig::default(),
    )
    .unwrap();
    assert_eq!(engine.strategy_name("notes"), Some("longest-title-wins"));
    let app1 = principal("acme", "app-1");
    let app2 = principal("acme", "app-2");
    let created = engine
        .push(
            &app1,
            json!({ "table": "notes", "operation": "create", "data": { "title": "Groceries" } }),
            None,
        )
        .await
        .unwrap();
    let id = body(&created)["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body(&created)["data"][0]["pinned"],
        false,
        "the default applies"
    );

    // Both apps edit version 1; the second edit is stale.
    engine
        .push(&app1, json!({ "table": "notes", "operation": "update", "data": { "id": id, "version": 1, "title": "Shopping list" } }), None)
        .await
        .unwrap();
    let shorter = engine
        .push(&app2, json!({ "table": "notes", "operation": "update", "data": { "id": id, "version": 1, "title": "Food" } }), None)
        .await
        .unwrap();
    assert_eq!(body(&shorter)["results"][0]["status"], "conflict_resolved");
    assert_eq!(
        body(&shorter)["results"][0]["strategy"],
        "longest-title-wins"
    );
    assert_eq!(body(&shorter)["data"][0]["title"], "Shopping list");
    let longer = engine
        .push(&app2, json!({ "table": "notes", "operation": "update", "data": { "id": id, "version": 1, "title": "Shopping list for Sunday" } }), None)
        .await
        .unwrap();
    assert_eq!(
        body(&longer)["data"][0]["title"],
        "Shopping list for Sunday"
    );
    assert_eq!(body(&longer)["data"][0]["version"], 3);
}

#[tokio::test]
async fn an_unknown_strategy_name_stops_the_engine_from_being_built() {
    let db = TempDb::new();
    let registry = Registry::builder()
        .with_builtins()
        .register(notes_type())
        .build()
        .unwrap();
    let err = SyncEngine::new(
        store(&db).await,
        registry,
        &StrategyRegistry::with_builtins(),
        Arc::new(NoopNotifier),
        EngineConfig::default(),
    )
    .err()
    .expect("`longest-title-wins` is not registered");
    let message = err.to_string();
    assert!(
        message.contains("notes") && message.contains("longest-title-wins"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unknown_strategy_name_stops_the_start_with_its_cause() {
    let db = TempDb::new();
    let registry = Registry::builder().register(notes_type()).build().unwrap();
    let started = SyncEngine::start(
        store(&db).await,
        registry,
        &StrategyRegistry::with_builtins(),
        Arc::new(NoopNotifier),
        EngineConfig::default(),
    )
    .await;
    let err = started
        .err()
        .expect("`longest-title-wins` is not registered");
    assert!(matches!(err, StartError::Strategy(_)), "{err:?}");
    assert!(err.to_string().contains("longest-title-wins"), "{err}");
}

#[tokio::test]
async fn a_started_engine_answers_push_and_pull_with_the_server_s_status_and_bytes() {
    let db = TempDb::new();
    let engine = SyncEngine::start(
        store(&db).await,
        Registry::builtin(),
        &StrategyRegistry::with_builtins(),
        Arc::new(NoopNotifier),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let me = principal("acme", "app-1");
    let push = json!({ "table": "end_user", "operation": "create", "data": { "name": "John" } });
    let first = Answer::from(engine.push(&me, push.clone(), Some("key-1")).await);
    assert_eq!(first.status, 200);
    let replay = Answer::from(engine.push(&me, push, Some("key-1")).await);
    assert_eq!(replay, first, "a replay answers the first answer's bytes");

    let pulled = engine
        .pull_json(&me, &json!({ "entityTypes": ["end_user"] }))
        .await;
    let pulled = Answer::from(pulled);
    assert_eq!(pulled.status, 200);
    let page: Value = serde_json::from_slice(&pulled.body).unwrap();
    assert_eq!(page["success"], true);
    assert_eq!(page["data"]["end_user"][0]["name"], "John");
    assert_eq!(page["hasMore"], false);

    let refused = engine
        .pull_json(&me, &json!({ "cursor": "not a cursor" }))
        .await;
    let refused = Answer::from(refused);
    assert_eq!(refused.status, 400);
    let body: Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn the_notifier_hears_once_per_committed_push_and_never_about_failures_or_replays() {
    let db = TempDb::new();
    let recorder = Arc::new(Recorder::default());
    let engine = SyncEngine::new(
        store(&db).await,
        Registry::builtin(),
        &StrategyRegistry::with_builtins(),
        recorder.clone(),
        EngineConfig::default(),
    )
    .unwrap();
    let me = principal("acme", "app-1");
    let body = json!({ "changes": { "end_user": [ { "name": "A" }, { "name": "B" } ],
                                    "interactions": [ { "type": "call", "title": "Hi" } ] } });
    engine.push(&me, body.clone(), Some("key-1")).await.unwrap();
    let replay = engine.push(&me, body, Some("key-1")).await.unwrap();
    assert!(replay.replayed);
    let invalid = engine
        .push(
            &me,
            json!({ "changes": { "end_user": [ { "name": "C" }, { "email": "nope" } ] } }),
            None,
        )
        .await;
    assert!(
        matches!(invalid, Err(SyncError::Invalid { .. })),
        "{invalid:?}"
    );

    let events = recorder.0.lock().unwrap();
    assert_eq!(events.len(), 1, "one event for the one applied push");
    let event = &events[0];
    assert_eq!(event.tenant.as_str(), "acme");
    assert_eq!(event.origin_client.as_str(), "app-1");
    let counts: Vec<(&str, u32)> = event.counts.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    assert_eq!(counts, vec![("end_user", 2), ("interactions", 1)]);
    assert_eq!(event.records.len(), 3);
    assert!(event.records.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(event.cursor.seq(), event.records[2].seq);
}
