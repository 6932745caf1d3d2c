//! Erasure (SPEC §10): `DELETE /api/admin/records/{type}/{id}` and `syncd erase`. After erasing,
//! no row of any table holds the record's values; apps pull a thin tombstone with
//! `erased: true`; a push naming the id is refused; an erased tenant's apps get 410.

use serde_json::{Value, json};
use syncd_e2e::*;
use syncd_server::lifecycle::{self, EraseTarget};

fn admin(app: &TestApp, tenant: &str) -> Client {
    let mut c = claims(tenant, "ops");
    c["roles"] = json!(["admin"]);
    app.client_with_token(app.sign(&c))
}

fn upsert(id: Option<&str>, base: i64, data: Value) -> Value {
    let mut change =
        json!({ "entityType": "end_user", "op": "upsert", "baseVersion": base, "data": data });
    if let Some(id) = id {
        change["id"] = json!(id);
    }
    json!({ "changes": [change] })
}

async fn tables_holding(app: &TestApp, marker: &str) -> Vec<String> {
    let found = app.engine().store().rows_containing(marker).await.unwrap();
    found.into_iter().map(|(table, _)| table).collect()
}

e2e! {
    async fn an_erased_record_leaves_only_a_thin_tombstone_in_every_table(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let (a, b) = (app.client(&t, "app-1"), app.client(&t, "app-2"));
        let marker = format!("marker{}", uuid::Uuid::new_v4().simple());
        let first = upsert(None, 0, json!({ "name": marker, "phone": format!("{marker}-1") }));
        let (status, created) = a.push_with_key("k-1", &first).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let id = created["results"][0]["id"].as_str().unwrap().to_owned();
        a.push_ok(&upsert(Some(&id), 1, json!({ "phone": format!("{marker}-2") }))).await;
        // A stale edit: resolved by field-merge and kept in the conflict log with both sides.
        b.push_ok(&upsert(Some(&id), 1, json!({ "name": format!("{marker}-b") }))).await;
        let (_, b_cursor) = b.pull_all(None, 100).await;
        let before = tables_holding(&app, &marker).await;
        for table in ["records", "record_versions", "conflicts", "idempotency_keys"] {
            assert!(before.iter().any(|t| t == table), "{table} holds the values first: {before:?}");
        }

        let path = format!("/api/admin/records/end_user/{id}");
        assert_error(&a.delete(&path).await, StatusCode::FORBIDDEN, "forbidden");
        let ops = admin(&app, &t);
        let (status, body) = ops.delete(&path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "success": true, "data": { "id": id, "erased": true } }));
        assert_eq!(ops.delete(&path).await.0, StatusCode::OK, "again for an erased id");
        let absent = format!("/api/admin/records/end_user/{}", new_id());
        assert_error(&ops.delete(&absent).await, StatusCode::NOT_FOUND, "not_found");
        assert_error(&admin(&app, &tenant()).delete(&path).await, StatusCode::NOT_FOUND, "not_found");

        assert_eq!(tables_holding(&app, &marker).await, Vec::<String>::new());

        // An app that had the record pulls the thin tombstone.
        let page = b.pull_ok(&json!({ "cursor": b_cursor })).await;
        let records = records_of(&page, "end_user");
        assert_eq!(records.len(), 1, "{page}");
        let tomb = records[0].as_object().unwrap();
        assert_eq!(tomb["id"], json!(id));
        assert_eq!(tomb["deleted"], json!(true));
        assert_eq!(tomb["erased"], json!(true));
        assert_eq!(tomb["is_deleted"], json!(1));
        assert_eq!(tomb["version"], json!(4));
        let mut keys: Vec<&str> = tomb.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["createdAt", "deleted", "erased", "id", "is_deleted", "last_updated",
            "server_synced", "sync_status", "updatedAt", "version"]);

        // A stale push, a replay of a key whose answer held the record, REST: all refused.
        for response in [
            b.push(&upsert(Some(&id), 3, json!({ "name": "back" }))).await,
            a.push_with_key("k-1", &first).await,
            a.put("/api/end_user", &json!({ "id": id, "name": "back" })).await,
        ] {
            assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(response.1["error"]["details"][0]["message"], json!("the record was erased"), "{}", response.1);
        }
        assert_error(&a.get(&format!("/api/end_user/{id}")).await, StatusCode::NOT_FOUND, "not_found");
        let verified = a.post("/api/client/sync/verify", &json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(verified.1["data"]["end_user"]["count"], json!(0));
    }
}

e2e! {
    async fn an_erased_tenant_is_gone_and_its_apps_get_410_then_start_afresh(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let (t, other) = (tenant(), tenant());
        let a = app.client(&t, "app-1");
        let marker = format!("marker{}", uuid::Uuid::new_v4().simple());
        a.push_ok(&upsert(None, 0, json!({ "name": marker }))).await;
        app.client(&other, "app-1").push_ok(&upsert(None, 0, json!({ "name": "kept" }))).await;
        let (_, cursor) = a.pull_all(None, 100).await;

        let target = lifecycle::tenant_arg(&t).unwrap();
        lifecycle::erase(app.settings.clone(), target, EraseTarget::Tenant).await.unwrap();

        assert_eq!(tables_holding(&app, &marker).await, Vec::<String>::new());
        assert_error(&a.pull(&json!({ "cursor": cursor })).await, StatusCode::GONE, "resync_required");
        let (records, fresh) = a.pull_all(None, 100).await;
        assert!(records.is_empty());
        a.push_ok(&upsert(None, 0, json!({ "name": "again" }))).await;
        assert_eq!(page_records(&a.pull_ok(&json!({ "cursor": fresh })).await).len(), 1);
        let (kept, _) = app.client(&other, "app-1").pull_all(None, 100).await;
        assert_eq!(kept.len(), 1);
    }
}

e2e! {
    async fn syncd_erase_of_one_record_works_beside_a_running_server(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let a = app.client(&t, "app-1");
        let created = a.push_ok(&upsert(None, 0, json!({ "name": "to erase" }))).await;
        let id = created["results"][0]["id"].as_str().unwrap().to_owned();
        let target = EraseTarget::Record { entity_type: "end_user".into(), id: id.clone() };
        let tenant_id = lifecycle::tenant_arg(&t).unwrap();
        lifecycle::erase(app.settings.clone(), tenant_id, target).await.unwrap();
        let (records, _) = a.pull_all(None, 100).await;
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["erased"], json!(true));
        assert!(records[0].get("name").is_none());
    }
}
