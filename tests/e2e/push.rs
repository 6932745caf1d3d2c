//! Push (SPEC §4.1): the three body shapes and the response fields.

use serde_json::{Value, json};
use syncd_e2e::*;

/// The fields every record in a response carries, checked for a record written by a push.
fn assert_synced_end_user(record: &Value, version: i64) {
    assert!(is_uuid(&record["id"]), "{record}");
    assert_eq!(record["version"], json!(version), "{record}");
    assert_eq!(record["sync_status"], json!("synced"), "{record}");
    assert_eq!(record["server_synced"], json!(1), "{record}");
    assert!(is_rfc3339_millis_utc(&record["last_updated"]), "{record}");
    assert!(is_rfc3339_millis_utc(&record["createdAt"]), "{record}");
    assert!(is_rfc3339_millis_utc(&record["updatedAt"]), "{record}");
    assert!(record.get("tenant_id").is_none(), "{record}");
}

fn assert_result(result: &Value, index: usize, entity_type: &str, status: &str, version: i64) {
    assert_eq!(result["index"], json!(index), "{result}");
    assert_eq!(result["entityType"], json!(entity_type), "{result}");
    assert_eq!(result["status"], json!(status), "{result}");
    assert_eq!(result["version"], json!(version), "{result}");
    assert!(is_uuid(&result["id"]), "{result}");
    assert!(result["strategy"].is_string(), "{result}");
    assert!(result["conflictingFields"].is_array(), "{result}");
}

e2e! {
    async fn a_map_form_push_creates_records_of_several_types_and_answers_every_field(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let user_id = new_id();
        let body = json!({ "clientId": "app-1", "changes": {
            "end_user": [
                { "id": user_id, "name": "John Doe", "email": "john@example.com",
                  "sync_status": "pending", "server_synced": 0, "version": 1 },
                { "id": null, "name": "Jane Roe", "phone": "1234567890" }
            ],
            "interactions": [
                { "id": null, "type": "call", "title": "Follow up call",
                  "date": "2024-01-01T10:00:00Z", "status": "pending", "client_user_id": user_id }
            ]
        }});
        let (status, res) = app1.push(&body).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        assert_eq!(res["success"], json!(true));
        let data = res["data"].as_array().expect("data is a list");
        let results = res["results"].as_array().expect("results is a list");
        assert_eq!(data.len(), 3, "{res}");
        assert_eq!(results.len(), 3, "{res}");

        assert_result(&results[0], 0, "end_user", "created", 1);
        assert_result(&results[1], 1, "end_user", "created", 1);
        assert_result(&results[2], 2, "interactions", "created", 1);
        for (r, d) in results.iter().zip(data) {
            assert_eq!(r["id"], d["id"], "results[i] and data[i] name the same record: {res}");
            assert_eq!(r["strategy"], json!("field-merge"), "the default strategy: {r}");
            assert_eq!(r["conflictingFields"], json!([]), "{r}");
        }

        // A proposed UUID is kept; a null id gets a server-generated one.
        assert_eq!(data[0]["id"], json!(user_id));
        assert_eq!(data[0]["name"], json!("John Doe"));
        assert_eq!(data[0]["email"], json!("john@example.com"));
        assert_eq!(data[0]["deleted"], json!(false));
        assert_synced_end_user(&data[0], 1);
        assert_eq!(data[1]["name"], json!("Jane Roe"));
        assert_eq!(data[1]["phone"], json!("1234567890"));
        assert_synced_end_user(&data[1], 1);
        assert_ne!(data[1]["id"], data[0]["id"]);

        let interaction = &data[2];
        assert!(is_uuid(&interaction["id"]), "{interaction}");
        assert_eq!(interaction["type"], json!("call"));
        assert_eq!(interaction["title"], json!("Follow up call"));
        assert_eq!(interaction["status"], json!("pending"));
        assert_eq!(interaction["client_user_id"], json!(user_id));
        assert_eq!(interaction["sync_status"], json!("synced"));
        assert_eq!(interaction["version"], json!(1));
        assert_eq!(interaction["deleted"], json!(false));

        assert!(res["cursor"].as_str().is_some_and(|c| !c.is_empty()), "{res}");
        assert!(is_rfc3339_millis_utc(&res["syncTimestamp"]), "{res}");

        // What the push answered is what is stored.
        let (status, got) = app1.get(&format!("/api/end_user/{user_id}")).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["data"], data[0]);
    }
}

