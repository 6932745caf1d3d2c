//! The data lifecycle (SPEC §10): sync epochs and `reset-sync`, the 410 `resync_required` of a
//! cursor that cannot be continued (pull and WebSocket), and the integrity check `verify`.

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;
use syncd_model::{Cursor, Epoch, Seq};
use syncd_server::lifecycle::{self, ResetScope};

fn user(name: &str) -> Value {
    json!({ "entityType": "end_user", "op": "upsert", "data": { "name": name } })
}

async fn reset(settings: &Settings, scope: ResetScope) {
    lifecycle::reset_sync(settings.clone(), scope)
        .await
        .expect("reset-sync runs");
}

fn tenant_scope(t: &str) -> ResetScope {
    ResetScope::Tenant(lifecycle::tenant_arg(t).unwrap())
}

e2e! {
    async fn after_reset_sync_an_old_cursor_gets_410_and_a_full_pull_starts_the_new_epoch(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let (t, other) = (tenant(), tenant());
        let a = app.client(&t, "app-1");
        let b = app.client(&other, "app-1");
        a.push_ok(&json!({ "changes": [user("a1"), user("a2")] })).await;
        b.push_ok(&json!({ "changes": [user("b1")] })).await;
        let (_, old) = a.pull_all(None, 100).await;
        let (_, other_cursor) = b.pull_all(None, 100).await;
        assert!(old.starts_with("c1"), "epoch 0 keeps the first encoding: {old}");

        reset(&app.settings, tenant_scope(&t)).await;

        let refused = a.pull(&json!({ "cursor": old })).await;
        assert_error(&refused, StatusCode::GONE, "resync_required");
        let (records, fresh) = a.pull_all(None, 100).await;
        assert_eq!(records.len(), 2);
        assert_ne!(fresh, old);
        let again = a.pull_ok(&json!({ "cursor": fresh })).await;
        assert_eq!(page_records(&again).len(), 0);
        let pushed = a.push_ok(&json!({ "changes": [user("a3")] })).await;
        let cursor = pushed["cursor"].as_str().unwrap();
        assert_eq!(a.pull_ok(&json!({ "cursor": cursor })).await["hasMore"], json!(false));
        assert_eq!(page_records(&a.pull_ok(&json!({ "cursor": fresh })).await).len(), 1);

        // Another tenant's cursors are untouched.
        b.pull_ok(&json!({ "cursor": other_cursor })).await;
    }
}

e2e! {
    async fn a_cursor_ahead_of_the_head_gets_410(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let a = app.client(&t, "app-1");
        a.push_ok(&json!({ "changes": [user("a1")] })).await;
        let ahead = Cursor::at(Seq(50), Epoch(0), 0).encode();
        assert_error(&a.pull(&json!({ "cursor": ahead })).await, StatusCode::GONE, "resync_required");
        let at_head = Cursor::new(Seq(1)).encode();
        a.pull_ok(&json!({ "cursor": at_head })).await;
    }
}

e2e! {
    async fn reset_sync_all_reaches_tenants_the_database_does_not_know_yet(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let (known, unknown) = (tenant(), tenant());
        let a = app.client(&known, "app-1");
        a.push_ok(&json!({ "changes": [user("a1")] })).await;
        let (_, old) = a.pull_all(None, 100).await;
        // A cursor of a tenant the (restored) database has no row of.
        let lost = Cursor::new(Seq(0)).encode();

        reset(&app.settings, ResetScope::All).await;

        assert_error(&a.pull(&json!({ "cursor": old })).await, StatusCode::GONE, "resync_required");
        let u = app.client(&unknown, "app-1");
        assert_error(&u.pull(&json!({ "cursor": lost })).await, StatusCode::GONE, "resync_required");
        u.push_ok(&json!({ "changes": [user("u1")] })).await;
        let (records, fresh) = u.pull_all(None, 100).await;
        assert_eq!(records.len(), 1);
        u.pull_ok(&json!({ "cursor": fresh })).await;
    }
}

e2e! {
    async fn a_subscribe_with_a_cursor_of_another_epoch_gets_resync_required_with_reset(backend) {
        let app = WsApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let writer = app.client(&t, "app-2");
        writer.push_ok(&json!({ "changes": [user("a")] })).await;
        let (_, old) = writer.pull_all(None, 100).await;
        reset(&app.settings, tenant_scope(&t)).await;

        let mut ws = app.connect(&t, "app-1").await;
        ws.send_json(&json!({ "type": "subscribe", "cursor": old })).await;
        let resync = ws.recv().await;
        assert_eq!(resync["type"], json!("resync_required"), "{resync}");
        assert_eq!(resync["data"]["reset"], json!(true), "{resync}");
        let head = resync["data"]["cursor"].as_str().unwrap().to_owned();
        assert_eq!(ws.recv().await["type"], json!("subscribed"));
        // The head it was given is a cursor of the new epoch.
        writer.pull_ok(&json!({ "cursor": head })).await;
        // From the head on, the subscription is in force.
        writer.push_ok(&json!({ "changes": [user("b")] })).await;
        assert_eq!(ws.recv_type("sync_notification").await["data"]["count"], json!(1));
    }
}

