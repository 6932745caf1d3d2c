//! Atomicity (SPEC §4.1, guarantee 2): a push with one invalid change applies nothing and
//! reports every invalid change by index.

use serde_json::{Value, json};
use syncd_e2e::*;

/// The whole visible state of a tenant: every record from scratch and the head cursor.
async fn snapshot(client: &Client) -> (Vec<Value>, String) {
    client.pull_all(None, 1000).await
}

/// `(index, entityType, field)` of every detail of a 422.
fn details(body: &Value) -> Vec<(i64, String, String)> {
    body["error"]["details"]
        .as_array()
        .unwrap_or_else(|| panic!("no details in {body}"))
        .iter()
        .map(|d| {
            assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "{d}");
            (
                d["index"].as_i64().unwrap(),
                d["entityType"].as_str().unwrap_or_default().to_owned(),
                d["field"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

e2e! {
    async fn one_invalid_change_applies_nothing_and_every_invalid_index_is_listed(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let existing = app1.create_record("end_user", json!({ "name": "existing", "phone": "1" })).await;
        let before = snapshot(&app1).await;

        let response = app1
            .push(&json!({ "changes": [
                { "entityType": "end_user", "data": { "name": "valid new" } },
                { "entityType": "end_user", "data": { "email": "missing-name@example.com" } },
                { "entityType": "end_user", "id": existing["id"], "baseVersion": 1,
                  "data": { "phone": "2" } },
                { "entityType": "interactions", "data": { "type": "call", "title": 42 } },
                { "entityType": "end_user", "data": { "name": "bad email", "email": "not-an-email" } },
                { "entityType": "interactions", "data": { "type": "call", "title": "ok" } }
            ]}))
            .await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            details(&response.1),
            vec![
                (1, "end_user".to_owned(), "name".to_owned()),
                (3, "interactions".to_owned(), "title".to_owned()),
                (4, "end_user".to_owned(), "email".to_owned()),
            ],
            "{}",
            response.1
        );
        assert_eq!(snapshot(&app1).await, before, "nothing was applied, no cursor moved");
    }
}

e2e! {
    async fn a_missing_required_field_alone_applies_nothing(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        app1.create_record("end_user", json!({ "name": "existing" })).await;
        let before = snapshot(&app1).await;

        let response = app1
            .push(&json!({ "changes": {
                "end_user": [ { "name": "fine" }, { "phone": "no name" } ],
                "interactions": [ { "title": "no type" } ]
            }}))
            .await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            details(&response.1),
            vec![
                (1, "end_user".to_owned(), "name".to_owned()),
                (2, "interactions".to_owned(), "type".to_owned()),
            ],
            "{}",
            response.1
        );
        assert_eq!(snapshot(&app1).await, before);
    }
}

e2e! {
    async fn a_reference_to_a_missing_record_applies_nothing(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let before = snapshot(&app1).await;
        let response = app1
            .push(&json!({ "changes": [
                { "entityType": "end_user", "data": { "name": "valid" } },
                { "entityType": "interactions",
                  "data": { "type": "call", "title": "dangling", "client_user_id": new_id() } }
            ]}))
            .await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            details(&response.1),
            vec![(1, "interactions".to_owned(), "client_user_id".to_owned())]
        );
        assert_eq!(snapshot(&app1).await, before);
    }
}

e2e! {
    async fn an_invalid_single_operation_push_applies_nothing(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let before = snapshot(&app1).await;
        let response = app1
            .push(&json!({ "table": "interactions", "operation": "create",
                "data": { "type": "call", "title": "t", "status": "someday" } }))
            .await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(details(&response.1), vec![(0, "interactions".to_owned(), "status".to_owned())]);
        assert_eq!(snapshot(&app1).await, before);
    }
}
