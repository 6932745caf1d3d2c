//! Selective sync (SPEC §11, issue 15): visibility rules inside a tenant. Two reps see only the
//! deals assigned to them (by pull, pull-pending, REST list, search, get, history and
//! WebSocket), a manager sees all; a reassignment is a removal for the old owner; a changed
//! `branches` claim resets the cursor; a push to an invisible record is refused.

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;

pub const ENTITIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/e2e/visibility_entities.toml"
);

pub async fn spawn(backend: Backend) -> WsApp {
    WsApp::spawn(backend, |s| s.sync.entities_file = Some(ENTITIES.into())).await
}

/// A token of `sub` in tenant `t` with extra claims (`branches`, `roles` …).
pub fn token_of(app: &WsApp, t: &str, sub: &str, extra: Value) -> String {
    let mut c = claims(t, sub);
    c["client_id"] = json!(format!("app-{sub}"));
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            c[k] = v;
        }
    }
    app.sign(&c)
}

pub fn as_user(app: &WsApp, t: &str, sub: &str, extra: Value) -> Client {
    app.client_with_token(token_of(app, t, sub, extra))
}

pub fn manager(app: &WsApp, t: &str) -> Client {
    as_user(app, t, "boss", json!({ "roles": ["manager"] }))
}

fn deal(title: &str, owner: &str, branch: &str) -> Value {
    json!({ "entityType": "deals", "op": "upsert",
            "data": { "title": title, "assigned_to": owner, "branch": branch } })
}

