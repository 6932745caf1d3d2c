//! Pull (SPEC §4.2): cursor paging under concurrent pushes, tombstones, the legacy bodies.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use syncd_e2e::*;

fn cursor_of(page: &Value) -> String {
    page["cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no cursor in {page}"))
        .to_owned()
}

e2e! {
    async fn a_push_from_app_1_is_pulled_by_app_2(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let app2 = app.client(&t, "app-2");
        let start = app2.pull_ok(&json!({})).await;
        assert_eq!(page_records(&start), Vec::<Value>::new());

        let pushed = app1
            .push_ok(&json!({ "changes": { "end_user": [
                { "name": "John Doe", "email": "john@example.com" },
                { "name": "Jane Roe" }
            ]}}))
            .await;
        let page = app2.pull_ok(&json!({ "cursor": cursor_of(&start) })).await;
        assert_eq!(page["success"], json!(true));
        assert_eq!(page["hasMore"], json!(false));
        assert!(is_rfc3339_millis_utc(&page["syncTimestamp"]), "{page}");
        assert_eq!(records_of(&page, "end_user"), pushed["data"].as_array().unwrap());
        assert_eq!(page["cursor"], pushed["cursor"], "the pull reached the push's cursor");
    }
}

e2e! {
    async fn paging_with_a_small_limit_while_two_apps_push_sees_every_change_once_in_order(backend) {
        const ROUNDS: usize = 30;
        const LIMIT: usize = 3;
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let reader = app.client(&t, "reader");
        let seeder = app.client(&t, "seeder");
        for n in 0..4 {
            seeder.create_record("end_user", json!({ "name": "seed", "phone": n.to_string() })).await;
        }

        // Each pusher creates a record per round and, every other round, updates one of its
        // earlier records. `phone` carries a per-pusher counter that grows with every write, so
        // in seq order a pusher's counters must grow too.
        let mut pushers = Vec::new();
        for name in ["a", "b"] {
            let client = app.client(&t, &format!("pusher-{name}"));
            pushers.push(tokio::spawn(async move {
                let mut mine: Vec<(String, i64)> = Vec::new();
                let mut counter = 0u32;
                for round in 0..ROUNDS {
                    counter += 1;
                    let mut changes = vec![json!({ "entityType": "end_user", "op": "upsert",
                        "data": { "name": name, "phone": counter.to_string() } })];
                    let update = (round % 2 == 1).then(|| (round / 2) % mine.len());
                    if let Some(k) = update {
                        counter += 1;
                        changes.push(json!({ "entityType": "end_user", "op": "update",
                            "id": mine[k].0, "baseVersion": mine[k].1,
                            "data": { "phone": counter.to_string() } }));
                    }
                    let res = client.push_ok(&json!({ "changes": changes })).await;
                    let results = res["results"].as_array().unwrap();
                    assert_eq!(results[0]["status"], json!("created"), "{res}");
                    mine.push((
                        results[0]["id"].as_str().unwrap().to_owned(),
                        results[0]["version"].as_i64().unwrap(),
                    ));
                    if let Some(k) = update {
                        assert_eq!(results[1]["status"], json!("updated"), "{res}");
                        mine[k].1 = results[1]["version"].as_i64().unwrap();
                    }
                }
                mine
            }));
        }

        let mut stream: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let pushers_done = pushers.iter().all(|h| h.is_finished());
            let mut body = json!({ "entityTypes": ["end_user"], "limit": LIMIT });
            if let Some(c) = &cursor {
                body["cursor"] = json!(c);
            }
            let page = reader.pull_ok(&body).await;
            pages += 1;
            let records = records_of(&page, "end_user").clone();
            assert!(records.len() <= LIMIT, "a page holds at most `limit` records: {page}");
            let in_page: HashSet<_> = ids(&records).into_iter().collect();
            assert_eq!(in_page.len(), records.len(), "a record twice in one page: {page}");
            if page["hasMore"] == json!(true) {
                assert_eq!(records.len(), LIMIT, "hasMore with a short page: {page}");
            }
            let empty = records.is_empty();
            stream.extend(records);
            cursor = Some(cursor_of(&page));
            if pushers_done && page["hasMore"] == json!(false) {
                break;
            }
            assert!(pages < 5_000, "paging never ended");
            if empty {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        eprintln!("paged {} records in {pages} pages while two apps pushed", stream.len());
        let mut written: HashMap<String, i64> = HashMap::new();
        for h in pushers {
            written.extend(h.await.expect("a pusher failed"));
        }

        // No change seen twice: a record comes back only with a newer version.
        let mut last_seen: HashMap<String, i64> = HashMap::new();
        for r in &stream {
            let id = r["id"].as_str().unwrap().to_owned();
            let version = r["version"].as_i64().unwrap();
            if let Some(before) = last_seen.insert(id.clone(), version) {
                assert!(version > before, "{id} delivered again at version {version} after {before}");
            }
        }
        // In seq order: each pusher's counters grow along the stream.
        for name in ["a", "b"] {
            let counters: Vec<u32> = stream
                .iter()
                .filter(|r| r["name"] == json!(name))
                .map(|r| r["phone"].as_str().unwrap().parse().unwrap())
                .collect();
            assert!(
                counters.windows(2).all(|w| w[0] < w[1]),
                "pusher {name}'s writes out of seq order: {counters:?}"
            );
        }
        // Nothing skipped: the last state seen of every record is its final state.
        let (everything, _) = reader.pull_all(None, 10_000).await;
        assert_eq!(everything.len(), 4 + 2 * ROUNDS, "one entry per record in a fresh pull");
        let final_versions: HashMap<String, i64> = everything
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_owned(), r["version"].as_i64().unwrap()))
            .collect();
        assert_eq!(last_seen, final_versions, "the paged stream missed a change");
        for (id, version) in &written {
            assert_eq!(final_versions.get(id), Some(version), "pusher's view of {id}");
        }
    }
}

