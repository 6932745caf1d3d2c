//! The other reads: pull-pending conditions, REST lists with filters and search, history.

use serde_json::json;
use syncd_model::{
    PendingCondition, Record, RecordId, Seq, SyncStatus, TenantId, Timestamp, Version,
};
use syncd_store::{ListQuery, Store};

use crate::fixtures::*;

pub async fn pending_matches_json_equality_and_sync_status<S: Store>(store: &S) {
    let t = tenant("acme");
    let pending_live = seed_pending(store, &t).await;
    let conditions = [
        PendingCondition::FieldEquals {
            field: "is_deleted".into(),
            value: json!(0),
        },
        PendingCondition::SyncStatus(SyncStatus::Pending),
    ];
    let found = store
        .pending(&t, &ty("end_user"), &conditions, None, 100)
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![pending_live[0].id]);
    field_conditions_compare_json_values(store, &t, &pending_live).await;
    no_condition_lists_every_live_record(store, &t).await;
}

/// Four pending end users (`is_deleted` 0, 1, "0" and 0, the last then deleted), one synced.
async fn seed_pending<S: Store>(store: &S, t: &TenantId) -> Vec<Record> {
    let now = Timestamp::now();
    let pending_live = apply_with(
        store,
        t,
        vec![
            put(
                "end_user",
                RecordId::new_v7(),
                json!({ "name": "a", "is_deleted": 0 }),
            ),
            put(
                "end_user",
                RecordId::new_v7(),
                json!({ "name": "b", "is_deleted": 1 }),
            ),
            put(
                "end_user",
                RecordId::new_v7(),
                json!({ "name": "c", "is_deleted": "0" }),
            ),
            put(
                "end_user",
                RecordId::new_v7(),
                json!({ "name": "d", "is_deleted": 0 }),
            ),
        ],
        SyncStatus::Pending,
        now,
    )
    .await;
    // Synced, or a tombstone: never pending.
    apply_with(
        store,
        t,
        vec![put(
            "end_user",
            RecordId::new_v7(),
            json!({ "name": "e", "is_deleted": 0 }),
        )],
        SyncStatus::Synced,
        now,
    )
    .await;
    apply_with(
        store,
        t,
        vec![Op::Delete(key("end_user", pending_live[3].id))],
        SyncStatus::Pending,
        now,
    )
    .await;
    pending_live
}

async fn field_conditions_compare_json_values<S: Store>(
    store: &S,
    t: &TenantId,
    pending_live: &[Record],
) {
    let by_string = [PendingCondition::FieldEquals {
        field: "name".into(),
        value: json!("c"),
    }];
    let found = store
        .pending(t, &ty("end_user"), &by_string, None, 100)
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![pending_live[2].id]);
    let string_zero = [PendingCondition::FieldEquals {
        field: "is_deleted".into(),
        value: json!("0"),
    }];
    let found = store
        .pending(t, &ty("end_user"), &string_zero, None, 100)
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![pending_live[2].id], "\"0\" is not 0");
}

