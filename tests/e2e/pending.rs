//! Pull-pending (SPEC §4.3): server-side writes wait for apps to take them in.

use serde_json::{Value, json};
use syncd_e2e::*;

e2e! {
    async fn records_written_through_rest_are_pending_and_pushed_ones_are_not(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let admin = app.client(&t, "back-office");
        let app1 = app.client(&t, "app-1");

        let (status, created) = admin
            .post("/api/end_user", &json!({ "name": "From the office", "email": "o@example.com" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let crud_user = created["data"].clone();
        assert_eq!(crud_user["sync_status"], json!("pending"), "{crud_user}");
        assert_eq!(crud_user["server_synced"], json!(0), "{crud_user}");
        assert_eq!(crud_user["version"], json!(1));

        let (status, created) = admin
            .post("/api/interactions", &json!({ "type": "email", "title": "From the office" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let crud_interaction = created["data"].clone();
        assert_eq!(crud_interaction["sync_status"], json!("pending"), "{crud_interaction}");

        let pushed_user = app1.create_record("end_user", json!({ "name": "From an app" })).await;
        assert_eq!(pushed_user["sync_status"], json!("synced"));
        let pushed_interaction = app1
            .create_record("interactions", json!({ "type": "call", "title": "From an app" }))
            .await;

        let (status, page) = app1
            .pull_pending(&json!({ "entityTypes": ["end_user", "interactions"] }))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["success"], json!(true));
        assert!(is_rfc3339_millis_utc(&page["syncTimestamp"]), "{page}");
        // end_user: `is_deleted = 0 AND sync_status = 'pending'`.
        assert_eq!(records_of(&page, "end_user"), &vec![crud_user.clone()], "{page}");
        // interactions: no filter, every live record (SPEC §2).
        let mut got = ids(records_of(&page, "interactions"));
        got.sort();
        let mut expected = ids(&[crud_interaction, pushed_interaction]);
        expected.sort();
        assert_eq!(got, expected, "{page}");
        assert!(!ids(records_of(&page, "end_user")).contains(&pushed_user["id"].as_str().unwrap().to_owned()));
    }
}

e2e! {
    async fn a_deleted_end_user_is_not_pending(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let admin = app.client(&t, "back-office");
        let (_, kept) = admin.post("/api/end_user", &json!({ "name": "kept" })).await;
        let (_, gone) = admin.post("/api/end_user", &json!({ "name": "gone" })).await;
        let gone_id = gone["data"]["id"].as_str().unwrap().to_owned();
        let (status, deleted) = admin.delete(&format!("/api/end_user/{gone_id}")).await;
        assert_eq!(status, StatusCode::OK, "{deleted}");
        assert_eq!(deleted["data"], json!({ "id": gone_id, "deleted": true }));

        let (status, page) = admin.pull_pending(&json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(ids(records_of(&page, "end_user")), ids(&[kept["data"].clone()]), "{page}");

        // A cancelled (deleted) interaction is not live either.
        let i = admin.post("/api/interactions", &json!({ "type": "call", "title": "x" })).await.1;
        let i_id = i["data"]["id"].as_str().unwrap().to_owned();
        admin.delete(&format!("/api/interactions/{i_id}")).await;
        let (_, page) = admin.pull_pending(&json!({ "entityTypes": ["interactions"] })).await;
        assert_eq!(records_of(&page, "interactions"), &Vec::<Value>::new(), "{page}");
    }
}

e2e! {
    async fn an_app_acknowledges_a_pending_record_by_pushing_it_back(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let admin = app.client(&t, "back-office");
        let app1 = app.client(&t, "app-1");
        admin.post("/api/end_user", &json!({ "name": "Ack me", "phone": "1" })).await;

        let (_, page) = app1.pull_pending(&json!({ "entityTypes": ["end_user"] })).await;
        let pending = records_of(&page, "end_user");
        assert_eq!(pending.len(), 1, "{page}");
        let record = pending[0].clone();
        assert_eq!(record["version"], json!(1));

        // Pushed back as received: same data, its version.
        let res = app1.push_ok(&json!({ "changes": { "end_user": [ record.clone() ] } })).await;
        let result = &res["results"][0];
        assert_eq!(result["status"], json!("updated"), "acknowledging stores a new version: {res}");
        assert_eq!(result["version"], json!(2), "{res}");
        assert_eq!(res["data"][0]["sync_status"], json!("synced"), "{res}");
        assert_eq!(res["data"][0]["server_synced"], json!(1), "{res}");
        assert_eq!(res["data"][0]["name"], json!("Ack me"));

        let (_, page) = app1.pull_pending(&json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(records_of(&page, "end_user"), &Vec::<Value>::new(), "{page}");
        let (_, got) = app1.get(&format!("/api/end_user/{}", record["id"].as_str().unwrap())).await;
        assert_eq!(got["data"]["sync_status"], json!("synced"), "{got}");
        assert_eq!(got["data"]["version"], json!(2), "{got}");
    }
}

e2e! {
    async fn pull_pending_without_entity_types_covers_every_readable_type(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let admin = app.client(&tenant(), "back-office");
        let (_, u) = admin.post("/api/end_user", &json!({ "name": "p" })).await;
        let (status, page) = admin.pull_pending(&json!({})).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(ids(records_of(&page, "end_user")), ids(&[u["data"].clone()]), "{page}");
        assert!(page["data"]["interactions"].is_array(), "{page}");
    }
}
