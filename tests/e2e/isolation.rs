//! Tenant isolation (SPEC §3, guarantee 6): nothing of tenant A is readable or writable through
//! tenant B's token.

use serde_json::{Value, json};
use syncd_e2e::*;

e2e! {
    async fn another_tenants_record_cannot_be_read_by_id(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let a = app.client(&tenant(), "app-a");
        let b = app.client(&tenant(), "app-b");
        let secret = a.create_record("end_user", json!({ "name": "A's", "email": "a@example.com" })).await;
        let id = secret["id"].as_str().unwrap();

        let response = b.get(&format!("/api/end_user/{id}")).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        assert!(!response.1.to_string().contains("a@example.com"), "{}", response.1);
        let response = b.get(&format!("/api/end_user/{id}/history")).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");

        let (status, own) = a.get(&format!("/api/end_user/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{own}");
    }
}

e2e! {
    async fn a_push_to_another_tenants_id_never_touches_that_tenants_record(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let a = app.client(&tenant(), "app-a");
        let b = app.client(&tenant(), "app-b");
        let original = a
            .create_record("end_user", json!({ "name": "A's", "email": "a@example.com", "phone": "1" }))
            .await;
        let id = original["id"].as_str().unwrap().to_owned();

        for body in [
            json!({ "changes": { "end_user": [ { "id": id, "name": "hijack", "version": 1 } ] } }),
            json!({ "changes": [ { "entityType": "end_user", "op": "update", "id": id,
                "baseVersion": 1, "data": { "phone": "666" } } ] }),
            json!({ "table": "end_user", "operation": "delete", "data": { "id": id, "version": 1 } }),
        ] {
            let (status, res) = b.push(&body).await;
            // Creates (or fails) in B's tenant only; never shows A's data.
            assert!(status == StatusCode::OK || status.is_client_error(), "{status} {res}");
            assert!(!res.to_string().contains("a@example.com"), "A's data leaked: {res}");
        }

        let (status, got) = a.get(&format!("/api/end_user/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["data"], original, "A's record is untouched");
        let (a_all, _) = a.pull_all(None, 1000).await;
        assert_eq!(a_all.len(), 1);
        assert_eq!(a_all[0]["name"], json!("A's"));
        assert_eq!(a_all[0]["version"], json!(1));

        // In B's tenant the map-form push made a record of B's own.
        let (b_all, _) = b.pull_all(None, 1000).await;
        assert!(b_all.iter().all(|r| r["email"] != json!("a@example.com")), "{b_all:?}");
        assert!(b_all.iter().any(|r| r["name"] == json!("hijack")), "{b_all:?}");
        let fresh = b.push_ok(&json!({ "changes": { "end_user": [ { "id": new_id(), "name": "b" } ] } })).await;
        assert_eq!(fresh["results"][0]["status"], json!("created"));
    }
}

e2e! {
    async fn a_map_form_push_naming_another_tenants_id_creates_a_new_record_in_the_callers_tenant(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let a = app.client(&tenant(), "app-a");
        let b = app.client(&tenant(), "app-b");
        let original = a.create_record("end_user", json!({ "name": "A's" })).await;
        let id = original["id"].as_str().unwrap().to_owned();

        let res = b
            .push_ok(&json!({ "changes": { "end_user": [ { "id": id, "name": "B's", "version": 1 } ] } }))
            .await;
        assert_eq!(res["results"][0]["status"], json!("created"), "{res}");
        assert_eq!(res["results"][0]["version"], json!(1), "{res}");
        assert_eq!(res["data"][0]["name"], json!("B's"));

        let (_, in_a) = a.get(&format!("/api/end_user/{id}")).await;
        assert_eq!(in_a["data"]["name"], json!("A's"));
        assert_eq!(in_a["data"]["version"], json!(1));
    }
}

e2e! {
    async fn a_client_user_id_of_another_tenant_is_rejected_naming_the_field(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let a = app.client(&tenant(), "app-a");
        let b = app.client(&tenant(), "app-b");
        let a_user = a.create_record("end_user", json!({ "name": "A's" })).await;
        let before = b.pull_all(None, 1000).await;

        for body in [
            json!({ "changes": { "interactions": [ { "type": "call", "title": "x",
                "client_user_id": a_user["id"] } ] } }),
            json!({ "changes": [ { "entityType": "interactions",
                "data": { "type": "call", "title": "x", "client_user_id": a_user["id"] } } ] }),
        ] {
            let response = b.push(&body).await;
            assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            let detail = &response.1["error"]["details"][0];
            assert_eq!(detail["field"], json!("client_user_id"), "{}", response.1);
            assert_eq!(detail["index"], json!(0));
            assert_eq!(detail["entityType"], json!("interactions"));
        }
        assert_eq!(b.pull_all(None, 1000).await, before);

        // Through REST too.
        let (status, body) = b
            .post("/api/interactions", &json!({ "type": "call", "title": "x", "client_user_id": a_user["id"] }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["details"][0]["field"], json!("client_user_id"));
    }
}

e2e! {
    async fn pulls_and_pull_pending_never_include_other_tenants(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let a = app.client(&tenant(), "app-a");
        let b = app.client(&tenant(), "app-b");
        a.create_record("end_user", json!({ "name": "A pushed" })).await;
        a.create_record("interactions", json!({ "type": "call", "title": "A pushed" })).await;
        a.post("/api/end_user", &json!({ "name": "A pending" })).await;
        a.post("/api/interactions", &json!({ "type": "call", "title": "A pending" })).await;
        let b_user = b.create_record("end_user", json!({ "name": "B pushed" })).await;

        let (b_all, _) = b.pull_all(None, 2).await;
        assert_eq!(ids(&b_all), ids(std::slice::from_ref(&b_user)), "{b_all:?}");
        let page = b.pull_ok(&json!({ "lastSyncTimestamp": time_from_now(-3600) })).await;
        assert_eq!(ids(&page_records(&page)), ids(&[b_user]), "{page}");

        let (_, pending) = b.pull_pending(&json!({ "entityTypes": ["end_user", "interactions"] })).await;
        assert_eq!(page_records(&pending), Vec::<Value>::new(), "{pending}");

        let (_, list) = b.get("/api/end_user").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
        let (_, search) = b.get("/api/end_user?search=A").await;
        assert!(
            search["data"].as_array().is_none_or(|d| d.iter().all(|r| r["name"] != json!("A pushed"))),
            "{search}"
        );
        let (_, filtered) = b.get("/api/end_user?name=A%20pushed").await;
        assert_eq!(filtered["data"], json!([]), "{filtered}");
    }
}

e2e! {
    async fn another_tenants_conflicts_are_invisible(backend) {
        let app = TestApp::spawn(backend, |s| s.sync.default_strategy = "manual".into()).await;
        let ta = tenant();
        let a1 = app.client(&ta, "app-1");
        let a2 = app.client(&ta, "app-2");
        let b = app.client(&tenant(), "app-b");
        let r = a1.create_record("end_user", json!({ "name": "n", "phone": "0" })).await;
        a1.push_ok(&json!({ "changes": [ { "entityType": "end_user", "id": r["id"], "baseVersion": 1,
            "data": { "phone": "1" } } ] })).await;
        let res = a2.push_ok(&json!({ "changes": [ { "entityType": "end_user", "id": r["id"],
            "baseVersion": 1, "data": { "phone": "2" } } ] })).await;
        assert_eq!(res["results"][0]["status"], json!("conflict"), "{res}");
        let (_, listed) = a1.conflicts("").await;
        let conflict_id = listed["data"][0]["id"].as_str().unwrap().to_owned();

        let (status, b_list) = b.conflicts("").await;
        assert_eq!(status, StatusCode::OK, "{b_list}");
        assert_eq!(b_list["data"], json!([]), "{b_list}");
        let response = b.resolve_conflict(&conflict_id, &json!({ "data": { "phone": "9" } })).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");

        let (_, still) = a1.conflicts("").await;
        assert_eq!(still["data"].as_array().unwrap().len(), 1, "{still}");
        let (_, got) = a1.get(&format!("/api/end_user/{}", r["id"].as_str().unwrap())).await;
        assert_eq!(got["data"]["phone"], json!("1"));
    }
}

e2e! {
    async fn another_tenants_record_cannot_be_changed_through_rest(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let a = app.client(&tenant(), "app-a");
        let b = app.client(&tenant(), "app-b");
        let original = a.create_record("end_user", json!({ "name": "A's" })).await;
        let id = original["id"].as_str().unwrap().to_owned();

        let response = b.put("/api/end_user", &json!({ "id": id, "name": "changed" })).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = b.delete(&format!("/api/end_user/{id}")).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = b.delete(&format!("/api/end_user?id={id}")).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");

        let (_, got) = a.get(&format!("/api/end_user/{id}")).await;
        assert_eq!(got["data"], original);
    }
}
