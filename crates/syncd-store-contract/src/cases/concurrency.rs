//! Concurrent writers: commit order is seq order, across instances of the store too.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use syncd_model::{RecordId, Seq, Timestamp, Version};
use syncd_store::{RecordWrite, Store, WriteBatch, WriteKind};

use crate::fixtures::*;

/// Writers and cursor readers on two instances of the store (`first` and `second` may be two
/// handles of one instance when the store runs in one process only).
pub async fn concurrent_writers_and_cursor_readers_see_every_change_once_in_order<
    S: Store + Clone,
>(
    first: &S,
    second: &S,
) {
    const WRITERS: usize = 8;
    const BATCHES: usize = 200;
    const PER_BATCH: usize = 2;
    let t = tenant("busy");
    let done = Arc::new(AtomicBool::new(false));
    // A second instance on the same database: half the writers and one reader use it, so
    // the tenant lock is also contended across processes' worth of pools, not only inside
    // one store.
    let store = first;
    let instances = [first.clone(), second.clone()];

    let mut readers = Vec::new();
    for r in 0..2 {
        let store = instances[r % 2].clone();
        let t = t.clone();
        let done = done.clone();
        readers.push(tokio::spawn(async move {
            let mut cursor = Seq::ZERO;
            let mut seen: Vec<(Seq, RecordId)> = Vec::new();
            loop {
                // Read `done` before the page: if the writers were done, a page without
                // more is the end.
                let finished = done.load(Ordering::SeqCst);
                let page = store.changes(&t, &since(cursor.0, &[], 7)).await.unwrap();
                assert!(page.records.len() <= 7);
                assert!(page.next >= cursor, "the cursor never moves back");
                seen.extend(page.records.iter().map(|r| (r.seq, r.id)));
                cursor = page.next;
                if !page.has_more {
                    if finished {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
            seen
        }));
    }

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = instances[w % 2].clone();
        let t = t.clone();
        writers.push(tokio::spawn(async move {
            let mut written = Vec::new();
            for _ in 0..BATCHES {
                let records = create_many(&store, &t, "things", PER_BATCH).await;
                written.extend(ids(&records));
            }
            written
        }));
    }
    let mut all_written = HashSet::new();
    for writer in writers {
        all_written.extend(writer.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let total = WRITERS * BATCHES * PER_BATCH;
    assert_eq!(all_written.len(), total);
    assert_eq!(store.head(&t).await.unwrap(), Seq(total as i64));

    for reader in readers {
        let seen = reader.await.unwrap();
        assert_eq!(seen.len(), total, "every change once");
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "strictly increasing seqs"
        );
        let ids: HashSet<RecordId> = seen.iter().map(|(_, id)| *id).collect();
        assert_eq!(ids, all_written);
        let seqs: BTreeSet<i64> = seen.iter().map(|(s, _)| s.0).collect();
        assert_eq!(seqs, (1..=total as i64).collect());
    }
}

/// Read-modify-write of one record by writers of two instances: each holds the tenant's
/// lock a moment, so writers of the other instance wait for it inside the statement that
/// locks and loads, with a snapshot taken before the commit they waited for. Every
/// increment must survive. (`first` and `second` as above.)
pub async fn read_modify_writes_from_two_instances_lose_no_update<S: Store + Clone>(
    first: &S,
    second: &S,
) {
    const TASKS: usize = 4;
    const ROUNDS: usize = 25;
    let t = tenant("counter");
    let id = RecordId::new_v7();
    let store = first;
    apply(store, &t, vec![put("things", id, json!({ "n": 0 }))]).await;
    let instances = [first.clone(), second.clone()];
    let mut tasks = Vec::new();
    for w in 0..TASKS {
        let store = instances[w % 2].clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                let k = key("things", id);
                let (mut tx, loaded) = store
                    .begin_write_and_load(&t, std::slice::from_ref(&k), &[])
                    .await
                    .unwrap();
                let current = loaded.records.into_iter().next().unwrap();
                let n = current.data["n"].as_i64().unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                let mut next = current.clone();
                next.seq = tx.next_seq();
                next.version = current.version.next();
                next.data = obj(json!({ "n": n + 1 }));
                let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
                batch.records.push(RecordWrite {
                    record: next,
                    kind: WriteKind::Update,
                    changed_fields: vec!["n".into()],
                });
                tx.write(&batch).await.unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let last = store.get(&t, &key("things", id)).await.unwrap().unwrap();
    assert_eq!(last.data["n"], json!(TASKS * ROUNDS));
    assert_eq!(last.version, Version(1 + (TASKS * ROUNDS) as i64));
    assert_eq!(
        store.head(&t).await.unwrap(),
        Seq(1 + (TASKS * ROUNDS) as i64)
    );
}
