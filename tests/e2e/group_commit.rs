//! Group commit (issue 17): pushes of one tenant that arrive while its transaction is in flight
//! are applied together by the next one, each keeping its own answer, its own 422, its own
//! idempotency entry, and the tenant's seqs contiguous and in commit order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use syncd_e2e::*;
use syncd_model::{Seq, TenantId};
use syncd_store::{ChangesQuery, Since, Store};

const PUSHERS: usize = 16;
const PUSHES: usize = 10;

/// Push `k` of pusher `i`: two users and an interaction referencing the first; every tenth push
/// (k = 3) also references a user that does not exist, which only the write can tell.
fn push_body(i: usize, k: usize) -> Value {
    let user = new_id();
    let mut changes = vec![
        json!({ "entityType": "end_user", "id": user,
                "data": { "name": format!("p{i}"), "phone": k.to_string() } }),
        json!({ "entityType": "end_user", "data": { "name": format!("p{i}"), "phone": k.to_string() } }),
        json!({ "entityType": "interactions",
                "data": { "type": "call", "title": format!("p{i}-{k}"), "client_user_id": user } }),
    ];
    if k % 10 == 3 {
        changes.push(json!({ "entityType": "interactions",
            "data": { "type": "call", "title": "dangling", "client_user_id": new_id() } }));
    }
    json!({ "changes": changes })
}

/// Pages from the start with a small limit until `done` is set and a last page says no more;
/// returns every record in the order received.
async fn page_until_done(reader: Client, done: Arc<AtomicBool>) -> Vec<Value> {
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let finished = done.load(Ordering::SeqCst);
        let mut body = json!({ "limit": 7 });
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let page = reader.pull_ok(&body).await;
        seen.extend(page_records(&page));
        cursor = page["cursor"].as_str().map(str::to_owned);
        if finished && page["hasMore"] != json!(true) {
            return seen;
        }
    }
}

/// A reader's records: each pushed record once, and per pusher its pushes in the order it made
/// them (seq order).
fn assert_saw_every_change_once_in_order(seen: &[Value], pushed: &HashSet<String>) {
    assert_eq!(
        seen.len(),
        pushed.len(),
        "a reader missed or repeated a change"
    );
    assert_eq!(&ids(seen).into_iter().collect::<HashSet<_>>(), pushed);
    let mut last: HashMap<String, i64> = HashMap::new();
    for r in seen.iter().filter(|r| r["_type"] == json!("end_user")) {
        let phone: i64 = r["phone"].as_str().unwrap().parse().unwrap();
        let before = last.insert(r["name"].as_str().unwrap().to_owned(), phone);
        assert!(before.is_none_or(|b| b <= phone), "out of order: {r}");
    }
}

e2e! {
    async fn sixteen_pushers_on_one_tenant_are_grouped_and_each_push_keeps_its_own_answer(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|r| tokio::spawn(page_until_done(app.client(&t, &format!("reader-{r}")), done.clone())))
            .collect();
        let mut pushers = Vec::new();
        for i in 0..PUSHERS {
            let client = app.client(&t, &format!("pusher-{i}"));
            pushers.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for k in 0..PUSHES {
                    let body = push_body(i, k);
                    let key = format!("p{i}-{k}");
                    let (status, answer) = client.push_with_key(&key, &body).await;
                    answers.push((k, key, body, status, answer));
                }
                answers
            }));
        }
        let mut valid = Vec::new();
        for p in pushers {
            for (k, key, body, status, answer) in p.await.unwrap() {
                if k % 10 == 3 {
                    // Refused alone, with its own problem, nothing of it applied.
                    assert_error(&(status, answer.clone()), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
                    let details = answer["error"]["details"].as_array().unwrap();
                    assert_eq!(details.len(), 1, "{answer}");
                    assert_eq!(details[0]["index"], json!(3), "{answer}");
                    assert_eq!(details[0]["field"], json!("client_user_id"), "{answer}");
                } else {
                    assert_eq!(status, StatusCode::OK, "{answer}");
                    let statuses: Vec<&Value> = answer["results"].as_array().unwrap().iter().map(|r| &r["status"]).collect();
                    assert!(statuses.iter().all(|s| **s == json!("created")), "{answer}");
                    valid.push((key, body, answer));
                }
            }
        }
        done.store(true, Ordering::SeqCst);
        let stats = app.engine().group_commit_stats();
        assert!(stats.groups > 0 && stats.grouped_pushes >= 2 * stats.groups, "no push was grouped: {stats:?}");

        // Every valid push applied exactly once, nothing of an invalid one.
        let (all, _) = app.client(&t, "checker").pull_all(None, 10_000).await;
        assert_eq!(all.len(), valid.len() * 3, "records: {}", all.len());
        assert!(all.iter().all(|r| r["title"] != json!("dangling")));
        let pushed: HashSet<String> = valid
            .iter()
            .flat_map(|(_, _, a)| ids(a["data"].as_array().unwrap()))
            .collect();
        assert_eq!(ids(&all).into_iter().collect::<HashSet<_>>(), pushed);

        // Seqs are contiguous: every record was written once, and the rewound pushes left no gap.
        let tenant_id = TenantId::parse(&t).unwrap();
        let query = ChangesQuery { since: Since::Seq(Seq(0)), entity_types: Vec::new(), limit: 10_000, visibility: Default::default() };
        let page = app.engine().store().changes(&tenant_id, &query).await.unwrap();
        let seqs: Vec<i64> = page.records.iter().map(|r| r.seq.0).collect();
        assert_eq!(seqs, (1..=all.len() as i64).collect::<Vec<_>>());

        // Readers paging while the pushes ran saw every change once, in seq order.
        for reader in readers {
            assert_saw_every_change_once_in_order(&reader.await.unwrap(), &pushed);
        }

        // A replay of any push, grouped or not, returns that push's own stored answer.
        let replayer = |key: &str| {
            let i: usize = key[1..].split('-').next().unwrap().parse().unwrap();
            app.client(&t, &format!("pusher-{i}"))
        };
        for (key, body, answer) in &valid {
            let (status, again) = replayer(key).push_with_key(key, body).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(&again, answer, "the replay of {key} is its own answer");
        }
        let (after, _) = app.client(&t, "checker").pull_all(None, 10_000).await;
        assert_eq!(after.len(), all.len(), "replays applied nothing");
    }
}