e2e! {
    async fn map_form_changes_are_applied_in_object_key_order(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");

        // `interactions` first: its reference to an end_user created later in the push names
        // nothing yet.
        let user_id = new_id();
        let later = json!({ "changes": {
            "interactions": [ { "type": "call", "title": "t", "client_user_id": user_id } ],
            "end_user": [ { "id": user_id, "name": "Ann" } ]
        }});
        let response = app1.push(&later).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let details = response.1["error"]["details"].as_array().expect("details");
        assert_eq!(details.len(), 1, "{}", response.1);
        assert_eq!(details[0]["index"], json!(0));
        assert_eq!(details[0]["entityType"], json!("interactions"));
        assert_eq!(details[0]["field"], json!("client_user_id"));

        // `end_user` first: created earlier in the same push, so the reference holds.
        let earlier = json!({ "changes": {
            "end_user": [ { "id": user_id, "name": "Ann" } ],
            "interactions": [
                { "type": "call", "title": "first", "client_user_id": user_id },
                { "type": "email", "title": "second", "client_user_id": user_id }
            ]
        }});
        let res = app1.push_ok(&earlier).await;
        let kinds: Vec<_> = res["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["index"].clone(), r["entityType"].clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (json!(0), json!("end_user")),
                (json!(1), json!("interactions")),
                (json!(2), json!("interactions")),
            ]
        );
        assert_eq!(res["data"][1]["title"], json!("first"));
        assert_eq!(res["data"][2]["title"], json!("second"));

        // The same types in the other key order, without references: order follows the body.
        let res = app1
            .push_ok(&json!({ "changes": {
                "interactions": [ { "type": "call", "title": "x" } ],
                "end_user": [ { "name": "Bob" } ]
            }}))
            .await;
        assert_eq!(res["results"][0]["entityType"], json!("interactions"));
        assert_eq!(res["results"][1]["entityType"], json!("end_user"));
    }
}

e2e! {
    async fn a_single_operation_push_creates_updates_and_deletes(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");

        let res = app1
            .push_ok(&json!({ "table": "end_user", "operation": "create",
                "data": { "name": "John Doe", "email": "john@example.com", "phone": "1234567890" } }))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "created", 1);
        let record = &res["data"][0];
        assert_synced_end_user(record, 1);
        let id = record["id"].as_str().unwrap().to_owned();
        let uuid = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(uuid.get_version_num(), 7, "a server-generated id is a UUID v7: {id}");
        assert_eq!(record["phone"], json!("1234567890"));

        let res = app1
            .push_ok(&json!({ "table": "end_user", "operation": "update",
                "data": { "id": id, "name": "John Smith", "version": 1 } }))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "updated", 2);
        assert_eq!(res["results"][0]["id"], json!(id));
        assert_eq!(res["data"][0]["name"], json!("John Smith"));
        assert_eq!(res["data"][0]["email"], json!("john@example.com"), "fields not sent keep their values");
        assert_synced_end_user(&res["data"][0], 2);

        // `create` on an existing id is an upsert.
        let res = app1
            .push_ok(&json!({ "table": "end_user", "operation": "create",
                "data": { "id": id, "name": "John Smith", "phone": "555", "version": 2 } }))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "updated", 3);
        assert_eq!(res["data"][0]["phone"], json!("555"));

        let res = app1
            .push_ok(&json!({ "table": "end_user", "operation": "delete",
                "data": { "id": id, "version": 3 } }))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "deleted", 4);
        assert_eq!(res["data"][0]["is_deleted"], json!(1));
        assert_eq!(res["data"][0]["deleted"], json!(true));

        let (status, got) = app1.get(&format!("/api/end_user/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a deleted record reads as absent: {got}");
    }
}