e2e! {
    async fn a_record_changed_several_times_appears_once_in_its_latest_state(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let app2 = app.client(&t, "app-2");
        let r = app1.create_record("end_user", json!({ "name": "r0" })).await;
        let id = r["id"].as_str().unwrap().to_owned();
        for v in 1..=2 {
            app1.push_ok(&json!({ "changes": [ { "entityType": "end_user", "id": id,
                "baseVersion": v, "data": { "name": format!("r{v}") } } ] })).await;
        }
        let s = app1.create_record("end_user", json!({ "name": "s" })).await;

        let page = app2.pull_ok(&json!({ "entityTypes": ["end_user"] })).await;
        let records = records_of(&page, "end_user");
        assert_eq!(ids(records), vec![id.clone(), s["id"].as_str().unwrap().to_owned()], "{page}");
        assert_eq!(records[0]["version"], json!(3));
        assert_eq!(records[0]["name"], json!("r2"));

        app1.push_ok(&json!({ "changes": [ { "entityType": "end_user", "id": id,
            "baseVersion": 3, "data": { "name": "r3" } } ] })).await;
        let next = app2.pull_ok(&json!({ "cursor": cursor_of(&page), "entityTypes": ["end_user"] })).await;
        let records = records_of(&next, "end_user");
        assert_eq!(ids(records), vec![id.clone()], "{next}");
        assert_eq!(records[0]["version"], json!(4));
        assert_eq!(records[0]["name"], json!("r3"));
    }
}

e2e! {
    async fn a_delete_on_app_1_reaches_apps_2_and_3_by_pull(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let app2 = app.client(&t, "app-2");
        let app3 = app.client(&t, "app-3");
        let user = app1.create_record("end_user", json!({ "name": "gone soon" })).await;
        let meeting = app1
            .create_record("interactions", json!({ "type": "meeting", "title": "m",
                "client_user_id": user["id"] }))
            .await;
        let seen = app2.pull_ok(&json!({})).await;
        assert_eq!(records_of(&seen, "end_user").len(), 1);
        assert_eq!(records_of(&seen, "interactions").len(), 1);

        app1.push_ok(&json!({ "changes": [
            { "entityType": "interactions", "op": "delete", "id": meeting["id"], "baseVersion": 1 },
            { "entityType": "end_user", "op": "delete", "id": user["id"], "baseVersion": 1 }
        ]})).await;

        let from_cursor = app2.pull_ok(&json!({ "cursor": cursor_of(&seen) })).await;
        let from_scratch = app3.pull_ok(&json!({})).await;
        for page in [&from_cursor, &from_scratch] {
            let users = records_of(page, "end_user");
            assert_eq!(users.len(), 1, "{page}");
            assert_eq!(users[0]["id"], user["id"]);
            assert_eq!(users[0]["is_deleted"], json!(1), "{page}");
            assert_eq!(users[0]["deleted"], json!(true), "{page}");
            let meetings = records_of(page, "interactions");
            assert_eq!(meetings.len(), 1, "{page}");
            assert_eq!(meetings[0]["id"], meeting["id"]);
            assert_eq!(meetings[0]["status"], json!("cancelled"), "{page}");
            assert_eq!(meetings[0]["deleted"], json!(true), "{page}");
        }
        let after = app2.pull_ok(&json!({ "cursor": cursor_of(&from_cursor) })).await;
        assert_eq!(page_records(&after), Vec::<Value>::new(), "{after}");
    }
}