/// Pushes the changes and returns the ids of the records, in order.
async fn push_deals(writer: &Client, changes: Vec<Value>) -> Vec<String> {
    let res = writer.push_ok(&json!({ "changes": changes })).await;
    res["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn pulled(client: &Client, cursor: Option<&str>) -> (Vec<Value>, String) {
    let mut body = json!({ "entityTypes": ["deals"], "limit": 10000 });
    if let Some(c) = cursor {
        body["cursor"] = json!(c);
    }
    let page = client.pull_ok(&body).await;
    (
        records_of(&page, "deals").clone(),
        page["cursor"].as_str().unwrap().to_owned(),
    )
}

e2e! {
    async fn each_rep_sees_only_his_deals_and_a_manager_sees_all(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let boss = manager(&app, &t);
        let alice = as_user(&app, &t, "alice", json!({}));
        let bob = as_user(&app, &t, "bob", json!({}));
        let ids = push_deals(&boss, vec![
            deal("alpha one", "alice", "x"), deal("alpha two", "alice", "y"), deal("beta", "bob", "z"),
        ]).await;
        let (a, b) = (vec![ids[0].clone(), ids[1].clone()], vec![ids[2].clone()]);

        assert_eq!(sorted(ids_of(&pulled(&alice, None).await.0)), sorted(a.clone()));
        assert_eq!(ids_of(&pulled(&bob, None).await.0), b);
        assert_eq!(sorted(ids_of(&pulled(&boss, None).await.0)), sorted(ids.clone()));

        // REST list, search, get, history.
        let (s, list) = alice.get("/api/deals").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(sorted(ids_of(list["data"].as_array().unwrap())), sorted(a.clone()));
        let (_, found) = bob.get("/api/deals?search=alpha").await;
        assert_eq!(found["data"], json!([]));
        let (_, found) = alice.get("/api/deals?search=alpha").await;
        assert_eq!(found["data"].as_array().unwrap().len(), 2);
        let (_, found) = bob.get("/api/deals?assigned_to=alice").await;
        assert_eq!(found["data"], json!([]));
        assert_error(&alice.get(&format!("/api/deals/{}", b[0])).await, StatusCode::NOT_FOUND, "not_found");
        assert_error(&alice.get(&format!("/api/deals/{}/history", b[0])).await, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(bob.get(&format!("/api/deals/{}", b[0])).await.0, StatusCode::OK);
        assert_eq!(bob.get(&format!("/api/deals/{}/history", b[0])).await.0, StatusCode::OK);
        assert_eq!(boss.get(&format!("/api/deals/{}", a[0])).await.0, StatusCode::OK);

        // Pull-pending (deals have no pending filter: every live record) is filtered too; a type
        // without rules is not.
        let (s, _) = boss.post("/api/deals", &json!({ "title": "pending", "assigned_to": "alice" })).await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = boss.post("/api/notes", &json!({ "text": "for all" })).await;
        assert_eq!(s, StatusCode::CREATED);
        let pending = |c: Client| async move {
            let (s, page) = c.pull_pending(&json!({ "entityTypes": ["deals", "notes"] })).await;
            assert_eq!(s, StatusCode::OK, "{page}");
            (records_of(&page, "deals").len(), records_of(&page, "notes").len())
        };
        assert_eq!(pending(as_user(&app, &t, "alice", json!({}))).await, (3, 1));
        assert_eq!(pending(as_user(&app, &t, "bob", json!({}))).await, (1, 1));
        // A pull of every type: the unrestricted type whole, the restricted one filtered.
        let all = alice.pull_ok(&json!({})).await;
        assert_eq!(records_of(&all, "deals").len(), 3);
        assert_eq!(records_of(&all, "notes").len(), 1);
    }
}

fn ids_of(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

e2e! {
    async fn a_reassignment_gives_the_new_owner_the_record_and_the_old_one_a_removal(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let boss = manager(&app, &t);
        let alice = as_user(&app, &t, "alice", json!({}));
        let bob = as_user(&app, &t, "bob", json!({}));
        let ids = push_deals(&boss, vec![deal("moving", "alice", "x"), deal("staying", "alice", "x")]).await;
        let (_, alice_cursor) = pulled(&alice, None).await;
        let (none, bob_cursor) = pulled(&bob, None).await;
        assert!(none.is_empty());

        let mut alice_ws = app.connect_with_token(&token_of(&app, &t, "alice", json!({})), "alice").await;
        alice_ws.subscribe(json!({ "includeData": true })).await;
        let mut bob_ws = app.connect_with_token(&token_of(&app, &t, "bob", json!({})), "bob").await;
        bob_ws.subscribe(json!({ "includeData": true })).await;

        let moved = boss.push_ok(&json!({ "changes": [
            { "entityType": "deals", "op": "upsert", "id": ids[0], "baseVersion": 1,
              "data": { "assigned_to": "bob" } } ] })).await;
        assert_eq!(moved["results"][0]["status"], json!("updated"), "{moved}");

        let (gone, _) = pulled(&alice, Some(&alice_cursor)).await;
        assert_eq!(gone, vec![json!({ "id": ids[0], "deleted": true, "removed": true })]);
        let (arrived, _) = pulled(&bob, Some(&bob_cursor)).await;
        assert_eq!(ids_of(&arrived), vec![ids[0].clone()]);
        assert_eq!(arrived[0]["title"], json!("moving"));

        let (note, _) = alice_ws.recv_until("sync_notification", 5).await;
        assert_eq!(note["data"]["count"], json!(1), "{note}");
        let update = alice_ws.recv_type("data_update").await;
        assert_eq!(update["data"]["action"], json!("remove"), "{update}");
        assert_eq!(update["data"]["data"], json!({ "id": ids[0], "deleted": true, "removed": true }));
        let (note, _) = bob_ws.recv_until("sync_notification", 5).await;
        assert_eq!(note["data"]["count"], json!(1), "{note}");
        let update = bob_ws.recv_type("data_update").await;
        assert_eq!(update["data"]["action"], json!("update"), "{update}");
        assert_eq!(update["data"]["data"]["title"], json!("moving"));

        // A write bob cannot see reaches bob's connection not at all.
        boss.push_ok(&json!({ "changes": [
            { "entityType": "deals", "op": "upsert", "id": ids[1], "baseVersion": 1,
              "data": { "amount": 5 } } ] })).await;
        let (note, _) = alice_ws.recv_until("sync_notification", 5).await;
        assert_eq!(note["data"]["count"], json!(1));
        assert_eq!(alice_ws.recv_type("data_update").await["data"]["action"], json!("update"));
        bob_ws.expect_silence().await;
    }
}

e2e! {
    async fn a_changed_branches_claim_answers_410_then_only_the_new_branches(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let boss = manager(&app, &t);
        let ids = push_deals(&boss, vec![
            deal("n", "someone", "north"), deal("s", "someone", "south"), deal("e", "someone", "east"),
        ]).await;
        let north = as_user(&app, &t, "carol", json!({ "branches": ["north"] }));
        let (seen, cursor) = pulled(&north, None).await;
        assert_eq!(ids_of(&seen), vec![ids[0].clone()]);

        // A new token with the same inputs (list order ignored) keeps the cursor.
        let same = as_user(&app, &t, "carol", json!({ "branches": ["north", "north"] }));
        let (s, _) = same.pull(&json!({ "cursor": cursor })).await;
        assert_eq!(s, StatusCode::OK);

        let moved = as_user(&app, &t, "carol", json!({ "branches": ["south", "east"] }));
        assert_error(&moved.pull(&json!({ "cursor": cursor })).await, StatusCode::GONE, "resync_required");
        let (seen, _) = pulled(&moved, None).await;
        assert_eq!(sorted(ids_of(&seen)), sorted(vec![ids[1].clone(), ids[2].clone()]));

        // A claim of another shape matches nothing and is no error.
        let odd = as_user(&app, &t, "dave", json!({ "branches": 7 }));
        assert!(pulled(&odd, None).await.0.is_empty());

        // WebSocket: a subscribe with the old cursor is told to reset, then subscribed.
        let token = token_of(&app, &t, "carol", json!({ "branches": ["south"] }));
        let mut ws = app.connect_with_token(&token, "carol").await;
        ws.send_json(&json!({ "type": "subscribe", "cursor": cursor })).await;
        let reset = ws.recv_type("resync_required").await;
        assert_eq!(reset["data"]["reset"], json!(true), "{reset}");
        ws.recv_type("subscribed").await;
    }
}

e2e! {
    async fn a_push_to_an_invisible_record_is_refused_and_handing_one_away_is_allowed(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let boss = manager(&app, &t);
        let alice = as_user(&app, &t, "alice", json!({}));
        let bob = as_user(&app, &t, "bob", json!({}));
        let ids = push_deals(&boss, vec![deal("hers", "alice", "x"), deal("his", "bob", "x")]).await;

        let refused = alice.push(&json!({ "changes": [
            deal("new", "alice", "x"),
            { "entityType": "deals", "op": "upsert", "id": ids[1], "baseVersion": 1,
              "data": { "title": "stolen" } } ] })).await;
        assert_error(&refused, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(refused.1["error"]["details"][0]["index"], json!(1), "{}", refused.1);
        // Nothing applied: no new deal, bob's title unchanged.
        assert_eq!(pulled(&boss, None).await.0.len(), 2);
        let (_, his) = bob.get(&format!("/api/deals/{}", ids[1])).await;
        assert_eq!(his["data"]["title"], json!("his"));
        // REST writes to it answer as if it were absent.
        assert_error(&alice.put("/api/deals", &json!({ "id": ids[1], "title": "x" })).await, StatusCode::NOT_FOUND, "not_found");
        assert_error(&alice.delete(&format!("/api/deals/{}", ids[1])).await, StatusCode::NOT_FOUND, "not_found");

        // Handing her own deal to bob is allowed; her answer shows a removal.
        let handed = alice.push_ok(&json!({ "changes": [
            { "entityType": "deals", "op": "upsert", "id": ids[0], "baseVersion": 1,
              "data": { "assigned_to": "bob" } } ] })).await;
        assert_eq!(handed["data"][0], json!({ "id": ids[0], "deleted": true, "removed": true }));
        let (_, mine) = bob.get(&format!("/api/deals/{}", ids[0])).await;
        assert_eq!(mine["data"]["title"], json!("hers"));
        assert!(pulled(&alice, None).await.0.is_empty());
    }
}
