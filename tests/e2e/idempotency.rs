//! Idempotency (SPEC §4.1, guarantee 3): a retried push applies once.

use serde_json::{Value, json};
use syncd_e2e::*;

e2e! {
    async fn a_push_retried_with_the_same_key_returns_the_first_response_and_applies_nothing(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let body = json!({ "changes": { "end_user": [ { "name": "Once" } ],
            "interactions": [ { "type": "call", "title": "Once too" } ] } });

        let first = app1.push_raw(Some("push-0001"), &body).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        let head = app1.head().await;
        let (everything, _) = app1.pull_all(None, 1000).await;
        let statements = app.statements();

        let again = app1.push_raw(Some("push-0001"), &body).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        assert_eq!(again.json(), first.json(), "the replay is the first response");
        assert_eq!(again.text, first.text, "byte for byte");
        assert!(app.statements() > statements, "the statement counter works");

        assert_eq!(app1.head().await, head, "a replay moves no cursor");
        let (after, _) = app1.pull_all(None, 1000).await;
        assert_eq!(after, everything, "a replay applies nothing");
        assert_eq!(after.len(), 2);
    }
}

e2e! {
    async fn a_retried_update_is_applied_once(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let r = app1.create_record("end_user", json!({ "name": "a", "phone": "1" })).await;
        let update = json!({ "changes": [ { "entityType": "end_user", "id": r["id"],
            "baseVersion": 1, "data": { "phone": "2" } } ] });
        let (s1, first) = app1.push_with_key("upd-1", &update).await;
        let (s2, second) = app1.push_with_key("upd-1", &update).await;
        assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{first} {second}");
        assert_eq!(first, second);
        assert_eq!(first["results"][0]["version"], json!(2));
        let (_, got) = app1.get(&format!("/api/end_user/{}", r["id"].as_str().unwrap())).await;
        assert_eq!(got["data"]["version"], json!(2), "applied once: {got}");
    }
}

e2e! {
    async fn the_body_push_id_works_like_the_header(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let body = json!({ "pushId": "body-key-1", "changes": { "end_user": [ { "name": "b" } ] } });
        let first = app1.push_ok(&body).await;
        let head = app1.head().await;
        let second = app1.push_ok(&body).await;
        assert_eq!(second, first);
        assert_eq!(app1.head().await, head);
        let (all, _) = app1.pull_all(None, 1000).await;
        assert_eq!(all.len(), 1, "{all:?}");

        // Same pushId, another body.
        let other = json!({ "pushId": "body-key-1", "changes": { "end_user": [ { "name": "c" } ] } });
        let response = app1.push(&other).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    }
}

e2e! {
    async fn the_same_key_with_another_body_is_refused_and_applies_nothing(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        app1.push_with_key("k-1", &json!({ "changes": { "end_user": [ { "name": "first" } ] } })).await;
        let head = app1.head().await;
        let response = app1
            .push_with_key("k-1", &json!({ "changes": { "end_user": [ { "name": "second" } ] } }))
            .await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
        assert_eq!(app1.head().await, head);
        let (all, _) = app1.pull_all(None, 1000).await;
        let names: Vec<&Value> = all.iter().map(|r| &r["name"]).collect();
        assert_eq!(names, vec![&json!("first")]);
    }
}

e2e! {
    async fn the_same_key_from_another_client_is_independent(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let body = json!({ "changes": { "end_user": [ { "name": "per client" } ] } });

        // Clients named by the token's client_id claim.
        let a = app.client(&t, "app-a");
        let b = app.client(&t, "app-b");
        let ra = a.push_with_key("shared", &body).await;
        let rb = b.push_with_key("shared", &body).await;
        assert_eq!((ra.0, rb.0), (StatusCode::OK, StatusCode::OK), "{} {}", ra.1, rb.1);
        assert_eq!(rb.1["results"][0]["status"], json!("created"));
        assert_ne!(ra.1["results"][0]["id"], rb.1["results"][0]["id"]);

        // Clients named by X-Client-Id under one token without client_id.
        let token = app.sign(&claims(&t, "user-x"));
        let c = app.client_with_token(token.clone()).with_client_id_header("device-c");
        let d = app.client_with_token(token).with_client_id_header("device-d");
        let rc = c.push_with_key("shared-2", &body).await;
        let rd = d.push_with_key("shared-2", &body).await;
        assert_eq!((rc.0, rd.0), (StatusCode::OK, StatusCode::OK), "{} {}", rc.1, rd.1);
        assert_eq!(rd.1["results"][0]["status"], json!("created"));
        assert_ne!(rc.1["results"][0]["id"], rd.1["results"][0]["id"]);
        // The same device again is a replay.
        let rc2 = c.push_with_key("shared-2", &body).await;
        assert_eq!(rc2, rc);

        let (all, _) = a.pull_all(None, 1000).await;
        assert_eq!(all.len(), 4, "four distinct pushes were applied: {all:?}");
    }
}

e2e! {
    async fn the_same_key_from_another_tenant_is_independent(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let body = json!({ "changes": { "end_user": [ { "name": "per tenant" } ] } });
        let one = app.client(&tenant(), "app-1");
        let two = app.client(&tenant(), "app-1");
        let r1 = one.push_with_key("same-key", &body).await;
        let r2 = two.push_with_key("same-key", &body).await;
        assert_eq!((r1.0, r2.0), (StatusCode::OK, StatusCode::OK), "{} {}", r1.1, r2.1);
        assert_eq!(r2.1["results"][0]["status"], json!("created"));
        assert_ne!(r1.1["results"][0]["id"], r2.1["results"][0]["id"], "no replay across tenants");
        let (all_two, _) = two.pull_all(None, 1000).await;
        assert_eq!(ids(&all_two), vec![r2.1["results"][0]["id"].as_str().unwrap().to_owned()]);
    }
}

e2e! {
    async fn concurrent_retries_with_one_key_apply_once(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let body = json!({ "changes": { "end_user": [ { "name": "raced" } ] } });
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let client = app1.clone();
            let body = body.clone();
            tasks.push(tokio::spawn(async move { client.push_with_key("race-1", &body).await }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            let (status, json) = t.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{json}");
            answers.push(json);
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "every retry got the first response");
        let (all, _) = app1.pull_all(None, 100).await;
        assert_eq!(all.len(), 1, "applied once: {all:?}");
        assert_eq!(all[0]["version"], json!(1));
    }
}