e2e! {
    async fn every_asked_type_appears_as_a_key_even_when_empty(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let page = app1
            .pull_ok(&json!({ "entityTypes": ["end_user", "interactions"], "limit": 1000 }))
            .await;
        assert_eq!(page["data"], json!({ "end_user": [], "interactions": [] }), "{page}");
        assert_eq!(page["hasMore"], json!(false));
        assert!(page["cursor"].is_string(), "{page}");

        app1.create_record("end_user", json!({ "name": "only users" })).await;
        let page = app1.pull_ok(&json!({ "entityTypes": ["end_user", "interactions"] })).await;
        assert_eq!(records_of(&page, "end_user").len(), 1);
        assert_eq!(records_of(&page, "interactions").len(), 0);

        // No entityTypes: every readable type. A limit over the default maximum is clamped,
        // not refused.
        let page = app1.pull_ok(&json!({ "limit": 50_000 })).await;
        assert!(page["data"]["end_user"].is_array(), "{page}");
        assert!(page["data"]["interactions"].is_array(), "{page}");
    }
}

e2e! {
    async fn a_limit_above_the_maximum_is_clamped_to_it(backend) {
        let app = TestApp::spawn(backend, |s| s.limits.max_pull_limit = 5).await;
        let app1 = app.client(&tenant(), "app-1");
        let users: Vec<Value> = (0..8).map(|n| json!({ "name": format!("u{n}") })).collect();
        app1.push_ok(&json!({ "changes": { "end_user": users } })).await;

        let first = app1.pull_ok(&json!({ "limit": 1000 })).await;
        assert_eq!(page_records(&first).len(), 5, "{first}");
        assert_eq!(first["hasMore"], json!(true));
        let second = app1.pull_ok(&json!({ "limit": 1000, "cursor": cursor_of(&first) })).await;
        assert_eq!(page_records(&second).len(), 3, "{second}");
        assert_eq!(second["hasMore"], json!(false));
        let names: Vec<Value> = page_records(&first)
            .into_iter()
            .chain(page_records(&second))
            .map(|r| r["name"].clone())
            .collect();
        let expected: Vec<Value> = (0..8).map(|n| json!(format!("u{n}"))).collect();
        assert_eq!(names, expected, "records in seq order across pages");
    }
}

e2e! {
    async fn an_undecodable_cursor_is_a_bad_request(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        app1.create_record("end_user", json!({ "name": "x" })).await;
        let good = app1.head().await;
        let mut tampered = good.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        for cursor in [json!("not-a-cursor"), json!(tampered), json!("%%%"), json!(12)] {
            let response = app1.pull(&json!({ "cursor": cursor })).await;
            assert_error(&response, StatusCode::BAD_REQUEST, "bad_request");
        }
        let (status, _) = app1.pull(&json!({ "cursor": good })).await;
        assert_eq!(status, StatusCode::OK);
    }
}

e2e! {
    async fn the_legacy_last_sync_timestamp_body_returns_records_updated_after_it(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let before = time_from_now(-60);
        let a = app1.create_record("end_user", json!({ "name": "a" })).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b = app1.create_record("end_user", json!({ "name": "b" })).await;
        let i = app1.create_record("interactions", json!({ "type": "call", "title": "i" })).await;

        let page = app1.pull_ok(&json!({ "lastSyncTimestamp": a["updatedAt"] })).await;
        assert_eq!(page["success"], json!(true));
        assert_eq!(ids(records_of(&page, "end_user")), ids(std::slice::from_ref(&b)), "{page}");
        assert_eq!(ids(records_of(&page, "interactions")), ids(std::slice::from_ref(&i)), "{page}");

        let page = app1.pull_ok(&json!({ "lastSyncTimestamp": before })).await;
        assert_eq!(ids(records_of(&page, "end_user")), ids(&[a.clone(), b.clone()]), "{page}");
    }
}

e2e! {
    async fn the_legacy_table_and_last_sync_body_is_answered(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let a = app1.create_record("end_user", json!({ "name": "a" })).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b = app1.create_record("end_user", json!({ "name": "b" })).await;

        let page = app1.pull_ok(&json!({ "table": "end_user", "lastSync": a["updatedAt"] })).await;
        assert_eq!(page["success"], json!(true));
        assert_eq!(ids(records_of(&page, "end_user")), ids(std::slice::from_ref(&b)), "{page}");
        assert_eq!(records_of(&page, "end_user")[0]["name"], json!("b"));

        let page = app1
            .pull_ok(&json!({ "table": "end_user", "lastSync": time_from_now(-3600) }))
            .await;
        assert_eq!(ids(records_of(&page, "end_user")), ids(&[a, b]), "{page}");
    }
}

e2e! {
    async fn a_pull_from_the_head_returns_nothing_and_keeps_the_cursor(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        app1.create_record("end_user", json!({ "name": "x" })).await;
        let head = app1.head().await;
        let page = app1.pull_ok(&json!({ "cursor": head })).await;
        assert_eq!(page_records(&page), Vec::<Value>::new(), "{page}");
        assert_eq!(page["cursor"], json!(head));
        assert_eq!(page["hasMore"], json!(false));
    }
}
