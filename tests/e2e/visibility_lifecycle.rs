//! Selective sync meets the data lifecycle and manual conflicts (SPEC §10, §11): `verify` sums
//! only what the caller may see; conflicts are listed and resolved only on visible records; thin
//! tombstones (after `tombstone_days`, and after an erasure) keep the fields the rules name, so
//! they reach the readers who see the record and nobody else.

use std::time::Duration;

use serde_json::{Value, json};
use syncd_e2e::ws::*;
use syncd_e2e::*;

use crate::visibility::{ENTITIES, as_user, manager, token_of};

async fn spawn(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> WsApp {
    WsApp::spawn(backend, |s| {
        s.sync.entities_file = Some(ENTITIES.into());
        tweak(s);
    })
    .await
}

fn deal(owner: &str, branch: &str) -> Value {
    json!({ "entityType": "deals", "op": "upsert",
            "data": { "title": format!("for {owner}"), "assigned_to": owner, "branch": branch } })
}

fn update(id: &str, base: i64, data: Value) -> Value {
    json!({ "changes": [
        { "entityType": "deals", "op": "upsert", "id": id, "baseVersion": base, "data": data } ] })
}

fn result_ids(pushed: &Value) -> Vec<String> {
    pushed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The checksum of SPEC §10 over the live deals a client holds: `(count, decimal sum)`.
fn local_checksum(records: &[Value]) -> (u64, String) {
    let mut sum = 0u64;
    let mut count = 0;
    for r in records.iter().filter(|r| r["deleted"] != json!(true)) {
        let id = syncd_model::RecordId::parse(r["id"].as_str().unwrap()).unwrap();
        let version = syncd_model::Version(r["version"].as_i64().unwrap());
        sum = sum.wrapping_add(syncd_core::record_hash(id, version));
        count += 1;
    }
    (count, sum.to_string())
}

/// A client's local copy of the deals: what a pull hands out, applied (removals and tombstones
/// drop the record).
#[derive(Default)]
struct LocalCopy {
    deals: std::collections::BTreeMap<String, Value>,
    cursor: Option<String>,
}

impl LocalCopy {
    async fn sync(&mut self, client: &Client) {
        let mut body = json!({ "entityTypes": ["deals"], "limit": 10000 });
        if let Some(c) = &self.cursor {
            body["cursor"] = json!(c);
        }
        let page = client.pull_ok(&body).await;
        for r in records_of(&page, "deals") {
            let id = r["id"].as_str().unwrap().to_owned();
            if r["deleted"] == json!(true) {
                self.deals.remove(&id);
            } else {
                self.deals.insert(id, r.clone());
            }
        }
        self.cursor = Some(page["cursor"].as_str().unwrap().to_owned());
    }

    fn checksum(&self) -> (u64, String) {
        local_checksum(&self.deals.values().cloned().collect::<Vec<_>>())
    }
}

/// `verify` of the deals as `client` sees them: `(count, checksum, cursor)`.
async fn verified(client: &Client) -> (u64, String, String) {
    let (status, body) = client
        .post(
            "/api/client/sync/verify",
            &json!({ "entityTypes": ["deals"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sum = &body["data"]["deals"];
    (
        sum["count"].as_u64().unwrap(),
        sum["checksum"].as_str().unwrap().to_owned(),
        body["cursor"].as_str().unwrap().to_owned(),
    )
}

e2e! {
    async fn verify_counts_and_sums_only_the_records_the_caller_may_see(backend) {
        let app = spawn(backend, |_| {}).await;
        let t = tenant();
        let boss = manager(&app, &t);
        let alice = as_user(&app, &t, "alice", json!({}));
        let bob = as_user(&app, &t, "bob", json!({}));
        let ids = result_ids(&boss.push_ok(&json!({ "changes": [
            deal("alice", "x"), deal("alice", "y"), deal("bob", "z"),
        ] })).await);

        let mut copies = Vec::new();
        for (client, expected) in [(&alice, 2), (&bob, 1), (&boss, 3)] {
            let mut copy = LocalCopy::default();
            copy.sync(client).await;
            let (count, sum, cursor) = verified(client).await;
            assert_eq!(count, expected);
            assert_eq!((count, sum), copy.checksum());
            assert_eq!(Some(cursor), copy.cursor, "verify answers at the head the pull reached");
            copies.push(copy);
        }
        assert_ne!(copies[0].checksum().1, copies[1].checksum().1);

        // Every type at once: the restricted type filtered, the free one whole.
        boss.post("/api/notes", &json!({ "text": "for all" })).await;
        let (_, all) = bob.post("/api/client/sync/verify", &json!({})).await;
        assert_eq!(all["data"]["deals"]["count"], json!(1), "{all}");
        assert_eq!(all["data"]["notes"]["count"], json!(1), "{all}");

        // A reassignment: alice's copy, brought up to date by her next pull (a removal), and
        // bob's (the record arrives) still match what the server sums for each.
        boss.push_ok(&update(&ids[0], 1, json!({ "assigned_to": "bob" }))).await;
        for (client, copy, expected) in [(&alice, 0, 1), (&bob, 1, 2)] {
            copies[copy].sync(client).await;
            let (count, sum, _) = verified(client).await;
            assert_eq!(count, expected);
            assert_eq!((count, sum), copies[copy].checksum());
        }
    }
}

e2e! {
    async fn conflicts_are_listed_and_resolved_only_on_records_the_caller_may_see(backend) {
        let app = spawn(backend, |s| s.sync.default_strategy = "manual".into()).await;
        let t = tenant();
        let boss = manager(&app, &t);
        let alice = as_user(&app, &t, "alice", json!({}));
        let bob = as_user(&app, &t, "bob", json!({}));
        let ids = result_ids(&boss.push_ok(&json!({ "changes": [deal("alice", "x"), deal("bob", "x")] })).await);
        // Each rep's stale update meets the manager's newer one: one open conflict each.
        for (id, rep) in [(&ids[0], &alice), (&ids[1], &bob)] {
            boss.push_ok(&update(id, 1, json!({ "amount": 1 }))).await;
            let res = rep.push_ok(&update(id, 1, json!({ "amount": 2 }))).await;
            assert_eq!(res["results"][0]["status"], json!("conflict"), "{res}");
        }
        let listed = |c: Client| async move {
            let (status, body) = c.conflicts("").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["data"].as_array().unwrap().clone()
        };
        let of_alice = listed(alice.clone()).await;
        assert_eq!(of_alice.len(), 1);
        assert_eq!(of_alice[0]["recordId"], json!(ids[0]));
        let of_bob = listed(bob.clone()).await;
        assert_eq!(of_bob.len(), 1);
        assert_eq!(of_bob[0]["recordId"], json!(ids[1]));
        assert_eq!(listed(boss.clone()).await.len(), 2);
        let (_, typed) = alice.conflicts("entityType=deals").await;
        assert_eq!(typed["data"].as_array().unwrap().len(), 1, "{typed}");

        // Resolving bob's conflict as alice is as if it did not exist; nothing is written.
        let bobs = of_bob[0]["id"].as_str().unwrap();
        let refused = alice.resolve_conflict(bobs, &json!({ "data": { "title": "t", "amount": 9 } })).await;
        assert_error(&refused, StatusCode::NOT_FOUND, "not_found");
        let (_, his) = bob.get(&format!("/api/deals/{}", ids[1])).await;
        assert_eq!(his["data"]["version"], json!(2), "{his}");
        let chosen = json!({ "data": { "title": "for bob", "assigned_to": "bob", "branch": "x", "amount": 9 } });
        let (status, resolved) = bob.resolve_conflict(bobs, &chosen).await;
        assert_eq!(status, StatusCode::OK, "{resolved}");
        assert_eq!(resolved["data"]["amount"], json!(9));

        // Alice's record handed to someone else: her conflict is gone from her list and out of
        // her reach, and still there for the manager.
        boss.push_ok(&update(&ids[0], 2, json!({ "assigned_to": "carol" }))).await;
        assert!(listed(alice.clone()).await.is_empty());
        let hers = of_alice[0]["id"].as_str().unwrap();
        let refused = alice.resolve_conflict(hers, &json!({ "data": { "title": "t", "amount": 3 } })).await;
        assert_error(&refused, StatusCode::NOT_FOUND, "not_found");
        let left = listed(boss.clone()).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["id"], json!(hers));
    }
}

/// A tombstone older than 9 ms (1e-7 days) is old enough to thin.
fn quick(settings: &mut Settings) {
    settings.sync.tombstone_days = 1e-7;
    settings.sync.maintenance_interval_secs = 0;
}

/// The deals of a pull from `cursor`.
async fn deals_since(client: &Client, cursor: &str) -> Vec<Value> {
    let page = client
        .pull_ok(&json!({ "entityTypes": ["deals"], "cursor": cursor }))
        .await;
    records_of(&page, "deals").clone()
}

e2e! {
    async fn a_thinned_tombstone_keeps_its_rule_fields_and_reaches_only_its_readers(backend) {
        let app = spawn(backend, quick).await;
        let t = tenant();
        let boss = manager(&app, &t);
        let alice = as_user(&app, &t, "alice", json!({}));
        let bob = as_user(&app, &t, "bob", json!({}));
        let made = result_ids(&boss.push_ok(&json!({ "changes": [deal("alice", "x"), deal("bob", "x")] })).await);
        let (_, alice_cursor) = alice.pull_all(None, 100).await;
        let (_, bob_cursor) = bob.pull_all(None, 100).await;
        boss.push_ok(&json!({ "changes": [
            { "entityType": "deals", "op": "delete", "id": made[0], "baseVersion": 1 } ] })).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        let report = app.state().engine.maintenance("test").await.unwrap().unwrap();
        assert_eq!(report.thinned_tombstones, 1);

        let got = deals_since(&alice, &alice_cursor).await;
        assert_eq!(got.len(), 1, "{got:?}");
        let thin = &got[0];
        assert_eq!(thin["id"], json!(made[0]));
        assert_eq!(thin["deleted"], json!(true));
        assert_eq!(thin["assigned_to"], json!("alice"), "{thin}");
        assert_eq!(thin["branch"], json!("x"), "{thin}");
        assert!(thin.get("title").is_none() && thin.get("removed").is_none(), "{thin}");
        assert!(deals_since(&bob, &bob_cursor).await.is_empty());
        let (fresh, _) = bob.pull_all(None, 100).await;
        assert_eq!(ids(&fresh), vec![made[1].clone()]);
        // The manager sees it too, still thin.
        let (all, _) = boss.pull_all(None, 100).await;
        let seen = all.iter().find(|r| r["id"] == json!(made[0])).unwrap();
        assert_eq!(seen["assigned_to"], json!("alice"));
        assert!(seen.get("title").is_none(), "{seen}");
    }
}

e2e! {
    async fn an_erased_records_thin_tombstone_reaches_the_reps_who_could_see_it(backend) {
        let app = spawn(backend, |_| {}).await;
        let t = tenant();
        let boss = manager(&app, &t);
        let alice = as_user(&app, &t, "alice", json!({}));
        let carol = as_user(&app, &t, "carol", json!({ "branches": ["north"] }));
        let bob = as_user(&app, &t, "bob", json!({}));
        let ids = result_ids(&boss.push_ok(&json!({ "changes": [deal("alice", "north"), deal("bob", "south")] })).await);
        let cursors = [
            alice.pull_all(None, 100).await.1,
            carol.pull_all(None, 100).await.1,
            bob.pull_all(None, 100).await.1,
        ];
        let mut alice_ws = app.connect_with_token(&token_of(&app, &t, "alice", json!({})), "alice").await;
        alice_ws.subscribe(json!({ "includeData": true })).await;
        let mut bob_ws = app.connect_with_token(&token_of(&app, &t, "bob", json!({})), "bob").await;
        bob_ws.subscribe(json!({ "includeData": true })).await;

        let mut ops = claims(&t, "ops");
        ops["roles"] = json!(["admin"]);
        let ops = app.client_with_token(app.sign(&ops));
        let (status, body) = ops.delete(&format!("/api/admin/records/deals/{}", ids[0])).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // Its owner and its branch's rep get the thin tombstone, rule fields and all.
        for (client, cursor) in [(&alice, &cursors[0]), (&carol, &cursors[1])] {
            let got = deals_since(client, cursor).await;
            assert_eq!(got.len(), 1, "{got:?}");
            assert_eq!(got[0]["erased"], json!(true), "{}", got[0]);
            assert_eq!(got[0]["assigned_to"], json!("alice"));
            assert_eq!(got[0]["branch"], json!("north"));
            assert!(got[0].get("title").is_none(), "{}", got[0]);
        }
        let (update, _) = alice_ws.recv_until("data_update", 5).await;
        assert_eq!(update["data"]["action"], json!("delete"), "{update}");
        assert_eq!(update["data"]["data"]["erased"], json!(true), "{update}");
        bob_ws.expect_silence().await;
        // Bob never saw it: he is not sent the tombstone. Erasure removed the history that says
        // what he saw at his cursor, so at most an id-only removal (SPEC §11) reaches him.
        let got = deals_since(&bob, &cursors[2]).await;
        assert!(
            got.iter().all(|r| *r == json!({ "id": ids[0], "deleted": true, "removed": true })),
            "{got:?}"
        );
        assert!(bob.pull_all(None, 100).await.0.iter().all(|r| r["id"] != json!(ids[0])));
    }
}
