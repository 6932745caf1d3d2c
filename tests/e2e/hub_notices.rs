//! What the hub hands out and to whom, beyond a single instance's pushes: cursors of the tenant's
//! epoch and the connection's visibility fingerprint (SPEC §10, §11), the commands that run
//! beside live servers (`syncd erase`, `syncd reset-sync`) reaching connected apps through the
//! PostgreSQL backplane, and visibility rules honoured for events of other instances.

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;
use syncd_server::lifecycle::{self, EraseTarget, ResetScope};

use crate::visibility::{ENTITIES, as_user, manager, spawn, token_of};

fn deal(title: &str, owner: &str) -> Value {
    json!({ "entityType": "deals", "op": "upsert",
            "data": { "title": title, "assigned_to": owner, "branch": "x" } })
}

async fn reset(settings: &Settings, t: &str) {
    let scope = ResetScope::Tenant(lifecycle::tenant_arg(t).unwrap());
    lifecycle::reset_sync(settings.clone(), scope)
        .await
        .expect("reset-sync runs");
}

fn deals_from(cursor: &str) -> Value {
    json!({ "entityTypes": ["deals"], "cursor": cursor, "limit": 100 })
}

e2e! {
    async fn cursors_of_notifications_and_data_updates_pull_without_410_after_a_reset_and_under_rules(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let boss = manager(&app, &t);
        boss.push_ok(&json!({ "changes": [deal("before", "alice")] })).await;
        reset(&app.settings, &t).await;

        let token = token_of(&app, &t, "alice", json!({}));
        let alice = app.client_with_token(token.clone());
        let mut ws = app.connect_with_token(&token, "alice").await;
        ws.subscribe(json!({ "includeData": true })).await;
        let pushed = boss.push_ok(&json!({ "changes": [deal("first", "alice")] })).await;
        let id = pushed["results"][0]["id"].as_str().unwrap().to_owned();
        let (note, _) = ws.recv_until("sync_notification", 5).await;
        let update = ws.recv_type("data_update").await;
        assert_eq!(update["data"]["data"]["id"], json!(id), "{update}");

        let taken = [
            note["data"]["cursor"].as_str().unwrap().to_owned(),
            update["data"]["cursor"].as_str().unwrap().to_owned(),
        ];
        for cursor in &taken {
            let (status, page) = alice.pull(&deals_from(cursor)).await;
            assert_eq!(status, StatusCode::OK, "{cursor}: {page}");
            assert!(page_records(&page).is_empty(), "{page}");
        }
        let next = boss.push_ok(&json!({ "changes": [deal("second", "alice")] })).await;
        let next_id = next["results"][0]["id"].as_str().unwrap();
        for cursor in &taken {
            let page = alice.pull_ok(&deals_from(cursor)).await;
            let records = page_records(&page);
            let got: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
            assert_eq!(got, vec![next_id], "{page}");
        }
    }
}

/// Two instances on one fresh PostgreSQL database, with `tweak` applied to both, or `None`
/// (reported) without PostgreSQL.
async fn two_instances(test: &str, tweak: impl Fn(&mut Settings)) -> Option<(WsApp, WsApp)> {
    if !Backend::Postgres.is_available() {
        report_skip(test);
        return None;
    }
    let a = WsApp::spawn(Backend::Postgres, &tweak).await;
    let b = a.spawn_on(&tweak).await;
    Some((a, b))
}

fn admin(app: &WsApp, t: &str) -> Client {
    let mut c = claims(t, "ops");
    c["roles"] = json!(["admin"]);
    app.client_with_token(app.sign(&c))
}

/// Reads until a `data_update`; it must say `delete` of the erased `id`.
async fn expect_erased(ws: &mut WsClient, id: &str) {
    let (update, _) = ws.recv_until("data_update", 5).await;
    assert_eq!(
        update["data"]["action"],
        json!("delete"),
        "{}: {update}",
        ws.label()
    );
    assert_eq!(update["data"]["data"]["id"], json!(id), "{update}");
    assert_eq!(update["data"]["data"]["erased"], json!(true), "{update}");
}

