//! Scheduled maintenance (SPEC §10): tombstone thinning after `sync.tombstone_days`, retention
//! of thin tombstones and the horizon it raises, `syncd maintenance`, and one run at a time
//! across instances.

use std::time::Duration;

use serde_json::{Value, json};
use syncd_e2e::ws::WsApp;
use syncd_e2e::*;
use syncd_server::lifecycle;

/// A tombstone older than 9 ms (1e-7 days) is old enough.
fn quick(settings: &mut Settings) {
    settings.sync.tombstone_days = 1e-7;
    settings.sync.maintenance_interval_secs = 0;
}

fn creates(n: usize) -> Value {
    let changes: Vec<Value> = (0..n)
        .map(|i| json!({ "entityType": "end_user", "op": "upsert", "data": { "name": format!("user {i}"), "phone": "555" } }))
        .collect();
    json!({ "changes": changes })
}

fn deletes(ids: &[String]) -> Value {
    let changes: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "entityType": "end_user", "op": "delete", "id": id, "baseVersion": 1 }))
        .collect();
    json!({ "changes": changes })
}

fn result_ids(pushed: &Value) -> Vec<String> {
    pushed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn keys(record: &Value) -> Vec<String> {
    let mut keys: Vec<String> = record.as_object().unwrap().keys().cloned().collect();
    keys.sort_unstable();
    keys
}

e2e! {
    async fn a_thinned_tombstone_has_no_data_but_still_deletes_for_a_client_whose_cursor_predates_it(backend) {
        let app = TestApp::spawn(backend, quick).await;
        let t = tenant();
        let (a, b) = (app.client(&t, "app-1"), app.client(&t, "app-2"));
        let user = result_ids(&a.push_ok(&creates(1)).await).remove(0);
        let call = a.push_ok(&json!({ "changes": [{ "entityType": "interactions", "op": "upsert",
            "data": { "type": "call", "title": "secret title", "date": "2024-01-01T10:00:00Z" } }] })).await;
        let call = result_ids(&call).remove(0);
        let (_, before_delete) = b.pull_all(None, 100).await;
        a.push_ok(&deletes(std::slice::from_ref(&user))).await;
        a.push_ok(&json!({ "changes": [{ "entityType": "interactions", "op": "delete", "id": call, "baseVersion": 1 }] })).await;
        tokio::time::sleep(Duration::from_millis(30)).await;

        let lines = lifecycle::maintenance(app.settings.clone()).await.unwrap();
        assert!(lines.iter().any(|l| l == "tombstones thinned: 2"), "{lines:?}");

        let page = b.pull_ok(&json!({ "cursor": before_delete })).await;
        let users = records_of(&page, "end_user");
        assert_eq!(users.len(), 1, "{page}");
        assert_eq!(users[0]["id"], json!(user));
        assert_eq!(users[0]["deleted"], json!(true));
        assert_eq!(users[0]["is_deleted"], json!(1));
        assert_eq!(keys(&users[0]), ["createdAt", "deleted", "id", "is_deleted", "last_updated",
            "server_synced", "sync_status", "updatedAt", "version"]);
        let calls = records_of(&page, "interactions");
        assert_eq!(calls[0]["status"], json!("cancelled"));
        assert_eq!(keys(&calls[0]), ["createdAt", "deleted", "id", "status", "sync_status", "updatedAt", "version"]);
        // The record rows hold no data any more (past versions stay for the history window).
        let holding = app.engine().store().rows_containing("secret title").await.unwrap();
        assert!(holding.iter().all(|(table, _)| table != "records"), "{holding:?}");

        // Nothing is left to do.
        let again = app.engine().maintenance("again").await.unwrap().unwrap();
        assert_eq!(again.thinned_tombstones, 0);
    }
}

e2e! {
    async fn dropping_old_thin_tombstones_raises_the_horizon_and_older_cursors_get_410(backend) {
        let app = TestApp::spawn(backend, |s| {
            quick(s);
            s.sync.tombstone_retention_days = 1e-7;
        })
        .await;
        let t = tenant();
        let a = app.client(&t, "app-1");
        let created = result_ids(&a.push_ok(&creates(3)).await);
        let (_, old) = a.pull_all(None, 100).await;
        a.push_ok(&deletes(&created[..2])).await;
        let (_, after_delete) = a.pull_all(Some(&old), 100).await;
        tokio::time::sleep(Duration::from_millis(30)).await;

        let report = app.engine().maintenance("test").await.unwrap().unwrap();
        assert_eq!((report.thinned_tombstones, report.dropped_tombstones), (2, 2));

        assert_error(&a.pull(&json!({ "cursor": old })).await, StatusCode::GONE, "resync_required");
        a.pull_ok(&json!({ "cursor": after_delete })).await;
        let (records, _) = a.pull_all(None, 100).await;
        assert_eq!(ids(&records), vec![created[2].clone()]);
    }
}

e2e! {
    async fn two_instances_running_maintenance_at_once_do_each_piece_of_work_once(backend) {
        let tweak = |s: &mut Settings| {
            quick(s);
            s.sync.maintenance_batch = 7;
        };
        let first = WsApp::spawn(backend, tweak).await;
        let second = first.spawn_on(tweak).await;
        let t = tenant();
        let a = first.client(&t, "app-1");
        let ids = result_ids(&a.push_ok(&creates(300)).await);
        a.push_ok(&deletes(&ids)).await;
        tokio::time::sleep(Duration::from_millis(30)).await;

        let (one, two) = tokio::join!(
            first.state().engine.maintenance("instance-1"),
            second.state().engine.maintenance("instance-2"),
        );
        let thinned: u64 = [one.unwrap(), two.unwrap()]
            .iter()
            .flatten()
            .map(|r| r.thinned_tombstones)
            .sum();
        assert_eq!(thinned, 300);
        let (records, _) = a.pull_all(None, 1000).await;
        assert_eq!(records.len(), 300);
        assert!(records.iter().all(|r| r.get("name").is_none() && r["deleted"] == json!(true)));
    }
}