async fn no_condition_lists_every_live_record<S: Store>(store: &S, t: &TenantId) {
    // No conditions: every live record, seq order, at most limit + 1.
    let all = store
        .pending(t, &ty("end_user"), &[], None, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let limited = store
        .pending(t, &ty("end_user"), &[], None, 2)
        .await
        .unwrap();
    assert_eq!(limited.len(), 3);
    assert!(
        store
            .pending(t, &ty("interactions"), &[], None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn list_filters_and_pages_live_records<S: Store>(store: &S) {
    let t = tenant("acme");
    let created = apply(
        store,
        &t,
        vec![
            put(
                "clients",
                RecordId::new_v7(),
                json!({ "branch": "north", "n": 1 }),
            ),
            put(
                "clients",
                RecordId::new_v7(),
                json!({ "branch": "south", "n": 2 }),
            ),
            put(
                "clients",
                RecordId::new_v7(),
                json!({ "branch": "north", "n": 3.0 }),
            ),
            put(
                "clients",
                RecordId::new_v7(),
                json!({ "branch": "north", "n": null }),
            ),
            put("clients", RecordId::new_v7(), json!({ "branch": "north" })),
        ],
    )
    .await;
    apply(store, &t, vec![Op::Delete(key("clients", created[0].id))]).await;

    let mut q = list_query("clients");
    q.filters = vec![("branch".into(), json!("north"))];
    let page = store.list(&t, &q).await.unwrap();
    assert_eq!(
        ids(&page.records),
        vec![created[2].id, created[3].id, created[4].id]
    );
    assert!(!page.has_more);
    assert_eq!(page.next, created[4].seq);

    q.include_deleted = true;
    let page = store.list(&t, &q).await.unwrap();
    assert_eq!(page.records.len(), 4);
    assert!(page.records.iter().any(|r| r.deleted));

    // Numbers compare as JSON numbers: 3 finds 3.0.
    let mut q = list_query("clients");
    q.filters = vec![("n".into(), json!(3))];
    assert_eq!(
        ids(&store.list(&t, &q).await.unwrap().records),
        vec![created[2].id]
    );
    // null finds a null or absent field.
    q.filters = vec![("n".into(), json!(null))];
    assert_eq!(
        ids(&store.list(&t, &q).await.unwrap().records),
        vec![created[3].id, created[4].id]
    );
    // Two filters: both must hold.
    q.filters = vec![("branch".into(), json!("south")), ("n".into(), json!(2))];
    assert_eq!(
        ids(&store.list(&t, &q).await.unwrap().records),
        vec![created[1].id]
    );
    q.filters = vec![("branch".into(), json!("south")), ("n".into(), json!(1))];
    assert!(store.list(&t, &q).await.unwrap().records.is_empty());

    // Paging by seq.
    let mut q = list_query("clients");
    q.limit = 2;
    let first = store.list(&t, &q).await.unwrap();
    assert!(first.has_more);
    assert_eq!(ids(&first.records), vec![created[1].id, created[2].id]);
    q.after = first.next;
    let second = store.list(&t, &q).await.unwrap();
    assert!(!second.has_more);
    assert_eq!(ids(&second.records), vec![created[3].id, created[4].id]);
}

pub async fn search_is_case_insensitive_and_sql_metacharacters_are_literal<S: Store>(store: &S) {
    let t = tenant("acme");
    let texts = [
        "Alice Smith",
        "'; DROP TABLE records; --",
        "100% sure",
        "1000 sure",
        "snake_case",
        "snakeXcase",
        r"back\slash",
        "backslash",
    ];
    let created = apply(
        store,
        &t,
        texts
            .iter()
            .map(|text| {
                put(
                    "contacts",
                    RecordId::new_v7(),
                    json!({ "name": text, "notes": "" }),
                )
            })
            .collect(),
    )
    .await;
    let search = |text: &str| {
        let mut q = list_query("contacts");
        q.search = Some((vec!["notes".into(), "name".into()], text.into()));
        q
    };
    let found = |q: ListQuery| {
        let t = &t;
        async move { ids(&store.list(t, &q).await.unwrap().records) }
    };
    assert_eq!(found(search("aLiCe")).await, vec![created[0].id]);
    assert_eq!(found(search("SMITH")).await, vec![created[0].id]);
    assert_eq!(
        found(search("'; DROP TABLE records; --")).await,
        vec![created[1].id]
    );
    assert_eq!(found(search("%")).await, vec![created[2].id]);
    assert_eq!(found(search("100%")).await, vec![created[2].id]);
    assert_eq!(found(search("_")).await, vec![created[4].id]);
    assert_eq!(found(search("snake_case")).await, vec![created[4].id]);
    assert_eq!(found(search(r"\")).await, vec![created[6].id]);
    assert_eq!(found(search(r"k\s")).await, vec![created[6].id]);
    assert_eq!(found(search("")).await.len(), texts.len());
    assert!(found(search("nobody")).await.is_empty());
    // Searching nothing searchable finds nothing.
    let mut q = list_query("contacts");
    q.search = Some((Vec::new(), "alice".into()));
    assert!(found(q).await.is_empty());

    // Metacharacters in filters are values too.
    let mut q = list_query("contacts");
    q.filters = vec![("name".into(), json!("'; DROP TABLE records; --"))];
    assert_eq!(found(q).await, vec![created[1].id]);
    let mut q = list_query("contacts");
    q.filters = vec![("na'me".into(), json!("x"))];
    assert!(found(q).await.is_empty());

    // Nothing was dropped or changed.
    let all = store.changes(&t, &since(0, &[], 100)).await.unwrap();
    assert_eq!(all.records.len(), texts.len());
    assert_eq!(store.head(&t).await.unwrap(), Seq(texts.len() as i64));
}

pub async fn history_lists_the_versions_inside_the_window<S: Store>(store: &S) {
    let t = tenant("acme");
    let id = RecordId::new_v7();
    for (millis, n) in [(1_000, 1), (2_000, 2), (3_000, 3)] {
        apply_with(
            store,
            &t,
            vec![put("things", id, json!({ "n": n, "same": true }))],
            SyncStatus::Synced,
            at(millis),
        )
        .await;
    }
    let k = key("things", id);
    let all = store.history(&t, &k, at(0)).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0].changed_fields,
        vec!["n".to_string(), "same".to_string()]
    );
    assert_eq!(all[1].changed_fields, vec!["n".to_string()]);
    assert_eq!(all[2].data, obj(json!({ "n": 3, "same": true })));
    let window = store.history(&t, &k, at(2_000)).await.unwrap();
    assert_eq!(
        window.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![Version(2), Version(3)]
    );
    assert!(store.history(&t, &k, at(3_001)).await.unwrap().is_empty());
    assert!(
        store
            .history(&t, &key("things", RecordId::new_v7()), at(0))
            .await
            .unwrap()
            .is_empty()
    );
}
