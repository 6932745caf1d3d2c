//! Conflict resolution (SPEC §5, §4.4): two apps edit the same record from the same base
//! version; the configured strategy (global default or per type) decides.

use serde_json::{Value, json};
use syncd_e2e::*;

struct Scene {
    tenant: String,
    app1: Client,
    app2: Client,
    id: String,
}

/// App 1 creates `Ann` (version 1); both apps hold version 1.
async fn two_apps_share_a_record(app: &TestApp) -> Scene {
    let t = tenant();
    let app1 = app.client(&t, "app-1");
    let app2 = app.client(&t, "app-2");
    let r = app1
        .create_record(
            "end_user",
            json!({ "name": "Ann", "email": "ann@example.com", "phone": "100" }),
        )
        .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let (_, seen) = app2.get(&format!("/api/end_user/{id}")).await;
    assert_eq!(seen["data"]["version"], json!(1));
    Scene {
        tenant: t,
        app1,
        app2,
        id,
    }
}

/// A list-form update of `id` from `base`, optionally with the client's edit time.
fn update(id: &str, base: i64, data: Value, edited: Option<String>) -> Value {
    let mut change = json!({ "entityType": "end_user", "op": "update", "id": id,
        "baseVersion": base, "data": data });
    if let Some(t) = edited {
        change["clientUpdatedAt"] = json!(t);
    }
    json!({ "changes": [ change ] })
}