/// The checksum of SPEC §10 over records as a client holds them: `(count, decimal sum)`.
fn local_checksum(records: &[Value]) -> (u64, String) {
    let mut sum = 0u64;
    let mut count = 0;
    for r in records.iter().filter(|r| r["deleted"] != json!(true)) {
        let id = syncd_model::RecordId::parse(r["id"].as_str().unwrap()).unwrap();
        let version = syncd_model::Version(r["version"].as_i64().unwrap());
        sum = sum.wrapping_add(syncd_core::record_hash(id, version));
        count += 1;
    }
    (count, sum.to_string())
}

e2e! {
    async fn verify_matches_an_app_that_pulled_everything_and_differs_without_one_record(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let a = app.client(&t, "app-1");
        let pushed = a
            .push_ok(&json!({ "changes": [user("a1"), user("a2"), user("a3")] }))
            .await;
        let gone = pushed["results"][1]["id"].as_str().unwrap().to_owned();
        a.push_ok(&json!({ "changes": [
            { "entityType": "end_user", "op": "delete", "id": gone, "baseVersion": 1 }
        ] }))
        .await;
        let (records, cursor) = a.pull_all(None, 100).await;

        let verified = a.post("/api/client/sync/verify", &json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(verified.0, StatusCode::OK, "{}", verified.1);
        let server = &verified.1["data"]["end_user"];
        assert_eq!(verified.1["cursor"], json!(cursor));
        let (count, sum) = local_checksum(&records);
        assert_eq!(server["count"], json!(count));
        assert_eq!(count, 2);
        assert_eq!(server["checksum"], json!(sum));

        let mut drifted = records.clone();
        drifted.retain(|r| r["deleted"] != json!(true));
        drifted.pop();
        assert_ne!(local_checksum(&drifted).1, sum);

        let all = a.post("/api/client/sync/verify", &json!({})).await;
        assert_eq!(all.1["data"]["interactions"], json!({ "count": 0, "checksum": "0" }));
        let unknown = a.post("/api/client/sync/verify", &json!({ "entityTypes": ["nope"] })).await;
        assert_error(&unknown, StatusCode::UNPROCESSABLE_ENTITY, "unknown_entity_type");
    }
}

e2e! {
    async fn after_a_restore_and_reset_sync_an_app_with_a_newer_cursor_gets_410_then_exactly_the_restored_state_and_what_came_after(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let writer = app.client(&t, "app-1");
        let kept = writer.push_ok(&json!({ "changes": [user("a"), user("b")] })).await;
        let a_id = kept["results"][0]["id"].as_str().unwrap().to_owned();
        let b_id = kept["results"][1]["id"].as_str().unwrap().to_owned();
        let backup = app.backup().await;

        // Written after the backup: lost by the restore.
        let lost = writer.push_ok(&json!({ "changes": [user("c")] })).await;
        let c_id = lost["results"][0]["id"].as_str().unwrap().to_owned();
        writer.push_ok(&json!({ "changes": [
            { "entityType": "end_user", "op": "delete", "id": a_id, "baseVersion": 1 }
        ] })).await;
        let phone = app.client(&t, "phone");
        let (seen, newer) = phone.pull_all(None, 100).await;
        assert_eq!(seen.len(), 3);

        let restored = backup.restore(&app).await;
        drop(app);
        lifecycle::reset_sync(restored.settings.clone(), ResetScope::All).await.unwrap();
        let after = restored.client(&t, "app-1")
            .push_ok(&json!({ "changes": [user("d")] })).await;
        let d_id = after["results"][0]["id"].as_str().unwrap().to_owned();

        let phone = restored.client(&t, "phone");
        assert_error(&phone.pull(&json!({ "cursor": newer })).await, StatusCode::GONE, "resync_required");
        let (records, _) = phone.pull_all(None, 100).await;
        let mut got: Vec<(String, bool)> = records
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_owned(), r["deleted"] == json!(true)))
            .collect();
        got.sort();
        let mut want = vec![(a_id, false), (b_id, false), (d_id, false)];
        want.sort();
        assert_eq!(got, want, "the restored state plus what was written after; not {c_id}");
    }
}