e2e! {
    async fn a_list_form_push_upserts_and_deletes_with_base_versions(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let user = new_id();
        let res = app1
            .push_ok(&json!({ "clientId": "app-1", "changes": [
                { "entityType": "end_user", "op": "upsert", "id": user,
                  "data": { "name": "Ann", "email": "ann@example.com" },
                  "clientUpdatedAt": time_from_now(-1) },
                { "entityType": "interactions", "op": "create",
                  "data": { "type": "meeting", "title": "Kick-off", "client_user_id": user } }
            ]}))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "created", 1);
        assert_result(&res["results"][1], 1, "interactions", "created", 1);
        assert_eq!(res["data"][0]["id"], json!(user));
        let interaction = res["data"][1]["id"].as_str().unwrap().to_owned();

        let res = app1
            .push_ok(&json!({ "changes": [
                { "entityType": "end_user", "op": "update", "id": user, "baseVersion": 1,
                  "data": { "phone": "42" } }
            ]}))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "updated", 2);
        assert_eq!(res["data"][0]["phone"], json!("42"));
        assert_eq!(res["data"][0]["name"], json!("Ann"));

        let res = app1
            .push_ok(&json!({ "changes": [
                { "entityType": "end_user", "op": "delete", "id": user, "baseVersion": 2 },
                { "entityType": "interactions", "op": "delete", "id": interaction, "baseVersion": 1 }
            ]}))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "deleted", 3);
        assert_result(&res["results"][1], 1, "interactions", "deleted", 2);
        assert_eq!(res["data"][0]["is_deleted"], json!(1));
        assert_eq!(res["data"][0]["deleted"], json!(true));
        assert_eq!(res["data"][1]["status"], json!("cancelled"));
        assert_eq!(res["data"][1]["deleted"], json!(true));
    }
}

e2e! {
    async fn every_write_adds_one_to_the_version_and_an_unchanged_change_adds_nothing(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let record = app1.create_record("end_user", json!({ "name": "v" })).await;
        let id = record["id"].as_str().unwrap().to_owned();
        assert_eq!(record["version"], json!(1));

        let mut cursor = String::new();
        for version in 2..=4 {
            let res = app1
                .push_ok(&json!({ "changes": [ { "entityType": "end_user", "id": id,
                    "baseVersion": version - 1, "data": { "name": format!("v{version}") } } ] }))
                .await;
            assert_result(&res["results"][0], 0, "end_user", "updated", version);
            assert_eq!(res["data"][0]["version"], json!(version));
            cursor = res["cursor"].as_str().unwrap().to_owned();
        }

        // The same data again: nothing changes, not even the version or the cursor.
        let res = app1
            .push_ok(&json!({ "changes": [ { "entityType": "end_user", "id": id,
                "baseVersion": 4, "data": { "name": "v4" } } ] }))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "unchanged", 4);
        assert_eq!(res["data"][0]["version"], json!(4));
        assert_eq!(res["cursor"], json!(cursor), "an unchanged result takes no seq");

        let after = app1.pull_ok(&json!({ "cursor": cursor })).await;
        assert_eq!(page_records(&after), Vec::<Value>::new(), "{after}");
        let (_, got) = app1.get(&format!("/api/end_user/{id}")).await;
        assert_eq!(got["data"]["version"], json!(4));
    }
}

e2e! {
    async fn a_map_form_record_marked_deleted_is_a_delete(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let a = app1.create_record("end_user", json!({ "name": "a" })).await;
        let b = app1.create_record("end_user", json!({ "name": "b" })).await;
        let i = app1
            .create_record("interactions", json!({ "type": "call", "title": "c" }))
            .await;
        let res = app1
            .push_ok(&json!({ "changes": {
                "end_user": [
                    { "id": a["id"], "version": 1, "is_deleted": 1 },
                    { "id": b["id"], "version": 1, "isDeleted": true }
                ],
                "interactions": [ { "id": i["id"], "version": 1, "deleted": true } ]
            }}))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "deleted", 2);
        assert_result(&res["results"][1], 1, "end_user", "deleted", 2);
        assert_result(&res["results"][2], 2, "interactions", "deleted", 2);
        assert_eq!(res["data"][0]["is_deleted"], json!(1));
        assert_eq!(res["data"][1]["is_deleted"], json!(1));
        assert_eq!(res["data"][2]["status"], json!("cancelled"));
        for d in res["data"].as_array().unwrap() {
            assert_eq!(d["deleted"], json!(true), "{d}");
        }
    }
}

e2e! {
    async fn successive_edits_of_one_record_in_one_push_each_add_a_version(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let id = new_id();
        let res = app1
            .push_ok(&json!({ "changes": [
                { "entityType": "end_user", "op": "create", "id": id, "data": { "name": "one" } },
                { "entityType": "end_user", "op": "update", "id": id, "baseVersion": 1,
                  "data": { "name": "two" } },
                { "entityType": "end_user", "op": "update", "id": id, "baseVersion": 2,
                  "data": { "phone": "3" } }
            ]}))
            .await;
        assert_result(&res["results"][0], 0, "end_user", "created", 1);
        assert_result(&res["results"][1], 1, "end_user", "updated", 2);
        assert_result(&res["results"][2], 2, "end_user", "updated", 3);
        assert_eq!(res["data"][2]["name"], json!("two"));
        assert_eq!(res["data"][2]["phone"], json!("3"));
    }
}
