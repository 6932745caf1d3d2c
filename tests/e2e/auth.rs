//! Authentication and authorisation (SPEC §3): bad tokens are 401 with the JSON error body,
//! scopes limit reads and writes, and server-managed fields cannot be set by clients.

use serde_json::{Value, json};
use syncd_e2e::*;

/// Push, pull, pull-pending and a REST read with `client` are all refused with 401 JSON, and
/// nothing reached the tenant (as seen by an ordinary app of it).
async fn assert_refused(app: &TestApp, client: &Client, tenant: &str) {
    assert_refused_seen_by(client, &app.client(tenant, "auditor")).await;
}

/// Like [`assert_refused`], with `auditor` a valid client of the tenant the bad token names.
async fn assert_refused_seen_by(client: &Client, auditor: &Client) {
    let push = client
        .push(&json!({ "changes": { "end_user": [ { "name": "intruder" } ] } }))
        .await;
    assert_error(&push, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(
        &client.pull(&json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        &client.pull_pending(&json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        &client.get("/api/end_user").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        &client.conflicts("").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let (records, _) = auditor.pull_all(None, 1000).await;
    assert_eq!(
        records,
        Vec::<Value>::new(),
        "a refused push stored something"
    );
}

e2e! {
    async fn a_request_without_a_token_is_unauthorized(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        assert_refused(&app, &app.anonymous(), &t).await;
        let basic = app.anonymous().with_header("Authorization", "Basic dXNlcjpwYXNz");
        assert_refused(&app, &basic, &t).await;
        assert_refused(&app, &app.client_with_token("not.a.jwt"), &t).await;
        assert_refused(&app, &app.client_with_token(""), &t).await;
    }
}

e2e! {
    async fn an_alg_none_token_is_unauthorized(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let token = unsigned_token(&claims(&t, "mallory"));
        assert!(token.ends_with('.'), "empty signature: {token}");
        assert_refused(&app, &app.client_with_token(token), &t).await;
        // Even with a signature part left over from a real token.
        let real = app.sign(&claims(&t, "mallory"));
        let signature = real.rsplit('.').next().unwrap();
        let token = format!("{}{signature}", unsigned_token(&claims(&t, "mallory")));
        assert_refused(&app, &app.client_with_token(token), &t).await;
    }
}

e2e! {
    async fn a_token_signed_with_another_key_is_unauthorized(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let token = sign_hs256(&claims(&t, "mallory"), b"not the server's secret at all!!");
        assert_refused(&app, &app.client_with_token(token), &t).await;
    }
}

e2e! {
    async fn an_expired_token_is_unauthorized_beyond_the_leeway(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut c = claims(&t, "late");
        c["iat"] = json!(now() - 7200);
        c["exp"] = json!(now() - 120);
        assert_refused(&app, &app.client_with_token(app.sign(&c)), &t).await;

        // Within the 30 s leeway a token still works.
        c["exp"] = json!(now() - 5);
        let (status, body) = app.client_with_token(app.sign(&c)).pull(&json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

e2e! {
    async fn a_token_not_yet_valid_is_unauthorized(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut c = claims(&t, "early");
        c["nbf"] = json!(now() + 600);
        assert_refused(&app, &app.client_with_token(app.sign(&c)), &t).await;
    }
}

e2e! {
    async fn a_token_without_a_required_claim_is_unauthorized(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        for missing in ["tenant_id", "sub", "exp"] {
            let mut c = claims(&t, "someone");
            c.as_object_mut().unwrap().remove(missing);
            let client = app.client_with_token(app.sign(&c));
            let response = client.pull(&json!({})).await;
            assert_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
            if missing == "tenant_id" {
                assert_refused(&app, &client, &t).await;
            }
        }
        // `tid` is accepted as an alias of `tenant_id`.
        let mut c = claims(&t, "someone");
        c.as_object_mut().unwrap().remove("tenant_id");
        c["tid"] = json!(t);
        let aliased = app.client_with_token(app.sign(&c));
        let created = aliased.create_record("end_user", json!({ "name": "via tid" })).await;
        let (all, _) = app.client(&t, "other").pull_all(None, 100).await;
        assert_eq!(ids(&all), ids(&[created]));
    }
}

e2e! {
    async fn a_tampered_payload_is_unauthorized(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let victim = tenant();
        let original = app.sign(&claims(&tenant(), "mallory"));
        let forged = tamper(&original, &claims(&victim, "mallory"));
        assert_refused(&app, &app.client_with_token(forged), &victim).await;
        // The untouched token works.
        let (status, _) = app.client_with_token(original).pull(&json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }
}

e2e! {
    async fn issuer_and_audience_are_enforced_when_configured(backend) {
        let app = TestApp::spawn(backend, |s| {
            s.auth.issuer = Some("https://id.example.test".into());
            s.auth.audience = Some("syncd".into());
        })
        .await;
        let t = tenant();
        let good = || {
            let mut c = claims(&t, "u");
            c["iss"] = json!("https://id.example.test");
            c["aud"] = json!("syncd");
            c
        };
        let auditor = app.client_with_token(app.sign(&good()));
        let (status, body) = auditor.pull(&json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let mut cases = Vec::new();
        for (field, value) in [
            ("iss", None),
            ("iss", Some("https://evil.example.test")),
            ("aud", None),
            ("aud", Some("someone-else")),
        ] {
            let mut c = good();
            match value {
                None => {
                    c.as_object_mut().unwrap().remove(field);
                }
                Some(v) => c[field] = json!(v),
            }
            cases.push(c);
        }
        for c in cases {
            let client = app.client_with_token(app.sign(&c));
            let response = client.pull(&json!({})).await;
            assert_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
            assert_refused_seen_by(&client, &auditor).await;
        }
    }
}

e2e! {
    async fn a_write_outside_the_tokens_scope_is_forbidden(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let mut c = claims(&t, "limited");
        c["scope"] = json!("sync:read sync:write:interactions");
        let limited = app.client_with_token(app.sign(&c));

        let response = limited.push(&json!({ "changes": { "end_user": [ { "name": "no" } ] } })).await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        // One forbidden change in a mixed push refuses the whole push.
        let response = limited
            .push(&json!({ "changes": [
                { "entityType": "interactions", "data": { "type": "call", "title": "ok" } },
                { "entityType": "end_user", "data": { "name": "no" } }
            ]}))
            .await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        let response = limited.post("/api/end_user", &json!({ "name": "no" })).await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        let (all, _) = app.client(&t, "auditor").pull_all(None, 100).await;
        assert_eq!(all, Vec::<Value>::new(), "nothing was written");

        let res = limited
            .push_ok(&json!({ "changes": { "interactions": [ { "type": "call", "title": "ok" } ] } }))
            .await;
        assert_eq!(res["results"][0]["status"], json!("created"));

        let mut c = claims(&t, "reader");
        c["scope"] = json!("sync:read");
        let reader = app.client_with_token(app.sign(&c));
        let response = reader
            .push(&json!({ "changes": { "interactions": [ { "type": "call", "title": "no" } ] } }))
            .await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        let (status, _) = reader.pull(&json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }
}

e2e! {
    async fn reading_a_type_outside_the_tokens_scope_is_forbidden(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let writer = app.client(&t, "writer");
        writer.create_record("interactions", json!({ "type": "call", "title": "hidden" })).await;
        let user = writer.create_record("end_user", json!({ "name": "visible" })).await;

        let mut c = claims(&t, "narrow");
        c["scope"] = json!("sync:read:end_user sync:write:end_user");
        let narrow = app.client_with_token(app.sign(&c));
        let response = narrow.pull(&json!({ "entityTypes": ["interactions"] })).await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        let response = narrow.pull(&json!({ "entityTypes": ["end_user", "interactions"] })).await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        let response = narrow.pull_pending(&json!({ "entityTypes": ["interactions"] })).await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        let response = narrow.get("/api/interactions").await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        let response = narrow.conflicts("entityType=interactions").await;
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");

        // Without entityTypes: only what the token may read.
        let page = narrow.pull_ok(&json!({})).await;
        assert!(page["data"].get("interactions").is_none(), "{page}");
        assert_eq!(ids(records_of(&page, "end_user")), ids(&[user]));
    }
}

e2e! {
    async fn server_managed_fields_sent_by_a_push_are_never_stored_or_shown(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let forged = json!({
            "id": "local-123", "name": "Forger", "tenant_id": "someone-else", "tenantId": "x",
            "version": 99, "createdAt": "2000-01-01T00:00:00.000Z",
            "updatedAt": "2000-01-01T00:00:00.000Z", "last_updated": "2000-01-01T00:00:00.000Z",
            "sync_status": "conflict", "server_synced": 0, "deleted": false
        });
        let res = app1.push_ok(&json!({ "changes": { "end_user": [ forged ] } })).await;
        let record = res["data"][0].clone();
        assert_eq!(res["results"][0]["status"], json!("created"), "{res}");
        assert!(is_uuid(&record["id"]), "a non-UUID id is replaced: {record}");
        assert_ne!(record["id"], json!("local-123"));
        assert_eq!(record["version"], json!(1), "{record}");
        for field in ["createdAt", "updatedAt", "last_updated"] {
            assert!(is_rfc3339_millis_utc(&record[field]), "{record}");
            assert_ne!(record[field], json!("2000-01-01T00:00:00.000Z"), "{field}: {record}");
        }
        assert_eq!(record["sync_status"], json!("synced"), "{record}");
        assert_eq!(record["server_synced"], json!(1), "{record}");
        assert!(record.get("tenant_id").is_none() && record.get("tenantId").is_none(), "{record}");

        let id = record["id"].as_str().unwrap().to_owned();
        let (_, got) = app1.get(&format!("/api/end_user/{id}")).await;
        assert_eq!(got["data"], record, "stored as answered");
        let (all, _) = app1.pull_all(None, 100).await;
        assert_eq!(all.len(), 1);
        let text = serde_json::to_string(&all).unwrap();
        assert!(!text.contains("someone-else") && !text.contains("tenant_id"), "{text}");
        assert!(!text.contains("local-123"), "{text}");

        // The forged tenant sees nothing.
        let (theirs, _) = app.client("someone-else", "x").pull_all(None, 100).await;
        assert_eq!(theirs, Vec::<Value>::new());
    }
}

e2e! {
    async fn server_managed_fields_sent_through_rest_are_never_stored_or_shown(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let admin = app.client(&t, "office");
        let (status, created) = admin
            .post("/api/interactions", &json!({
                "type": "call", "title": "t", "tenant_id": "someone-else", "version": 7,
                "createdAt": "2000-01-01T00:00:00.000Z", "updatedAt": "2000-01-01T00:00:00.000Z",
                "sync_status": "synced", "deleted": true
            }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let record = &created["data"];
        assert_eq!(record["version"], json!(1), "{record}");
        assert_eq!(record["sync_status"], json!("pending"), "{record}");
        assert_eq!(record["deleted"], json!(false), "{record}");
        assert_ne!(record["createdAt"], json!("2000-01-01T00:00:00.000Z"));
        assert_ne!(record["updatedAt"], json!("2000-01-01T00:00:00.000Z"));
        assert!(record.get("tenant_id").is_none(), "{record}");
        let (theirs, _) = app.client("someone-else", "x").pull_all(None, 100).await;
        assert_eq!(theirs, Vec::<Value>::new());
    }
}