async fn stored(client: &Client, id: &str) -> Value {
    let (status, body) = client.get(&format!("/api/end_user/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

#[track_caller]
fn assert_outcome(res: &Value, status: &str, strategy: &str, version: i64) {
    let r = &res["results"][0];
    assert_eq!(r["status"], json!(status), "{res}");
    assert_eq!(r["strategy"], json!(strategy), "{res}");
    assert_eq!(r["version"], json!(version), "{res}");
    assert_eq!(res["data"][0]["version"], json!(version), "{res}");
}

e2e! {
    async fn server_wins_as_the_global_default_keeps_the_server_record(backend) {
        let app = TestApp::spawn(backend, |s| s.sync.default_strategy = "server-wins".into()).await;
        let Scene { app1, app2, id, .. } = two_apps_share_a_record(&app).await;
        let first = app1.push_ok(&update(&id, 1, json!({ "phone": "111" }), None)).await;
        assert_outcome(&first, "updated", "server-wins", 2);

        let res = app2.push_ok(&update(&id, 1, json!({ "phone": "222" }), None)).await;
        assert_outcome(&res, "conflict_resolved", "server-wins", 2);
        assert_eq!(res["results"][0]["conflictingFields"], json!(["phone"]), "{res}");
        assert_eq!(res["data"][0]["phone"], json!("111"), "data is the server copy: {res}");
        assert_eq!(stored(&app1, &id).await["phone"], json!("111"));

        // No base version at all counts as 0: a conflict too.
        let res = app2
            .push_ok(&json!({ "changes": { "end_user": [ { "id": id, "name": "Ann", "phone": "333" } ] } }))
            .await;
        assert_outcome(&res, "conflict_resolved", "server-wins", 2);
        // A stale delete keeps the record alive.
        let res = app2
            .push_ok(&json!({ "changes": [ { "entityType": "end_user", "op": "delete", "id": id, "baseVersion": 1 } ] }))
            .await;
        assert_outcome(&res, "conflict_resolved", "server-wins", 2);
        let kept = stored(&app1, &id).await;
        assert_eq!(kept["deleted"], json!(false));
        assert_eq!(kept["phone"], json!("111"));
        assert_eq!(kept["version"], json!(2));
    }
}

e2e! {
    async fn client_wins_set_for_a_type_takes_the_clients_fields(backend) {
        let app = TestApp::spawn(backend, |s| {
            s.sync.strategies.insert("end_user".into(), "client-wins".into());
        })
        .await;
        let Scene { app1, app2, id, .. } = two_apps_share_a_record(&app).await;
        app1.push_ok(&update(&id, 1, json!({ "phone": "111", "name": "Ann One" }), None)).await;

        let res = app2.push_ok(&update(&id, 1, json!({ "phone": "222" }), None)).await;
        assert_outcome(&res, "conflict_resolved", "client-wins", 3);
        assert_eq!(res["results"][0]["conflictingFields"], json!(["phone"]), "{res}");
        let now = stored(&app1, &id).await;
        assert_eq!(now["phone"], json!("222"));
        assert_eq!(now["name"], json!("Ann One"), "fields the client did not send stay");
        assert_eq!(now["version"], json!(3));

        // A stale delete deletes; a stale update of the tombstone revives it.
        let res = app1
            .push_ok(&json!({ "changes": [ { "entityType": "end_user", "op": "delete", "id": id, "baseVersion": 2 } ] }))
            .await;
        assert_eq!(res["results"][0]["version"], json!(4), "{res}");
        assert_eq!(res["data"][0]["deleted"], json!(true), "{res}");
        let res = app2.push_ok(&update(&id, 3, json!({ "name": "Back" }), None)).await;
        assert_eq!(res["results"][0]["version"], json!(5), "{res}");
        assert_eq!(res["data"][0]["deleted"], json!(false), "revived: {res}");
        assert_eq!(res["data"][0]["is_deleted"], json!(0), "revived: {res}");
        assert_eq!(stored(&app1, &id).await["name"], json!("Back"));

        // Other types keep the global default.
        let i = app1.create_record("interactions", json!({ "type": "call", "title": "t" })).await;
        let res = app1
            .push_ok(&json!({ "changes": [ { "entityType": "interactions", "id": i["id"], "baseVersion": 1,
                "data": { "title": "u" } } ] }))
            .await;
        assert_eq!(res["results"][0]["strategy"], json!("field-merge"), "{res}");
    }
}

e2e! {
    async fn last_write_wins_takes_the_later_edit_by_the_clients_clocks(backend) {
        let app = TestApp::spawn(backend, |s| s.sync.default_strategy = "last-write-wins".into()).await;
        let Scene { app1, app2, id, .. } = two_apps_share_a_record(&app).await;
        let res = app1
            .push_ok(&update(&id, 1, json!({ "phone": "111" }), Some(time_from_now(-60))))
            .await;
        assert_outcome(&res, "updated", "last-write-wins", 2);

        // App 2 edited later (by its clock): it wins.
        let res = app2
            .push_ok(&update(&id, 1, json!({ "phone": "222" }), Some(time_from_now(-30))))
            .await;
        assert_outcome(&res, "conflict_resolved", "last-write-wins", 3);
        assert_eq!(res["data"][0]["phone"], json!("222"));

        // App 1 edited earlier than the current state: the server keeps its record.
        let res = app1
            .push_ok(&update(&id, 2, json!({ "phone": "333" }), Some(time_from_now(-45))))
            .await;
        assert_outcome(&res, "conflict_resolved", "last-write-wins", 3);
        assert_eq!(res["data"][0]["phone"], json!("222"));
        assert_eq!(stored(&app1, &id).await["phone"], json!("222"));

        // A clock far in the future is clamped to server time, so it cannot beat an edit made
        // (within the allowed skew) after now.
        let res = app1
            .push_ok(&update(&id, 3, json!({ "phone": "444" }), Some(time_from_now(120))))
            .await;
        assert_outcome(&res, "updated", "last-write-wins", 4);
        let res = app2
            .push_ok(&update(&id, 3, json!({ "phone": "555" }), Some(time_from_now(86_400))))
            .await;
        assert_outcome(&res, "conflict_resolved", "last-write-wins", 4);
        assert_eq!(stored(&app1, &id).await["phone"], json!("444"));
    }
}

e2e! {
    async fn merge_puts_the_clients_fields_over_the_servers(backend) {
        let app = TestApp::spawn(backend, |s| {
            s.sync.strategies.insert("end_user".into(), "merge".into());
        })
        .await;
        let Scene { app1, app2, id, .. } = two_apps_share_a_record(&app).await;
        app1.push_ok(&update(&id, 1, json!({ "phone": "111" }), None)).await;

        let res = app2.push_ok(&update(&id, 1, json!({ "name": "Ann B" }), None)).await;
        assert_outcome(&res, "conflict_resolved", "merge", 3);
        assert_eq!(res["data"][0]["name"], json!("Ann B"));
        assert_eq!(res["data"][0]["phone"], json!("111"), "server fields stay under the client's");

        // A shallow merge: every field the client sends is laid on top, stale or not.
        let res = app2
            .push_ok(&update(&id, 1, json!({ "name": "Ann B", "email": "ann@example.com", "phone": "100" }), None))
            .await;
        assert_outcome(&res, "conflict_resolved", "merge", 4);
        let now = stored(&app1, &id).await;
        assert_eq!(now["phone"], json!("100"));
        assert_eq!(now["name"], json!("Ann B"));
    }
}

e2e! {
    async fn field_merge_keeps_disjoint_concurrent_edits_from_two_apps(backend) {
        // field-merge is the default: no configuration.
        let app = TestApp::spawn(backend, |_| {}).await;
        let Scene { app1, app2, id, .. } = two_apps_share_a_record(&app).await;
        // Both apps push whole records: app 1 changed the phone, app 2 the email.
        let res = app1
            .push_ok(&json!({ "changes": { "end_user": [ { "id": id, "version": 1, "name": "Ann",
                "email": "ann@example.com", "phone": "111" } ] } }))
            .await;
        assert_outcome(&res, "updated", "field-merge", 2);
        let res = app2
            .push_ok(&json!({ "changes": { "end_user": [ { "id": id, "version": 1, "name": "Ann",
                "email": "ann.b@example.com", "phone": "100" } ] } }))
            .await;
        assert_outcome(&res, "conflict_resolved", "field-merge", 3);
        assert_eq!(res["results"][0]["conflictingFields"], json!([]), "{res}");
        assert_eq!(res["data"][0]["phone"], json!("111"), "the stale phone did not overwrite: {res}");
        assert_eq!(res["data"][0]["email"], json!("ann.b@example.com"), "{res}");

        let now = stored(&app1, &id).await;
        assert_eq!((&now["phone"], &now["email"]), (&json!("111"), &json!("ann.b@example.com")));
        let page = app1.pull_ok(&json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(records_of(&page, "end_user")[0]["version"], json!(3));
    }
}

e2e! {
    async fn field_merge_gives_a_field_both_apps_changed_to_the_later_edit(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let Scene { app1, app2, id, .. } = two_apps_share_a_record(&app).await;
        app1.push_ok(&update(&id, 1, json!({ "phone": "111" }), Some(time_from_now(-60)))).await;

        let res = app2
            .push_ok(&update(&id, 1, json!({ "phone": "222", "name": "Ann Two" }), Some(time_from_now(-30))))
            .await;
        assert_outcome(&res, "conflict_resolved", "field-merge", 3);
        assert_eq!(res["results"][0]["conflictingFields"], json!(["phone"]), "{res}");
        assert_eq!(res["data"][0]["phone"], json!("222"));
        assert_eq!(res["data"][0]["name"], json!("Ann Two"));

        // An earlier edit of the same field loses, and is reported.
        let res = app1
            .push_ok(&update(&id, 2, json!({ "phone": "333" }), Some(time_from_now(-45))))
            .await;
        assert_eq!(res["results"][0]["status"], json!("conflict_resolved"), "{res}");
        assert_eq!(res["results"][0]["conflictingFields"], json!(["phone"]), "{res}");
        assert_eq!(res["results"][0]["version"], json!(3), "{res}");
        assert_eq!(stored(&app1, &id).await["phone"], json!("222"));
    }
}

e2e! {
    async fn manual_conflicts_are_listed_and_resolved_through_the_conflict_routes(backend) {
        let app = TestApp::spawn(backend, |s| s.sync.default_strategy = "manual".into()).await;
        let Scene { app1, app2, id, .. } = two_apps_share_a_record(&app).await;
        app1.push_ok(&update(&id, 1, json!({ "phone": "111" }), None)).await;

        let res = app2.push_ok(&update(&id, 1, json!({ "phone": "222" }), None)).await;
        assert_outcome(&res, "conflict", "manual", 2);
        assert_eq!(res["results"][0]["conflictingFields"], json!(["phone"]), "{res}");
        assert_eq!(res["data"][0]["sync_status"], json!("conflict"), "{res}");
        assert_eq!(res["data"][0]["phone"], json!("111"), "the server record is kept: {res}");
        assert_eq!(stored(&app1, &id).await["phone"], json!("111"));
        let before = app1.head().await;

        let (status, listed) = app1.conflicts("").await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        assert_eq!(listed["success"], json!(true));
        let conflicts = listed["data"].as_array().unwrap();
        assert_eq!(conflicts.len(), 1, "{listed}");
        let c = &conflicts[0];
        assert!(is_uuid(&c["id"]), "{c}");
        assert_eq!(c["entityType"], json!("end_user"));
        assert_eq!(c["recordId"], json!(id));
        assert_eq!(c["serverData"]["phone"], json!("111"), "{c}");
        assert_eq!(c["clientData"]["phone"], json!("222"), "{c}");
        assert_eq!(c["fields"], json!(["phone"]));
        assert_eq!(c["clientId"], json!("app-2"));
        assert!(is_rfc3339_millis_utc(&c["createdAt"]), "{c}");
        let conflict_id = c["id"].as_str().unwrap().to_owned();

        let (_, filtered) = app1.conflicts("entityType=end_user&limit=10").await;
        assert_eq!(filtered["data"].as_array().unwrap().len(), 1, "{filtered}");
        let (_, other) = app1.conflicts("entityType=interactions").await;
        assert_eq!(other["data"], json!([]), "{other}");

        let (status, resolved) = app1
            .resolve_conflict(&conflict_id, &json!({ "data": { "name": "Ann", "phone": "222" } }))
            .await;
        assert_eq!(status, StatusCode::OK, "{resolved}");
        assert_eq!(resolved["success"], json!(true));
        assert_eq!(resolved["data"]["version"], json!(3), "{resolved}");
        assert_eq!(resolved["data"]["phone"], json!("222"));
        assert_eq!(resolved["data"]["sync_status"], json!("synced"));

        let page = app2.pull_ok(&json!({ "cursor": before })).await;
        let records = records_of(&page, "end_user");
        assert_eq!(records.len(), 1, "the resolution is a new change: {page}");
        assert_eq!(records[0]["version"], json!(3));
        assert_eq!(records[0]["phone"], json!("222"));

        let (_, after) = app1.conflicts("").await;
        assert_eq!(after["data"], json!([]), "{after}");
        for gone in [conflict_id.clone(), new_id(), "not-a-uuid".to_owned()] {
            let response = app1.resolve_conflict(&gone, &json!({ "data": { "phone": "9" } })).await;
            assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        }
        assert_eq!(stored(&app1, &id).await["version"], json!(3));
    }
}

e2e! {
    async fn a_per_type_strategy_overrides_the_global_default(backend) {
        let app = TestApp::spawn(backend, |s| {
            s.sync.default_strategy = "server-wins".into();
            s.sync.strategies.insert("interactions".into(), "client-wins".into());
        })
        .await;
        let Scene { app1, app2, id, .. } = two_apps_share_a_record(&app).await;
        let i = app1.create_record("interactions", json!({ "type": "call", "title": "t0" })).await;
        app1.push_ok(&json!({ "changes": [
            { "entityType": "end_user", "id": id, "baseVersion": 1, "data": { "phone": "111" } },
            { "entityType": "interactions", "id": i["id"], "baseVersion": 1, "data": { "title": "t1" } }
        ]})).await;

        let res = app2
            .push_ok(&json!({ "changes": [
                { "entityType": "end_user", "id": id, "baseVersion": 1, "data": { "phone": "222" } },
                { "entityType": "interactions", "id": i["id"], "baseVersion": 1, "data": { "title": "t2" } }
            ]}))
            .await;
        let results = &res["results"];
        assert_eq!(results[0]["strategy"], json!("server-wins"), "{res}");
        assert_eq!(results[0]["status"], json!("conflict_resolved"), "{res}");
        assert_eq!(res["data"][0]["phone"], json!("111"));
        assert_eq!(results[1]["strategy"], json!("client-wins"), "{res}");
        assert_eq!(results[1]["status"], json!("conflict_resolved"), "{res}");
        assert_eq!(results[1]["version"], json!(3), "{res}");
        assert_eq!(res["data"][1]["title"], json!("t2"));
    }
}

e2e! {
    async fn a_conflict_names_the_client_by_token_claim_then_header_then_subject(backend) {
        let app = TestApp::spawn(backend, |s| s.sync.default_strategy = "manual".into()).await;
        let Scene { tenant, app1, id, .. } = two_apps_share_a_record(&app).await;
        app1.push_ok(&update(&id, 1, json!({ "phone": "111" }), None)).await;

        let token = |sub: &str, client: Option<&str>| {
            let mut c = claims(&tenant, sub);
            if let Some(client) = client {
                c["client_id"] = json!(client);
            }
            app.sign(&c)
        };
        let callers = [
            // The token's client_id wins over the header.
            app.client_with_token(token("user-a", Some("claim-app")))
                .with_client_id_header("header-app"),
            // Without the claim, the header names the client.
            app.client_with_token(token("user-b", None)).with_client_id_header("header-app"),
            // Without either, the subject does.
            app.client_with_token(token("user-c", None)),
        ];
        for (k, caller) in callers.iter().enumerate() {
            let res = caller
                .push_ok(&update(&id, 1, json!({ "phone": format!("stale-{k}") }), None))
                .await;
            assert_eq!(res["results"][0]["status"], json!("conflict"), "{res}");
        }
        let (_, listed) = app1.conflicts("").await;
        let clients: Vec<&Value> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["clientId"])
            .collect();
        assert_eq!(
            clients,
            vec![&json!("claim-app"), &json!("header-app"), &json!("user-c")],
            "{listed}"
        );
    }
}

e2e! {
    async fn a_page_of_conflicts_is_full_of_those_the_caller_may_read(backend) {
        let app = TestApp::spawn(backend, |s| s.sync.default_strategy = "manual".into()).await;
        let Scene { tenant: t, app1, app2, id } = two_apps_share_a_record(&app).await;
        // Three conflicts on interactions first, then one on the user.
        for k in 0..3 {
            let made = app1.create_record("interactions", json!({ "type": "call", "title": format!("c{k}"), "client_user_id": id })).await;
            let iid = made["id"].as_str().unwrap().to_owned();
            for (client, title) in [(&app1, "one"), (&app2, "two")] {
                client.push_ok(&json!({ "changes": [ { "entityType": "interactions", "op": "update",
                    "id": iid, "baseVersion": 1, "data": { "title": title } } ] })).await;
            }
        }
        app1.push_ok(&update(&id, 1, json!({ "phone": "111" }), None)).await;
        app2.push_ok(&update(&id, 1, json!({ "phone": "222" }), None)).await;
        let (_, all) = app1.conflicts("limit=10").await;
        assert_eq!(all["data"].as_array().unwrap().len(), 4, "{all}");

        // Someone who reads only users: the oldest conflicts are not theirs, yet a page of two
        // holds the user's conflict.
        let mut c = claims(&t, "user-reader");
        c["client_id"] = json!("reader");
        c["scope"] = json!("sync:read:end_user");
        let reader = app.client_with_token(app.sign(&c));
        let (status, page) = reader.conflicts("limit=2").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let listed = page["data"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{page}");
        assert_eq!(listed[0]["entityType"], json!("end_user"));
        assert_eq!(listed[0]["recordId"], json!(id));
    }
}
