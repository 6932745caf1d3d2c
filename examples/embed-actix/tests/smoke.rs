//! The smoke test CI runs for this example: the service on a loopback port 0 and a fresh SQLite
//! file; a push, a pull and a notification, through the example's own sessions, types,
//! visibility rule and conflict strategy. An API change that breaks embedders breaks this test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_starts_on_port_0_and_serves_push_pull_and_notifications() {
    let db = TempDb::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = embed_actix::server(listener, &db.url(), embed_actix::demo_sessions().unwrap())
        .await
        .unwrap();
    let handle = server.handle();
    let running = tokio::spawn(server);
    let run = a_push_is_pulled_by_another_device_and_announced_to_it(&base);
    let outcome = tokio::time::timeout(Duration::from_secs(60), run).await;
    handle.stop(false).await;
    running.await.unwrap().unwrap();
    outcome.expect("the smoke test finishes within 60 s");
}

const PROJECT: &str = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
const TASK: &str = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c";

/// A SQLite file for one test, removed on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        let name = format!(
            "embed-actix-{}-{:?}.db",
            std::process::id(),
            std::thread::current().id()
        );
        Self(std::env::temp_dir().join(name.replace(['(', ')'], "")))
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

/// The example service's client side: one session, JSON in and out.
struct Session {
    http: reqwest::Client,
    base: String,
    token: &'static str,
}

impl Session {
    fn new(base: &str, token: &'static str) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            http,
            base: base.to_owned(),
            token,
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-session", self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        // Every answer is JSON, this service's own refusals too; anything else shows as text.
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Opens the notification stream; once this returns, the session is registered.
    async fn events(&self) -> Events {
        let response = self
            .http
            .get(format!("{}/sync/events", self.base))
            .header("x-session", self.token)
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Events {
            response,
            buffer: String::new(),
        }
    }
}

/// A server-sent events stream of hub messages.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The next message (the JSON of a `data:` line), within five seconds.
    async fn next(&mut self) -> Value {
        let within = Duration::from_secs(5);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                    return serde_json::from_str(data.trim_start()).unwrap();
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout(within, self.response.chunk())
                .await
                .expect("a notification within 5 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// What issue 19 asks of each example: push, pull and one notification, plus the example's
/// own type rules, visibility rule and conflict strategy, its authentication and tenant
/// isolation.
async fn a_push_is_pulled_by_another_device_and_announced_to_it(base: &str) {
    let session = |token| Session::new(base, token);
    let (alice, bob, dana, carol) = (
        session("s-alice"),
        session("s-bob"),
        session("s-dana"),
        session("s-carol"),
    );
    let mut bob_hears = bob.events().await;
    let mut alice_hears = alice.events().await;

    // Dana, the manager, creates a project and a task of it for Bob, in one push.
    let (status, pushed) = dana
        .post(
            "/sync/push",
            json!({ "changes": [
                { "entityType": "projects", "op": "upsert", "id": PROJECT,
                  "data": { "name": "Launch" } },
                { "entityType": "tasks", "op": "upsert", "id": TASK,
                  "data": { "title": "Write the README", "project_id": PROJECT,
                            "assignee": "bob" } },
            ] }),
        )
        .await;
    assert_eq!(status, 200, "{pushed}");
    assert_eq!(pushed["results"][1]["status"], "created");
    assert_eq!(pushed["results"][1]["strategy"], "done-stays-done");
    assert_eq!(pushed["data"][1]["done"], false, "the field's default");

    // Bob's device hears of both records...
    let message = bob_hears.next().await;
    assert_eq!(message["type"], "sync_notification", "{message}");
    assert_eq!(message["data"]["event"], "new_data_available");
    assert_eq!(message["data"]["count"], 2);
    assert_eq!(message["data"]["originClientId"], "dana-desktop");
    // ...Alice's of the project only: the task is not hers to see.
    let message = alice_hears.next().await;
    assert_eq!(
        message["data"]["entityTypes"],
        json!(["projects"]),
        "{message}"
    );
    assert_eq!(message["data"]["count"], 1);
    // Bob pulls the task; Alice pulls no task at all.
    let (status, pulled) = bob
        .post("/sync/pull", json!({ "entityTypes": ["tasks"] }))
        .await;
    assert_eq!(status, 200, "{pulled}");
    assert_eq!(pulled["data"]["tasks"][0]["id"], TASK);
    assert_eq!(pulled["data"]["tasks"][0]["project_id"], PROJECT);
    assert_eq!(pulled["hasMore"], false);
    let (status, pulled) = alice
        .post("/sync/pull", json!({ "entityTypes": ["tasks"] }))
        .await;
    assert_eq!(status, 200, "{pulled}");
    assert_eq!(
        pulled["data"]["tasks"],
        json!([]),
        "Bob's task is invisible to Alice"
    );

    // The custom strategy: Bob marks the task done; Dana, still at version 1, renames it and
    // unticks it. Her title wins, the task stays done.
    let done = json!({ "changes": [{ "entityType": "tasks", "id": TASK, "baseVersion": 1,
                                    "data": { "done": true } }] });
    assert_eq!(bob.post("/sync/push", done).await.0, 200);
    let stale = json!({ "changes": [{ "entityType": "tasks", "id": TASK, "baseVersion": 1,
                                     "data": { "title": "Write two READMEs", "done": false } }] });
    let (status, merged) = dana.post("/sync/push", stale).await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["results"][0]["status"], "conflict_resolved");
    assert_eq!(merged["data"][0]["title"], "Write two READMEs");
    assert_eq!(merged["data"][0]["done"], true);

    // Alice cannot write a task she cannot see: 403, nothing applied.
    let theirs = json!({ "changes": [{ "entityType": "tasks", "id": TASK,
                                      "data": { "title": "Mine now" } }] });
    let (status, refused) = alice.post("/sync/push", theirs).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "forbidden");

    // The registered reference: a task of a project that does not exist changes nothing; the
    // answer is the SPEC §4 error body, with the change's problem in `details`.
    let orphan = json!({ "changes": [{ "entityType": "tasks",
                                      "data": { "title": "x", "project_id": TASK } }] });
    let (status, refused) = alice.post("/sync/push", orphan).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["success"], false);
    assert_eq!(refused["error"]["code"], "validation_failed");
    let problem = &refused["error"]["details"][0];
    assert_eq!(
        (&problem["index"], &problem["field"]),
        (&json!(0), &json!("project_id"))
    );
    let message = problem["message"].as_str().unwrap();
    assert!(
        message.contains("references no existing projects"),
        "{message}"
    );

    // Another tenant sees nothing of acme's, and an unknown session gets nowhere.
    let (_, other) = carol.post("/sync/pull", json!({})).await;
    assert_eq!(other["data"], json!({ "projects": [], "tasks": [] }));
    let (status, refused) = session("s-nobody").post("/sync/pull", json!({})).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(
        refused,
        json!({ "success": false, "error": {
            "code": "unauthorized", "message": "unknown session", "details": [] } })
    );
}