e2e! {
    async fn grouped_pushes_of_one_record_apply_in_order_under_client_wins(backend) {
        let app = TestApp::spawn(backend, |s| {
            s.sync.strategies.insert("end_user".into(), "client-wins".into());
        })
        .await;
        let t = tenant();
        let shared = app.client(&t, "seed").create_record("end_user", json!({ "name": "shared" })).await;
        let id = shared["id"].as_str().unwrap().to_owned();
        let mut pushers = Vec::new();
        for i in 0..PUSHERS {
            let client = app.client(&t, &format!("pusher-{i}"));
            let id = id.clone();
            pushers.push(tokio::spawn(async move {
                let mut versions = Vec::new();
                for k in 0..4 {
                    // Every pusher edits from version 1: stale for all but the first.
                    let body = json!({ "changes": [ { "entityType": "end_user", "op": "update",
                        "id": id, "baseVersion": 1, "data": { "phone": format!("{i}:{k}") } } ] });
                    let answer = client.push_ok(&body).await;
                    versions.push((answer["results"][0]["version"].as_i64().unwrap(), format!("{i}:{k}")));
                }
                versions
            }));
        }
        let mut versions = Vec::new();
        for p in pushers {
            versions.extend(p.await.unwrap());
        }
        versions.sort();
        let expected: Vec<i64> = (2..=(PUSHERS as i64 * 4 + 1)).collect();
        assert_eq!(versions.iter().map(|v| v.0).collect::<Vec<_>>(), expected, "one version per push");
        let (all, _) = app.client(&t, "checker").pull_all(None, 100).await;
        let record = all.iter().find(|r| r["id"] == json!(id)).unwrap();
        let last = versions.last().unwrap();
        assert_eq!(record["version"], json!(last.0));
        assert_eq!(record["phone"], json!(last.1), "the push with the latest version wins");
        assert!(app.engine().group_commit_stats().groups > 0, "no push was grouped");
    }
}

/// A push creating `records` users named `name`.
fn users(name: &str, records: usize) -> Value {
    let changes: Vec<Value> = (0..records)
        .map(|i| json!({ "entityType": "end_user", "data": { "name": name, "phone": i.to_string() } }))
        .collect();
    json!({ "changes": changes })
}

e2e! {
    async fn a_small_push_queued_behind_large_ones_commits_before_them(backend) {
        let app = TestApp::spawn(backend, |_| {}).await;
        let t = tenant();
        app.client(&t, "warm-up").push_ok(&users("warm-up", 1)).await;
        // Hold the tenant's write lock: the first push leads and waits for it, the others queue
        // behind it in this order: two bulk uploads, then one edit.
        let tenant_id = TenantId::parse(&t).unwrap();
        let blocker = app.engine().store().begin_write(&tenant_id).await.unwrap();
        let mut pushes = Vec::new();
        for (i, (name, records)) in [("first", 1), ("bulk-a", 100), ("bulk-b", 100), ("edit", 1)].into_iter().enumerate() {
            let client = app.client(&t, &format!("app-{i}"));
            pushes.push(tokio::spawn(async move { client.push_ok(&users(name, records)).await }));
            tokio::time::sleep(Duration::from_millis(if i == 0 { 200 } else { 50 })).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        blocker.rollback().await.unwrap();
        for p in pushes {
            p.await.unwrap();
        }
        // Pulled in seq (= commit) order: the edit committed right after the leader.
        let (all, _) = app.client(&t, "checker").pull_all(None, 1_000).await;
        let names: Vec<&str> = all.iter().map(|r| r["name"].as_str().unwrap()).collect();
        let first = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert_eq!(all.len(), 203);
        assert!(first("first") < first("edit"), "{names:?}");
        assert!(first("edit") < first("bulk-a") && first("edit") < first("bulk-b"), "the edit waited for the bulk uploads");
        assert!(first("bulk-a") < first("bulk-b"), "large pushes keep their arrival order");
    }
}