/// Reads until a `resync_required`; it must be a reset whose cursor pulls without 410.
async fn expect_reset(ws: &mut WsClient, app: &WsApp, t: &str) {
    let (reset, _) = ws.recv_until("resync_required", 10).await;
    assert_eq!(
        reset["data"]["reset"],
        json!(true),
        "{}: {reset}",
        ws.label()
    );
    let cursor = reset["data"]["cursor"].as_str().unwrap();
    let (status, page) = app
        .client(t, "puller")
        .pull(&json!({ "cursor": cursor }))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_and_reset_sync_reach_apps_connected_to_every_running_instance() {
    let test = "hub_notices::erase_and_reset_sync_reach_apps_connected_to_every_running_instance";
    let Some((a, b)) = two_instances(test, |_| {}).await else {
        return;
    };
    let t = tenant();
    let mut on_a = a.connect(&t, "app-2").await;
    on_a.subscribe(json!({ "includeData": true })).await;
    let mut on_b = b.connect(&t, "app-3").await;
    on_b.subscribe(json!({ "includeData": true })).await;
    let mut stranger = b.connect(&tenant(), "app-2").await;
    let writer = a.client(&t, "app-1");
    let create = |name: &str| json!({ "changes": [ { "entityType": "end_user", "op": "upsert", "data": { "name": name } } ] });
    let mut ids = Vec::new();
    for name in ["by the command", "by the route"] {
        let res = writer.push_ok(&create(name)).await;
        ids.push(res["results"][0]["id"].as_str().unwrap().to_owned());
        for ws in [&mut on_a, &mut on_b] {
            ws.recv_until("data_update", 5).await;
        }
    }

    // `syncd erase` of one record, a process beside both servers.
    let target = EraseTarget::Record {
        entity_type: "end_user".into(),
        id: ids[0].clone(),
    };
    lifecycle::erase(
        a.settings.clone(),
        lifecycle::tenant_arg(&t).unwrap(),
        target,
    )
    .await
    .unwrap();
    for ws in [&mut on_a, &mut on_b] {
        expect_erased(ws, &ids[0]).await;
    }
    // The admin route on instance A: B's apps hear of it through the backplane.
    let (status, body) = admin(&a, &t)
        .delete(&format!("/api/admin/records/end_user/{}", ids[1]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for ws in [&mut on_a, &mut on_b] {
        expect_erased(ws, &ids[1]).await;
    }

    // `syncd reset-sync`: every connection of the tenant is told to start again, stays open and
    // keeps hearing of new writes.
    reset(&a.settings, &t).await;
    for (ws, app) in [(&mut on_a, &a), (&mut on_b, &b)] {
        expect_reset(ws, app, &t).await;
    }
    writer.push_ok(&create("after the reset")).await;
    for ws in [&mut on_a, &mut on_b] {
        let (update, _) = ws.recv_until("data_update", 5).await;
        let cursor = update["data"]["cursor"].as_str().unwrap();
        let (status, page) = writer.pull(&json!({ "cursor": cursor })).await;
        assert_eq!(status, StatusCode::OK, "{page}");
    }

    // `syncd erase --tenant`: a new epoch too.
    lifecycle::erase(
        a.settings.clone(),
        lifecycle::tenant_arg(&t).unwrap(),
        EraseTarget::Tenant,
    )
    .await
    .unwrap();
    for (ws, app) in [(&mut on_a, &a), (&mut on_b, &b)] {
        expect_reset(ws, app, &t).await;
    }
    stranger.expect_silence().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_another_instance_honour_each_connections_visibility() {
    let test = "hub_notices::events_of_another_instance_honour_each_connections_visibility";
    let Some((a, b)) = two_instances(test, |s| {
        s.sync.entities_file = Some(ENTITIES.into());
        s.sync.strategies.insert("deals".into(), "manual".into());
    })
    .await
    else {
        return;
    };
    let t = tenant();
    let boss = manager(&a, &t);
    let mut alice = b
        .connect_with_token(&token_of(&b, &t, "alice", json!({})), "alice")
        .await;
    alice.subscribe(json!({ "includeData": true })).await;
    let mut bob = b
        .connect_with_token(&token_of(&b, &t, "bob", json!({})), "bob")
        .await;
    bob.subscribe(json!({ "includeData": true })).await;

    // One push on A: a deal each and a note for all. Each rep counts his deal and the note.
    let res = boss
        .push_ok(&json!({ "changes": [
        deal("hers", "alice"), deal("his", "bob"),
        { "entityType": "notes", "op": "upsert", "data": { "text": "for all" } } ] }))
        .await;
    let ids: Vec<String> = (0..3)
        .map(|i| res["results"][i]["id"].as_str().unwrap().to_owned())
        .collect();
    for (ws, mine) in [(&mut alice, &ids[0]), (&mut bob, &ids[1])] {
        let (note, _) = ws.recv_until("sync_notification", 5).await;
        assert_eq!(note["data"]["count"], json!(2), "{}: {note}", ws.label());
        let mut types = note["data"]["entityTypes"].as_array().unwrap().clone();
        types.sort_by_key(|t| t.as_str().unwrap().to_owned());
        assert_eq!(types, vec![json!("deals"), json!("notes")], "{note}");
        let updates = ws.recv_n(2).await;
        let got: Vec<&str> = updates
            .iter()
            .map(|u| u["data"]["data"]["id"].as_str().unwrap())
            .collect();
        assert!(
            got.contains(&mine.as_str()) && got.contains(&ids[2].as_str()),
            "{updates:?}"
        );
    }

    // A push touching only alice's deal sends bob nothing.
    boss.push_ok(
        &json!({ "changes": [ { "entityType": "deals", "op": "upsert", "id": ids[0],
        "baseVersion": 1, "data": { "amount": 5 } } ] }),
    )
    .await;
    let (note, _) = alice.recv_until("sync_notification", 5).await;
    assert_eq!(note["data"]["count"], json!(1), "{note}");
    alice.recv_type("data_update").await;
    bob.expect_silence().await;

    // A manual conflict on alice's deal: her status update, none for bob.
    let other_boss = as_user(&a, &t, "boss2", json!({ "roles": ["manager"] }));
    let stale = other_boss
        .push_ok(
            &json!({ "changes": [ { "entityType": "deals", "op": "upsert",
        "id": ids[0], "baseVersion": 1, "data": { "amount": 6 } } ] }),
        )
        .await;
    assert_eq!(stale["results"][0]["status"], json!("conflict"), "{stale}");
    let (status, _) = alice.recv_until("sync_status_update", 5).await;
    assert_eq!(status["data"]["id"], json!(ids[0]), "{status}");
    bob.expect_silence().await;

    // A reassignment on A: a removal for alice, the record for bob, both counted once.
    boss.push_ok(
        &json!({ "changes": [ { "entityType": "deals", "op": "upsert", "id": ids[0],
        "baseVersion": 2, "data": { "assigned_to": "bob" } } ] }),
    )
    .await;
    for (ws, action) in [(&mut alice, "remove"), (&mut bob, "update")] {
        let (note, _) = ws.recv_until("sync_notification", 5).await;
        assert_eq!(note["data"]["count"], json!(1), "{}: {note}", ws.label());
        let update = ws.recv_type("data_update").await;
        assert_eq!(
            update["data"]["action"],
            json!(action),
            "{}: {update}",
            ws.label()
        );
        assert_eq!(update["data"]["data"]["id"], json!(ids[0]), "{update}");
    }
}
