//! No per-record database round trip on the push path: a push costs a fixed number of SQL
//! statements whatever its number of records (counted by the store).
//!
//! On PostgreSQL connections that may use TLS, the store splits statements at about 12 KiB of
//! values (sqlx 0.9 leaves Nagle's algorithm on, and a TLS write larger than one record stalls
//! for the peer's delayed ACK). That adds a statement per 12 KiB and table, never one per
//! record: a 100-record push of two short fields is a little over 12 KiB per table.

use std::time::Duration;

use serde_json::{Value, json};
use syncd_e2e::*;

/// Waits until the server's background work (the purge it runs at start) has stopped sending
/// statements, so that what is counted next is the push alone.
async fn quiesce(app: &TestApp) {
    let mut last = app.statements();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = app.statements();
        if now == last {
            return;
        }
        last = now;
    }
    panic!("the server never stopped sending statements");
}

/// Statements the server sent while answering `make(k)`, the fewest over `tries` pushes: a
/// background statement can only add to a count, never hide a per-record one.
async fn statements_of(
    app: &TestApp,
    client: &Client,
    tries: usize,
    make: impl Fn(usize) -> Value,
) -> u64 {
    quiesce(app).await;
    let mut fewest = u64::MAX;
    for k in 0..tries {
        let body = make(k);
        let before = app.statements();
        let res = client.push_ok(&body).await;
        let after = app.statements();
        assert!(res["results"].is_array(), "{res}");
        fewest = fewest.min(after - before);
    }
    fewest
}

/// SQLite: exactly the same count. PostgreSQL: a few more statements for the size split
/// described above (records, versions, the load of referenced records and the stored response
/// each cross 12 KiB once at this size) — a hundred records, not a hundred statements.
fn assert_fixed_cost(backend: Backend, one: u64, hundred: u64, what: &str) {
    let slack = match backend {
        Backend::Sqlite => 0,
        Backend::Postgres => 4,
    };
    assert!(
        hundred >= one && hundred <= one + slack,
        "100 {what} cost {hundred} statements, 1 costs {one} (allowed: {one}..={})",
        one + slack
    );
}

fn creates(n: usize) -> Value {
    let changes: Vec<Value> = (0..n)
        .map(|k| {
            json!({ "entityType": "end_user", "op": "upsert",
            "data": { "name": format!("user {k}"), "email": format!("u{k}@example.com") } })
        })
        .collect();
    json!({ "changes": changes })
}

e2e! {
    async fn a_100_record_push_costs_as_many_statements_as_a_1_record_push(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        // The tenant's first write may set up its clock; measure after it.
        app1.push_ok(&creates(1)).await;

        let one = statements_of(&app, &app1, 3, |_| creates(1)).await;
        let hundred = statements_of(&app, &app1, 2, |_| creates(100)).await;
        assert!(one > 0, "the store counts statements");
        assert_fixed_cost(backend, one, hundred, "creates");

        // With references and an idempotency key too.
        let user = app1.create_record("end_user", json!({ "name": "owner" })).await;
        let with_refs = |n: usize, key: &str| {
            let changes: Vec<Value> = (0..n)
                .map(|k| json!({ "entityType": "interactions",
                    "data": { "type": "call", "title": format!("c{k}"), "client_user_id": user["id"] } }))
                .collect();
            json!({ "pushId": key, "changes": changes })
        };
        let one = statements_of(&app, &app1, 3, |k| with_refs(1, &format!("one-{k}"))).await;
        let hundred = statements_of(&app, &app1, 2, |k| with_refs(100, &format!("many-{k}"))).await;
        assert_fixed_cost(backend, one, hundred, "referencing creates");
    }
}

e2e! {
    async fn a_100_update_push_costs_as_many_statements_as_a_1_update_push(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let app1 = app.client(&tenant(), "app-1");
        let created = app1.push_ok(&creates(100)).await;
        let ids: Vec<Value> = created["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].clone())
            .collect();
        let versions = std::sync::Mutex::new(vec![1i64; ids.len()]);
        // Updates the first `n` records from the versions they are at, with a fresh value.
        let updates = |n: usize, tag: String| {
            let mut versions = versions.lock().unwrap();
            let changes: Vec<Value> = (0..n)
                .map(|i| {
                    let change = json!({ "entityType": "end_user", "op": "update", "id": ids[i],
                        "baseVersion": versions[i], "data": { "phone": tag } });
                    versions[i] += 1;
                    change
                })
                .collect();
            json!({ "changes": changes })
        };
        let one = statements_of(&app, &app1, 3, |k| updates(1, format!("one-{k}"))).await;
        let hundred = statements_of(&app, &app1, 2, |k| updates(100, format!("many-{k}"))).await;
        let (all, _) = app1.pull_all(None, 1000).await;
        assert!(all.iter().all(|r| r["phone"] == json!("many-1")), "every update applied");
        assert_eq!(all.iter().map(|r| r["version"].as_i64().unwrap()).sum::<i64>(), 100 * 3 + 3);
        assert_fixed_cost(backend, one, hundred, "updates");
    }
}

/// `n` creates with a `pushId`, from app `client`.
fn keyed_creates(n: usize, key: &str) -> Value {
    let mut body = creates(n);
    body["pushId"] = json!(key);
    body
}

e2e! {
    /// The counts docs/architecture.md gives: one app's push of 100 records, with and without an
    /// idempotency key, and a group commit of eight apps' pushes (ten records each, with keys)
    /// that queued while the tenant's write lock was held.
    async fn a_group_of_eight_pushes_costs_about_the_statements_of_one(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        app1.push_ok(&creates(1)).await;
        let plain = statements_of(&app, &app1, 3, |_| creates(100)).await;
        let keyed = statements_of(&app, &app1, 3, |k| keyed_creates(100, &format!("k100-{k}"))).await;
        let single = statements_of(&app, &app1, 3, |k| keyed_creates(10, &format!("k10-{k}"))).await;

        // Hold the tenant's write lock, queue eight pushes behind it, then let them go: the
        // first runs alone (its transaction began before the others queued), the other seven
        // as one group.
        quiesce(&app).await;
        let tenant_id = syncd_model::TenantId::parse(&t).unwrap();
        let blocker = syncd_store::Store::begin_write(app.engine().store(), &tenant_id).await.unwrap();
        let stats = app.engine().group_commit_stats();
        let mut pushes = Vec::new();
        for i in 0..8 {
            let client = app.client(&t, &format!("app-g{i}"));
            pushes.push(tokio::spawn(async move {
                client.push_ok(&keyed_creates(10, &format!("g-{i}"))).await
            }));
            // The first push must lead: its transaction waits for the lock.
            tokio::time::sleep(Duration::from_millis(if i == 0 { 200 } else { 20 })).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = app.statements();
        blocker.rollback().await.unwrap();
        for p in pushes {
            p.await.unwrap();
        }
        let group = app.statements() - before - 1 - single;
        let after = app.engine().group_commit_stats();
        assert_eq!(
            (after.groups - stats.groups, after.grouped_pushes - stats.grouped_pushes),
            (1, 7),
            "seven pushes queued behind the first ran as one group"
        );
        eprintln!(
            "statements on {backend:?}: push of 100 {plain}, with a key {keyed}; \
             push of 10 with a key {single}; group of 7 such pushes {group}"
        );
        // One BEGIN, one load, one key read, the writes, one COMMIT: a little more than one push
        // (more rows per statement), far from seven.
        assert!(group <= single + 3, "a group of 7 cost {group} statements, one push {single}");
    }
}
