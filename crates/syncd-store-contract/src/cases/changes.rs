//! Reads of what changed since a cursor (or, in the legacy mode, a time): latest state once,
//! tombstones included, paged without skipping or repeating.

use serde_json::json;
use syncd_model::{RecordId, Seq, SyncStatus, Version};
use syncd_store::{ChangesQuery, Since, Store, WriteKind};

use crate::fixtures::*;

pub async fn changes_return_the_latest_state_once_with_tombstones<S: Store>(store: &S) {
    let t = tenant("acme");
    let created = create_many(store, &t, "things", 3).await;
    let (x, y, z) = (created[0].id, created[1].id, created[2].id);
    // x changes twice in one transaction and again later; y is deleted.
    apply(
        store,
        &t,
        vec![
            put("things", x, json!({ "n": "x1" })),
            put("things", x, json!({ "n": "x2" })),
        ],
    )
    .await;
    apply(store, &t, vec![Op::Delete(key("things", y))]).await;
    apply(store, &t, vec![put("things", x, json!({ "n": "x3" }))]).await;

    let page = store.changes(&t, &since(0, &[], 100)).await.unwrap();
    assert_eq!(ids(&page.records), vec![z, y, x]);
    assert_eq!(seqs(&page.records), vec![Seq(3), Seq(6), Seq(7)]);
    let x_now = &page.records[2];
    assert_eq!(x_now.data, obj(json!({ "n": "x3" })));
    assert_eq!(x_now.version, Version(4));
    let y_now = &page.records[1];
    assert!(y_now.deleted);
    assert_eq!(y_now.version, Version(2));
    assert_eq!(page.next, Seq(7));
    assert!(!page.has_more);

    // From a cursor in the middle: only what changed after it.
    let page = store.changes(&t, &since(5, &[], 100)).await.unwrap();
    assert_eq!(ids(&page.records), vec![y, x]);
    // Nothing new: the cursor stays at the head.
    let page = store.changes(&t, &since(7, &[], 100)).await.unwrap();
    assert!(page.records.is_empty());
    assert_eq!(page.next, Seq(7));
    // The history keeps every version of x, oldest first.
    let history = store.history(&t, &key("things", x), at(0)).await.unwrap();
    let versions: Vec<_> = history.iter().map(|v| v.version.0).collect();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    let kinds: Vec<_> = store
        .history(&t, &key("things", y), at(0))
        .await
        .unwrap()
        .iter()
        .map(|v| v.kind)
        .collect();
    assert_eq!(kinds, vec![WriteKind::Create, WriteKind::Delete]);
}

pub async fn changes_can_be_limited_to_some_entity_types<S: Store>(store: &S) {
    let t = tenant("acme");
    let users = create_many(store, &t, "end_user", 2).await;
    let things = create_many(store, &t, "things", 2).await;
    let others = create_many(store, &t, "others", 1).await;

    let page = store
        .changes(&t, &since(0, &["things"], 100))
        .await
        .unwrap();
    assert_eq!(ids(&page.records), ids(&things));
    assert_eq!(
        page.next,
        Seq(5),
        "the cursor moves to the head, past other types"
    );

    let page = store
        .changes(&t, &since(0, &["end_user", "others"], 100))
        .await
        .unwrap();
    let mut expected = ids(&users);
    expected.extend(ids(&others));
    assert_eq!(ids(&page.records), expected);

    let page = store
        .changes(&t, &since(0, &["unknown"], 100))
        .await
        .unwrap();
    assert!(page.records.is_empty());
    assert_eq!(page.next, Seq(5));
}

pub async fn changes_page_with_has_more_and_next<S: Store>(store: &S) {
    let t = tenant("acme");
    let created = create_many(store, &t, "things", 10).await;
    let mut cursor = Seq::ZERO;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.changes(&t, &since(cursor.0, &[], 3)).await.unwrap();
        pages += 1;
        assert!(page.records.len() <= 3);
        seen.extend(ids(&page.records));
        cursor = page.next;
        if !page.has_more {
            break;
        }
        assert_eq!(page.next, page.records.last().unwrap().seq);
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, ids(&created));
    assert_eq!(cursor, Seq(10));

    // Exactly a page's worth: no more.
    let page = store.changes(&t, &since(7, &[], 3)).await.unwrap();
    assert_eq!(page.records.len(), 3);
    assert!(!page.has_more);
    assert_eq!(page.next, Seq(10));
    // With a type filter, paging stops at the last match.
    let page = store.changes(&t, &since(0, &["things"], 4)).await.unwrap();
    assert!(page.has_more);
    assert_eq!(page.next, Seq(4));
}

pub async fn changes_since_a_timestamp_use_updated_at<S: Store>(store: &S) {
    let t = tenant("acme");
    let old = apply_with(
        store,
        &t,
        vec![put("things", RecordId::new_v7(), json!({ "n": 1 }))],
        SyncStatus::Synced,
        at(1_000),
    )
    .await;
    let new = apply_with(
        store,
        &t,
        vec![
            put("things", RecordId::new_v7(), json!({ "n": 2 })),
            put("things", RecordId::new_v7(), json!({ "n": 3 })),
        ],
        SyncStatus::Synced,
        at(2_000),
    )
    .await;
    let query = |after: i64, limit: usize| ChangesQuery {
        since: Since::UpdatedAfter(at(after)),
        entity_types: Vec::new(),
        limit,
        visibility: Vec::new(),
    };
    let page = store.changes(&t, &query(1_000, 100)).await.unwrap();
    assert_eq!(ids(&page.records), ids(&new));
    assert_eq!(page.next, Seq(3));
    let page = store.changes(&t, &query(0, 100)).await.unwrap();
    assert_eq!(page.records.len(), 3);
    assert_eq!(page.records[0].id, old[0].id);
    let page = store.changes(&t, &query(0, 2)).await.unwrap();
    assert!(page.has_more);
    assert_eq!(page.next, Seq(2));
    assert!(
        store
            .changes(&t, &query(2_000, 100))
            .await
            .unwrap()
            .records
            .is_empty()
    );
}
